/* eslint-disable no-console -- an example program prints what it does */
/**
 * @packageDocumentation
 *
 * `@x/universal-connectivity` in a few lines: two nodes from the
 * `development` preset of `@x/connectivity-presets`; B knows A as a bootstrap peer, sees which mechanism
 * discovered it, dials it with the direct -> relay -> hole-punch strategy
 * and reports the path taken, its NAT status and its metrics.
 *
 * @example
 *
 * ```console
 * node examples/connectivity-minimal/dist/src/index.js
 * ```
 */
import { connectivityPreset } from '@x/connectivity-presets'
import { createLibp2p } from 'libp2p'

const options = {
  // TCP on loopback only, to keep the example small
  addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] }
}

const a = await createLibp2p(connectivityPreset('development', options))
const b = await createLibp2p(connectivityPreset('development', { ...options, bootstrap: [a.getMultiaddrs()[0].toString()] }))

// wait until a discovery mechanism reports A to B
await new Promise<void>((resolve) => {
  const check = (): void => {
    if (b.services.connectivity.getDiscoveredPeers().some(p => p.id.equals(a.peerId))) {
      resolve()
    } else {
      setTimeout(check, 100)
    }
  }
  check()
})

const found = b.services.connectivity.getDiscoveredPeers().find(p => p.id.equals(a.peerId))
// mDNS or bootstrap, whichever reported it first (both, later)
console.info('B discovered A via %s', found?.mechanisms.join(', '))

const { path, attempts } = await b.services.connectivity.dialPeerWithResult(a.peerId, { signal: AbortSignal.timeout(10_000) })
console.info('B dialled A: path %s after %d attempt(s)', path, attempts.length)
console.info('B NAT status: %s', b.services.connectivity.getNatStatus())

const metrics = b.services.connectivity.getMetrics()
console.info('B metrics: %d direct connection(s) active, %d dial(s) direct', metrics.connections.active.direct, metrics.dials.direct)

await Promise.all([a.stop(), b.stop()])
