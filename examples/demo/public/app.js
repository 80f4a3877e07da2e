/* global Chart */
// The dashboard page: polls /api/state and draws it. No framework; Chart.js
// is served by the demo from node_modules.
'use strict'

const COLORS = ['#1f77b4', '#2ca02c', '#9467bd', '#8c564b', '#e377c2', '#17becf', '#bcbd22', '#7f7f7f', '#ff7f0e', '#393b79', '#637939', '#8c6d31']
const FAULT = '#d62728'
const EVENT_ROWS = ['fault', 'degraded', 'unhealthy', 'replaced', 'closed', 'recovered', 'info']
const EVENT_COLORS = { fault: FAULT, degraded: '#ff7f0e', unhealthy: '#e6550d', replaced: '#9467bd', closed: '#7f7f7f', recovered: '#2ca02c', info: '#1f77b4' }

Chart.defaults.animation = false
Chart.defaults.font.size = 11

function lineChart (id, yTitle, yMax) {
  return new Chart(document.getElementById(id), {
    type: 'line',
    data: { datasets: [] },
    options: {
      parsing: false,
      normalized: true,
      spanGaps: true,
      elements: { point: { radius: 0 }, line: { borderWidth: 1.5 } },
      scales: {
        x: { type: 'linear', title: { display: true, text: 'seconds since start' } },
        y: { beginAtZero: true, max: yMax, title: { display: true, text: yTitle } }
      },
      plugins: { legend: linkLegend() }
    }
  })
}

const charts = {
  rtt: lineChart('rtt', 'ms'),
  score: lineChart('score', 'score', 1),
  streams: new Chart(document.getElementById('streams'), {
    type: 'bar',
    data: { labels: [], datasets: [] },
    options: { scales: { x: { stacked: true }, y: { stacked: true, title: { display: true, text: 'streams' } } }, plugins: { legend: { display: false } } }
  }),
  discovery: new Chart(document.getElementById('discovery'), {
    type: 'bar',
    data: { labels: [], datasets: [] },
    options: {
      scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true, ticks: { precision: 0 }, title: { display: true, text: 'peers found' } } },
      plugins: {
        tooltip: { callbacks: { label: (ctx) => `${ctx.dataset.label}: ${ctx.raw} (${ctx.dataset.peers[ctx.dataIndex].join(', ')})` } }
      }
    }
  }),
  bandwidth: new Chart(document.getElementById('bandwidth'), {
    type: 'bar',
    data: { labels: [], datasets: [] },
    options: { scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true, title: { display: true, text: 'bytes/s sent' } } } }
  }),
  timeline: new Chart(document.getElementById('timeline'), {
    type: 'scatter',
    data: { datasets: [] },
    options: {
      parsing: false,
      scales: {
        x: { type: 'linear', title: { display: true, text: 'seconds since start' } },
        y: { type: 'category', labels: EVENT_ROWS, offset: true }
      },
      plugins: {
        legend: { display: false },
        tooltip: { callbacks: { label: (ctx) => ctx.raw.detail } }
      }
    }
  })
}

// the browser test reads these
window.__charts = charts
window.__updates = 0

// RTT and score: one colour and one legend entry per link (named by its two
// peers, built by the server: src/views.ts), one line per connection on it;
// clicking a legend entry hides or shows the whole link
function linkLegend () {
  return {
    position: 'right',
    labels: {
      boxWidth: 10,
      font: { size: 10 },
      filter: (item, data) => data.datasets[item.datasetIndex].firstOfLink === true
    },
    onClick: (evt, item, legend) => {
      const chart = legend.chart
      const link = chart.data.datasets[item.datasetIndex].link
      const hidden = chart.isDatasetVisible(item.datasetIndex)
      chart.data.datasets.forEach((d, i) => {
        if (d.link === link) {
          d.hidden = hidden
          chart.getDatasetMeta(i).hidden = null
        }
      })
      chart.update('none')
    }
  }
}

function updateLines (state, start) {
  const byKey = new Map(state.series.map(s => [s.key, s]))

  for (const [chart, field] of [[charts.rtt, 'rtt'], [charts.score, 'score']]) {
    // keep what the user hid by clicking the legend
    const hiddenLinks = new Set(chart.data.datasets.filter(d => d.hidden === true).map(d => d.link))
    chart.data.datasets = state.links.flatMap((link, k) => link.series.map((key, j) => {
      const s = byKey.get(key)
      return {
        label: `${link.label} · ${link.open} open`,
        link: link.key,
        firstOfLink: j === 0,
        hidden: hiddenLinks.has(link.key),
        data: (s?.points ?? []).map(p => ({ x: (p.t - start) / 1000, y: p[field] })),
        borderColor: link.proxied ? FAULT : COLORS[k % COLORS.length],
        backgroundColor: link.proxied ? FAULT : COLORS[k % COLORS.length],
        borderWidth: link.proxied ? 2.5 : 1.2,
        borderDash: s?.open === false ? [4, 3] : []
      }
    }))
    chart.update('none')
  }
}

