/**
 * The Prometheus text `/metrics` is built with: every HELP text and label
 * value escaped exactly once, as the text exposition format wants (HELP:
 * backslash and line feed; label values: backslash, double quote and line
 * feed), read back by a parser of the format.
 */
import { renderPrometheus } from '@x/interface'
import { expect } from 'aegir/chai'
import parsePrometheus from 'parse-prometheus-text-format'
import { Exposition, unescapePrometheusHelp } from '../src/exposition.ts'

/** Text with every character either escape rule knows, and a backslash before each */
const ODD = 'a \\ b "q" \\n c\nd \\"'

describe('Prometheus exposition', () => {
  it('merges a package\'s exposition with HELP text and label values escaped once', () => {
    const out = new Exposition()
    const text = renderPrometheus([{ name: 'x_t_info', help: ODD, type: 'gauge', samples: [{ labels: { protocol: ODD }, value: 1 }] }])
    out.merge(text, 3)
    out.merge(text, 4)
    const families = parsePrometheus(out.toString())

    expect(families).to.have.lengthOf(1)
    expect(families[0].help).to.equal(ODD)
    expect(families[0].metrics.map(m => m.labels)).to.deep.equal([{ node: '3', protocol: ODD }, { node: '4', protocol: ODD }])
  })

  it('adds samples with HELP text and label values escaped once', () => {
    const out = new Exposition()
    out.add('x_t_odd_total', ODD, 'counter', { node: 0, name: ODD }, 2)
    const families = parsePrometheus(out.toString())

    expect(families[0].help).to.equal(ODD)
    expect(families[0].metrics).to.deep.equal([{ value: '2', labels: { node: '0', name: ODD } }])
  })

  it('puts the node label first into labelled, empty-braced and unlabelled samples of a merged exposition', () => {
    const out = new Exposition()
    out.merge('# HELP x_t_a A\n# TYPE x_t_a gauge\nx_t_a{k="}"} 1\nx_t_a{} 2\nx_t_a 3\n', 1)

    expect(out.toString().split('\n').slice(2, 5)).to.deep.equal(['x_t_a{node="1",k="}"} 1', 'x_t_a{node="1"} 2', 'x_t_a{node="1"} 3'])
  })

  it('unescapes HELP text as the format defines: \\\\ and \\n, any other backslash kept', () => {
    expect(unescapePrometheusHelp('a\\\\b\\nc\\"d\\')).to.equal('a\\b\nc\\"d\\')
  })
})
