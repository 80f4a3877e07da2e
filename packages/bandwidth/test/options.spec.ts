import { defaultLogger } from '@libp2p/logger'
import { expect } from 'aegir/chai'
import { TypedEventEmitter } from 'main-event'
import { bandwidthManager } from '../src/index.ts'
import { resolveOptions } from '../src/options.ts'
import type { BandwidthManager, BandwidthManagerInit } from '../src/index.ts'
import type { Libp2pEvents } from '@libp2p/interface'

describe('options', () => {
  it('adds a default class when none is named', () => {
    const options = resolveOptions({ classes: { bulk: { protocols: ['/files/'] } } })
    expect(options.defaultClass.name).to.equal('default')
    expect(options.classes.map(c => c.name)).to.deep.equal(['bulk', 'default'])
    expect(options.maxUpload).to.equal(Infinity)
    expect(options.congestion).to.deep.equal({ enabled: false, targetDelay: 25, sampleInterval: 100 })
    expect(options.metricsPrefix).to.equal('x_bandwidth_')
    expect(options.catchUpTime).to.equal(50)
  })

  it('uses defaultClass when given', () => {
    const options = resolveOptions({ classes: { bulk: { protocols: [] } }, defaultClass: 'bulk' })
    expect(options.defaultClass.name).to.equal('bulk')
    expect(options.classes).to.have.length(1)
  })

  const invalid: Record<string, BandwidthManagerInit> = {
    'a negative maxUpload': { maxUpload: -1 },
    'a zero maxDownload': { maxDownload: 0 },
    'a string perPeer.maxUpload': { perPeer: { maxUpload: '100' as any } },
    'an unknown defaultClass': { defaultClass: 'nope' },
    'a class without protocols': { classes: { a: {} as any } },
    'an empty protocol prefix': { classes: { a: { protocols: [''] } } },
    'a zero weight': { classes: { a: { protocols: ['/a/'], weight: 0 } } },
    'a fractional priority': { classes: { a: { protocols: ['/a/'], priority: 0.5 } } },
    'minRate above maxRate': { classes: { a: { protocols: ['/a/'], minRate: 10, maxRate: 5 } } },
    'minRates above maxUpload': { maxUpload: 100, classes: { a: { protocols: ['/a/'], minRate: 60 }, b: { protocols: ['/b/'], minRate: 60 } } },
    'a zero targetDelay': { congestion: { targetDelay: 0 } },
    'an invalid metricsPrefix': { metricsPrefix: 'x-bw' },
    'a string congestion.enabled': { congestion: { enabled: 'false' as any } },
    'a string background': { classes: { a: { protocols: ['/a/'], background: 'no' as any } } },
    'a perPeer that is not an object': { perPeer: 100 as any },
    'a congestion that is not an object': { congestion: true as any },
    'classes given as an array': { classes: [{ protocols: ['/a/'] }] as any }
  }

  for (const [name, init] of Object.entries(invalid)) {
    it(`refuses ${name} with InvalidBandwidthOptionError`, () => {
      expect(() => resolveOptions(init)).to.throw().with.property('name', 'InvalidBandwidthOptionError')
    })
  }
})

describe('public methods', () => {
  const service = (): BandwidthManager => bandwidthManager({ classes: { bulk: { protocols: ['/files/'] } } })({
    registrar: { getMiddleware: () => [] } as any,
    events: new TypedEventEmitter<Libp2pEvents>(),
    logger: defaultLogger()
  })

  it('classify() refuses a protocol that is not a string with InvalidParametersError', () => {
    const bandwidth = service()
    expect(bandwidth.classify('/files/1.0.0')).to.equal('bulk')

    for (const wrong of [undefined, null, 42, {}, ['/files/']]) {
      expect(() => bandwidth.classify(wrong as any)).to.throw().with.property('name', 'InvalidParametersError')
    }
  })

  it('exportMetrics() refuses an unknown format with InvalidParametersError instead of answering JSON', () => {
    const bandwidth = service()
    expect(() => JSON.parse(bandwidth.exportMetrics('json'))).to.not.throw()
    expect(bandwidth.exportMetrics('prometheus')).to.include('x_bandwidth_class_bytes_total')

    for (const wrong of ['xml', undefined, 1]) {
      expect(() => bandwidth.exportMetrics(wrong as any)).to.throw().with.property('name', 'InvalidParametersError')
    }
  })
})