function updateStreams (state) {
  const links = new Map()
  for (const c of state.streams) {
    const key = `n${c.node}→n${c.peer}`
    if (!links.has(key)) links.set(key, [])
    links.get(key).push(c)
  }
  const labels = [...links.keys()].sort()
  const depth = Math.max(0, ...[...links.values()].map(l => l.length))
  charts.streams.data.labels = labels
  charts.streams.data.datasets = Array.from({ length: depth }, (_, k) => ({
    label: `connection ${k + 1}`,
    data: labels.map(l => links.get(l)[k]?.opened ?? 0),
    backgroundColor: COLORS[k % COLORS.length]
  }))
  charts.streams.update('none')
}

// each peer once, under the set of mechanisms that found it: a bar is as
// high as the node's peers; the tooltip names them
function updateDiscovery (state) {
  const sources = [...new Set(state.nodes.flatMap(n => Object.keys(n.discovery.bySources)))].sort()
  charts.discovery.data.labels = state.nodes.map(n => `n${n.index}`)
  charts.discovery.data.datasets = sources.map((source, k) => ({
    label: source,
    data: state.nodes.map(n => n.discovery.bySources[source] ?? 0),
    peers: state.nodes.map(n => n.discovery.found.filter(p => p.mechanisms.join(' + ') === source || (source === 'unknown' && p.mechanisms.length === 0)).map(p => p.name)),
    backgroundColor: COLORS[k % COLORS.length]
  }))
  charts.discovery.update('none')
}

// @x/bandwidth's classes (bytes/s sent over the last second) and
// @x/message-batching's batches, per node
function updateBandwidth (state) {
  const classes = [...new Set(state.nodes.flatMap(n => Object.keys(n.bandwidth)))].sort()
  charts.bandwidth.data.labels = state.nodes.map(n => `n${n.index}`)
  charts.bandwidth.data.datasets = classes.map((c, k) => ({
    label: c,
    data: state.nodes.map(n => n.bandwidth[c]?.out ?? 0),
    backgroundColor: c === 'bulk' ? '#ff7f0e' : COLORS[k % COLORS.length]
  }))
  charts.bandwidth.update('none')

  const delay = (n, c) => n.bandwidth[c] == null ? '-' : `${n.bandwidth[c].queueDelay.toFixed(0)}/${n.bandwidth[c].maxQueueDelay.toFixed(0)}`
  const rows = state.nodes.map(n => `<tr><td>n${n.index}</td><td>${n.batching.meanBatchSize.toFixed(1)}</td><td>${n.batching.messagesPerSecond.toFixed(0)}</td><td>${n.batching.batchesPerSecond.toFixed(0)}</td><td>${n.batching.queued}</td>${classes.map(c => `<td>${delay(n, c)}</td>`).join('')}</tr>`)
  document.getElementById('batching').innerHTML = `<tr><th>node</th><th>msgs/batch</th><th>msgs/s</th><th>batches/s</th><th>queued</th>${classes.map(c => `<th>${c} delay ms</th>`).join('')}</tr>` + rows.join('')
}

function updateTimeline (state, start) {
  charts.timeline.data.datasets = EVENT_ROWS.map(kind => ({
    label: kind,
    data: state.events.filter(e => e.kind === kind).map(e => ({ x: (e.at - start) / 1000, y: kind, detail: e.detail })),
    backgroundColor: EVENT_COLORS[kind],
    pointRadius: 5
  }))
  charts.timeline.update('none')

  const list = document.getElementById('events')
  list.innerHTML = ''
  for (const e of state.events.slice(-40).reverse()) {
    const li = document.createElement('li')
    li.textContent = `${((e.at - start) / 1000).toFixed(0)} s  ${e.kind}  ${e.detail}`
    li.style.color = EVENT_COLORS[e.kind]
    list.appendChild(li)
  }
}

function scoreColor (score) {
  if (score == null) return '#999'
  if (score >= 0.8) return '#2ca02c'
  if (score >= 0.5) return '#ff7f0e'
  return FAULT
}

