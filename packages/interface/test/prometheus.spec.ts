import { expect } from 'aegir/chai'
import { escapePrometheusHelp, escapePrometheusLabel, renderPrometheus } from '../src/index.ts'

describe('Prometheus text', () => {
  it('escapes backslash, double quote and line feed in a label value', () => {
    expect(escapePrometheusLabel('plain')).to.equal('plain')
    expect(escapePrometheusLabel('a\\b')).to.equal('a\\\\b')
    expect(escapePrometheusLabel('say "hi"')).to.equal('say \\"hi\\"')
    expect(escapePrometheusLabel('two\nlines')).to.equal('two\\nlines')
    // a backslash before a quote or an n is escaped itself, not merged with it
    expect(escapePrometheusLabel('\\"\\n\n')).to.equal('\\\\\\"\\\\n\\n')
  })

  it('escapes backslash and line feed in HELP, and leaves quotes', () => {
    expect(escapePrometheusHelp('a "b" \\ c\nd')).to.equal('a "b" \\\\ c\\nd')
  })

  it('renders HELP, TYPE and the samples of each family in order', () => {
    const text = renderPrometheus([
      { name: 'x_t_peers', help: 'Peers', type: 'gauge', samples: [{ value: 2 }] },
      { name: 'x_t_bytes_total', help: 'Bytes', type: 'counter', samples: [{ labels: { peer: 'a', direction: 'in' }, value: 10 }, { labels: { peer: 'b', direction: 'out' }, value: 0.5 }] },
      { name: 'x_t_empty', help: 'Nothing yet', type: 'gauge', samples: [] }
    ])

    expect(text).to.equal([
      '# HELP x_t_peers Peers',
      '# TYPE x_t_peers gauge',
      'x_t_peers 2',
      '# HELP x_t_bytes_total Bytes',
      '# TYPE x_t_bytes_total counter',
      'x_t_bytes_total{peer="a",direction="in"} 10',
      'x_t_bytes_total{peer="b",direction="out"} 0.5',
      '# HELP x_t_empty Nothing yet',
      '# TYPE x_t_empty gauge',
      ''
    ].join('\n'))
  })

  it('escapes label values and HELP text in the output, a sample a line', () => {
    const text = renderPrometheus([
      { name: 'x_t_info', help: 'Odd\nhelp \\ here', type: 'gauge', samples: [{ labels: { protocol: '/a\\b/"q"\n1.0' }, value: 1 }] }
    ])
    const lines = text.split('\n')

    expect(lines).to.have.lengthOf(4)
    expect(lines[0]).to.equal('# HELP x_t_info Odd\\nhelp \\\\ here')
    expect(lines[2]).to.equal('x_t_info{protocol="/a\\\\b/\\"q\\"\\n1.0"} 1')
  })

  it('writes no braces for a sample with no labels or empty labels', () => {
    const text = renderPrometheus([{ name: 'x_t_n', help: 'n', type: 'gauge', samples: [{ value: 1 }, { labels: {}, value: 2 }] }])
    expect(text.split('\n').slice(2, 4)).to.deep.equal(['x_t_n 1', 'x_t_n 2'])
  })

  it('renders NaN and the infinities as the text format (and the Go client) spells them, not as a 0 that reads as a measurement', () => {
    const text = renderPrometheus([{ name: 'x_t_v', help: 'v', type: 'gauge', samples: [{ value: NaN }, { value: Infinity }, { value: -Infinity }, { value: -3 }, { value: 1e21 }] }])
    expect(text.split('\n').slice(2, 7)).to.deep.equal(['x_t_v NaN', 'x_t_v +Inf', 'x_t_v -Inf', 'x_t_v -3', 'x_t_v 1e+21'])
  })

  it('renders one HELP and one TYPE line per metric name: families given twice are merged (a scrape with a second TYPE line is rejected)', () => {
    const text = renderPrometheus([
      { name: 'x_t_streams_total', help: 'Streams', type: 'counter', samples: [{ labels: { outcome: 'opened' }, value: 1 }] },
      { name: 'x_t_peers', help: 'Peers', type: 'gauge', samples: [{ value: 2 }] },
      { name: 'x_t_streams_total', help: 'Streams', type: 'counter', samples: [{ labels: { outcome: 'failed' }, value: 3 }] }
    ])

    expect(text).to.equal([
      '# HELP x_t_streams_total Streams',
      '# TYPE x_t_streams_total counter',
      'x_t_streams_total{outcome="opened"} 1',
      'x_t_streams_total{outcome="failed"} 3',
      '# HELP x_t_peers Peers',
      '# TYPE x_t_peers gauge',
      'x_t_peers 2',
      ''
    ].join('\n'))
  })
})
