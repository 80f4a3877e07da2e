// The Node versions the suite runs on: those that run `.ts` files directly
// (type stripping on by default: 22.18+ in the 22 line, 23.6+ after it).
// bench/run.ts and interop/lab/js-peer.ts are run that way; libp2p 3 needs
// >= 22 and aegir 48 >= 22.7, so this is the floor. Keep the root
// package.json "engines" in step. Runs on any Node (ensure-node.sh calls it
// with whatever Node is on PATH): `node scripts/lib/node-version.mjs` exits 0
// when the running Node is new enough.
import { isMain } from './is-main.mjs'

export const ENGINES = '^22.18.0 || >=23.6.0'

/**
 * @param {string} version - e.g. "22.18.0" or "v24.1.0"
 * @returns {boolean}
 */
export function runsTypeScript (version) {
  const [major, minor] = String(version).replace(/^v/, '').split('.').map(Number)
  if (!Number.isInteger(major) || !Number.isInteger(minor)) { return false }
  return major > 23 || (major === 23 && minor >= 6) || (major === 22 && minor >= 18)
}

if (isMain(import.meta.url)) {
  process.exit(runsTypeScript(process.versions.node) ? 0 : 1)
}
