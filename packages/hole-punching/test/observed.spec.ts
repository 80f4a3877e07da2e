import { multiaddr } from '@multiformats/multiaddr'
import { expect } from 'aegir/chai'
import { MAX_OBSERVED_IPS, MAX_CONNECTIONS_PER_OBSERVER, OBSERVER_TTL } from '../src/constants.ts'
import { ObservedAddresses, ipv4Tcp, isPublicIPv4, isUnicastIPv4, observerKey } from '../src/observed.ts'

describe('observed addresses', () => {
  it('names an IP only once minObservers distinct peers reported it', () => {
    const observed = new ObservedAddresses(2)
    observed.record(multiaddr('/ip4/16.0.0.1/tcp/40001'), 'peer-a', 1, 'peer-a')
    observed.record(multiaddr('/ip4/16.0.0.1/tcp/40002'), 'peer-a', 2, 'peer-a')
    expect(observed.publicIp()).to.equal(undefined)

    observed.record(multiaddr('/ip4/16.0.0.1/tcp/40003'), 'peer-b', 3, 'peer-b')
    expect(observed.publicIp()).to.equal('16.0.0.1')
  })

  it('an observer counts while one of its observing connections is open, and for OBSERVER_TTL after the last one closed', () => {
    const observed = new ObservedAddresses(2)
    observed.record(multiaddr('/ip4/16.0.0.1/tcp/1'), 'a', 1, 'conn-a1')
    observed.record(multiaddr('/ip4/16.0.0.1/tcp/2'), 'a', 2, 'conn-a2')
    observed.record(multiaddr('/ip4/16.0.0.1/tcp/3'), 'b', 3, 'conn-b')
    expect(observed.publicIp(10)).to.equal('16.0.0.1')

    // a still has conn-a2 open
    observed.closed('conn-a1', 100)
    expect(observed.publicIp(100 + OBSERVER_TTL * 2)).to.equal('16.0.0.1')

    // b's only connection closed: b counts until OBSERVER_TTL later
    observed.closed('conn-b', 200)
    expect(observed.publicIp(200 + OBSERVER_TTL - 1)).to.equal('16.0.0.1')
    expect(observed.publicIp(200 + OBSERVER_TTL)).to.equal(undefined)

    // a fresh observation over a new connection counts again
    observed.record(multiaddr('/ip4/16.0.0.1/tcp/4'), 'b', 300 + OBSERVER_TTL, 'conn-b2')
    expect(observed.publicIp(300 + OBSERVER_TTL)).to.equal('16.0.0.1')
  })

  it('forgets an IP once every observer of it expired (the table does not keep closed connections\' observations)', () => {
    const observed = new ObservedAddresses(1)
    observed.record(multiaddr('/ip4/16.0.0.1/tcp/1'), 'a', 1, 'conn-a')
    observed.closed('conn-a', 2)
    observed.record(multiaddr('/ip4/99.0.0.1/tcp/1'), 'b', 2 + OBSERVER_TTL, 'conn-b')
    expect(observed.size).to.equal(1)
    expect(observed.publicIp(2 + OBSERVER_TTL)).to.equal('99.0.0.1')
  })

  it('remembers at most MAX_CONNECTIONS_PER_OBSERVER observing connections per observer', () => {
    const observed = new ObservedAddresses(1)
    for (let i = 0; i < MAX_CONNECTIONS_PER_OBSERVER + 5; i++) {
      observed.record(multiaddr('/ip4/16.0.0.1/tcp/1'), 'a', i, `conn-${i}`)
    }
    expect(observed.connections('a')).to.equal(MAX_CONNECTIONS_PER_OBSERVER)
    // closing the remembered ones expires the observer, whatever became of the forgotten ones
    for (let i = 0; i < MAX_CONNECTIONS_PER_OBSERVER + 5; i++) {
      observed.closed(`conn-${i}`, 100)
    }
    expect(observed.publicIp(100 + OBSERVER_TTL)).to.equal(undefined)
  })

  it('prefers the IP most peers agree on over a more recent one', () => {
    const observed = new ObservedAddresses(1)
    observed.record(multiaddr('/ip4/16.0.0.1/tcp/1'), 'a', 1, 'a')
    observed.record(multiaddr('/ip4/16.0.0.1/tcp/2'), 'b', 2, 'b')
    observed.record(multiaddr('/ip4/99.0.0.1/tcp/3'), 'c', 3, 'c')
    expect(observed.publicIp()).to.equal('16.0.0.1')
  })

  it('counts an observer for the IP it reported last: after our NAT\'s address changed, stale reports do not outvote it', () => {
    const observed = new ObservedAddresses(2)
    observed.record(multiaddr('/ip4/16.0.0.1/tcp/1'), 'a', 1, 'a')
    observed.record(multiaddr('/ip4/16.0.0.1/tcp/2'), 'b', 2, 'b')
    observed.record(multiaddr('/ip4/16.0.0.1/tcp/3'), 'c', 3, 'c')
    expect(observed.publicIp()).to.equal('16.0.0.1')

    // the NAT got a new address; a and b reconnected and see it
    observed.record(multiaddr('/ip4/16.0.0.99/tcp/4'), 'a', 4, 'a')
    observed.record(multiaddr('/ip4/16.0.0.99/tcp/5'), 'b', 5, 'b')
    expect(observed.publicIp()).to.equal('16.0.0.99')
  })

  it('names one observer per IPv4 address and per IPv6 /56 (as go-libp2p counts them), undefined for other addresses', () => {
    expect(observerKey(multiaddr('/ip4/11.0.0.10/tcp/4001/p2p/12D3KooWAyjeyvz8K2NMR4np4fdhTpQ9hMMqdTsTGhtF794DmpK5'))).to.equal('11.0.0.10')
    expect(observerKey(multiaddr('/ip6/2001:db8:1:2ff::1/tcp/1'))).to.equal(observerKey(multiaddr('/ip6/2001:db8:1:200:1:2:3:4/tcp/1')))
    expect(observerKey(multiaddr('/ip6/2001:db8:1:2ff::1/tcp/1'))).to.not.equal(observerKey(multiaddr('/ip6/2001:db8:1:300::1/tcp/1')))
    expect(observerKey(multiaddr('/ip6/::1/tcp/1'))).to.be.a('string')
    // IPv4 peers on a dual-stack listener: one observer per IPv4 address, not one for them all
    expect(observerKey(multiaddr('/ip6/::ffff:1.2.3.4/tcp/1'))).to.equal('1.2.3.4')
    expect(observerKey(multiaddr('/ip6/::ffff:1.2.3.5/tcp/1'))).to.equal('1.2.3.5')
    expect(observerKey(multiaddr('/dns4/example.com/tcp/1'))).to.equal(undefined)
  })

  it('ignores private, loopback, CGNAT, IPv6, circuit and non-TCP addresses', () => {
    const observed = new ObservedAddresses(1)

    for (const addr of ['/ip4/10.1.0.2/tcp/1', '/ip4/127.0.0.1/tcp/1', '/ip4/100.64.0.1/tcp/1', '/ip4/192.168.1.1/tcp/1',
      '/ip6/2001:db8::1/tcp/1', '/ip4/16.0.0.1/udp/1/quic-v1', '/ip4/11.0.0.10/tcp/4001/p2p/12D3KooWAyjeyvz8K2NMR4np4fdhTpQ9hMMqdTsTGhtF794DmpK5/p2p-circuit']) {
      expect(observed.record(multiaddr(addr), 'x', 1, 'x'), addr).to.equal(false)
    }

    expect(observed.publicIp()).to.equal(undefined)
    expect(observed.size).to.equal(0)
  })

  it('accepts private addresses when told to', () => {
    const observed = new ObservedAddresses(1, isUnicastIPv4)
    observed.record(multiaddr('/ip4/127.0.0.1/tcp/1'), 'a', 1, 'a')
    expect(observed.publicIp()).to.equal('127.0.0.1')
  })

  it('keeps at most MAX_OBSERVED_IPS IPs, dropping the least recently seen', () => {
    const observed = new ObservedAddresses(1)

    for (let i = 0; i < MAX_OBSERVED_IPS + 5; i++) {
      observed.record(multiaddr(`/ip4/16.0.${i}.1/tcp/1`), `o${i}`, i, `o${i}`)
    }

    expect(observed.size).to.equal(MAX_OBSERVED_IPS)
  })

  it('classifies IPv4 addresses', () => {
    expect(isPublicIPv4('16.0.0.1')).to.equal(true)
    expect(isPublicIPv4('172.16.0.1')).to.equal(false)
    expect(isPublicIPv4('169.254.1.1')).to.equal(false)
    expect(isPublicIPv4('224.0.0.1')).to.equal(false)
    expect(isPublicIPv4('1.2.3')).to.equal(false)
    expect(ipv4Tcp(multiaddr('/ip4/16.0.0.1/tcp/4001/p2p/12D3KooWAyjeyvz8K2NMR4np4fdhTpQ9hMMqdTsTGhtF794DmpK5'))).to.deep.equal({ host: '16.0.0.1', port: 4001 })
    expect(ipv4Tcp(multiaddr('/ip4/16.0.0.1/tcp/0'))).to.equal(undefined)
  })
})