function drawGraph (state) {
  const canvas = document.getElementById('graph')
  const ctx = canvas.getContext('2d')
  const w = canvas.width
  const h = canvas.height
  ctx.clearRect(0, 0, w, h)
  const n = state.nodes.length
  const pos = state.nodes.map((node, i) => {
    const a = (2 * Math.PI * i) / n - Math.PI / 2
    return { x: w / 2 + Math.cos(a) * (Math.min(w, h) / 2 - 45), y: h / 2 + Math.sin(a) * (Math.min(w, h) / 2 - 45) }
  })

  // edges from the dialling end, so each connection is drawn once
  const edges = new Map()
  for (const node of state.nodes) {
    for (const c of node.connections) {
      if (c.direction !== 'outbound' || c.peer < 0) continue
      const key = [node.index, c.peer].sort().join('-') + (c.relayed ? 'r' : '')
      const e = edges.get(key) ?? { a: node.index, b: c.peer, count: 0, relayed: c.relayed, proxied: false, minScore: 1 }
      e.count++
      e.proxied = e.proxied || c.proxied
      if (c.score != null) e.minScore = Math.min(e.minScore, c.score)
      edges.set(key, e)
    }
  }

  for (const e of edges.values()) {
    ctx.beginPath()
    ctx.setLineDash(e.relayed ? [6, 5] : [])
    ctx.lineWidth = e.relayed ? 1.5 : 1 + e.count * 1.3
    ctx.strokeStyle = e.proxied ? FAULT : e.relayed ? '#9467bd' : scoreColor(e.minScore)
    const a = pos[e.a]
    const b = pos[e.b]
    // a relayed connection bows out, so it shows beside the direct ones of the same pair
    const bow = e.relayed ? 45 : 0
    const len = Math.hypot(b.x - a.x, b.y - a.y) || 1
    const mid = { x: (a.x + b.x) / 2 - ((b.y - a.y) / len) * bow, y: (a.y + b.y) / 2 + ((b.x - a.x) / len) * bow }
    ctx.moveTo(a.x, a.y)
    ctx.quadraticCurveTo(mid.x, mid.y, b.x, b.y)
    ctx.stroke()
    ctx.setLineDash([])
    ctx.fillStyle = e.relayed ? '#9467bd' : '#333'
    ctx.font = '11px sans-serif'
    ctx.fillText(e.relayed ? 'relayed' : String(e.count), (a.x + b.x + 2 * mid.x) / 4 + 4, (a.y + b.y + 2 * mid.y) / 4 - 4)
  }

  state.nodes.forEach((node, i) => {
    ctx.beginPath()
    ctx.arc(pos[i].x, pos[i].y, 20, 0, 2 * Math.PI)
    ctx.fillStyle = node.roles.includes('relay') ? '#1d2330' : node.roles.length > 0 ? '#a33' : '#1f77b4'
    ctx.fill()
    ctx.fillStyle = '#fff'
    ctx.font = 'bold 13px sans-serif'
    ctx.textAlign = 'center'
    ctx.fillText(`n${i}`, pos[i].x, pos[i].y + 4)
    ctx.fillStyle = '#333'
    ctx.font = '10px sans-serif'
    ctx.fillText(node.peerId.slice(-6) + (node.roles.length > 0 ? ` (${node.roles.join(', ')})` : ''), pos[i].x, pos[i].y + 34)
    ctx.textAlign = 'start'
  })
  window.__graphEdges = edges.size
  window.__relayedEdges = [...edges.values()].filter(e => e.relayed).length
}

function updateTable (state) {
  const rows = state.nodes.map(n => {
    const scores = n.connections.map(c => c.score).filter(s => s != null)
    const min = scores.length ? Math.min(...scores).toFixed(2) : '-'
    const peers = new Set(n.connections.map(c => c.peer)).size
    const disc = n.discovery.found.map(p => `${p.name} (${p.mechanisms.join('+') || '?'})`).join(' ')
    return `<tr><td>n${n.index}</td><td>${n.peerId.slice(-12)}</td><td>${peers}</td><td>${n.pool.connections}</td><td>${min}</td><td>${n.requests.ok}/${n.requests.failed}</td><td>${n.pool.failovers}</td><td>${n.health.replacements}</td><td>${disc}</td><td>${n.nat}</td><td>${n.roles.join(', ')}</td></tr>`
  })
  document.getElementById('nodes').innerHTML = '<tr><th>node</th><th>peer id</th><th>peers</th><th>pooled conns</th><th>min score</th><th>req ok/failed</th><th>failovers</th><th>replaced</th><th>discovery</th><th>nat</th><th>roles</th></tr>' + rows.join('')
}

function updateSummary (state) {
  const r = state.requests
  const t = state.traffic
  const fault = state.fault ? `fault link n${state.fault.client}→n${state.fault.server}: <b>${state.fault.phase}</b> (cycles ${state.fault.cycles})` : 'faults off'
  document.getElementById('summary').innerHTML =
    `up ${Math.round(state.uptime / 1000)} s · ${state.nodes.length} nodes · requests ok ${r.ok} <span class="${r.failed > 0 ? 'bad' : ''}">failed ${r.failed}</span> (retried ${r.retried}) · batched ${t.messages} msgs, ${t.requests} reqs · bulk ${(t.bulkBytesSent / 1048576).toFixed(1)} MB · ${fault}`
}

async function refresh () {
  try {
    const res = await fetch('/api/state', { cache: 'no-store' })
    const state = await res.json()
    const start = state.now - state.uptime
    window.__lastState = state
    updateSummary(state)
    drawGraph(state)
    updateLines(state, start)
    updateStreams(state)
    updateDiscovery(state)
    updateBandwidth(state)
    updateTimeline(state, start)
    updateTable(state)
    window.__updates++
  } catch (err) {
    document.getElementById('summary').textContent = `no data: ${err.message}`
  }
}

refresh()
setInterval(refresh, 2000)
