import { expect } from 'aegir/chai'
import { Classifier } from '../src/classifier.ts'
import { resolveOptions } from '../src/options.ts'

describe('classifier', () => {
  const options = resolveOptions({
    classes: {
      control: { protocols: ['/ipfs/'] },
      interactive: { protocols: ['/ipfs/ping/', '/chat/'] },
      bulk: { protocols: ['/files/'] }
    }
  })
  const classifier = new Classifier(options.classes, options.defaultClass)

  it('matches by prefix; the longest prefix wins', () => {
    expect(classifier.classify('/ipfs/ping/1.0.0').name).to.equal('interactive')
    expect(classifier.classify('/ipfs/id/1.0.0').name).to.equal('control')
    expect(classifier.classify('/chat/2.0.0').name).to.equal('interactive')
    expect(classifier.classify('/files/get/1').name).to.equal('bulk')
  })

  it('puts unknown protocols (and the empty one) in the default class', () => {
    expect(classifier.classify('/unknown/1.0.0').name).to.equal('default')
    expect(classifier.classify('').name).to.equal('default')
  })

  it('keeps a bounded cache', () => {
    for (let i = 0; i < 1000; i++) {
      classifier.classify(`/random/${i}`)
    }

    expect((classifier as any).cache.size).to.be.at.most(256)
    expect(classifier.classify('/ipfs/ping/1.0.0').name).to.equal('interactive')
  })
})
