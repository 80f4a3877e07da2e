/**
 * The profiles that need Node (TCP, QUIC, mDNS). A browser build gets
 * `node-profiles.browser.ts` instead (the `browser` field of package.json).
 */
export { development } from './profiles/development.ts'
export { privateNetwork } from './profiles/private.ts'
export { server } from './profiles/server.ts'
