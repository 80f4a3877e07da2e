/**
 * Small helpers shared by the interop specs.
 */

/** Polls `fn` until it returns something other than undefined */
export async function waitFor <T> (fn: () => Promise<T | undefined> | T | undefined, timeoutMs = 10_000, intervalMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs
  let lastError: unknown

  while (Date.now() < deadline) {
    try {
      const value = await fn()

      if (value !== undefined) {
        return value
      }
    } catch (err) {
      lastError = err
    }

    await new Promise(resolve => setTimeout(resolve, intervalMs))
  }

  throw new Error(`condition not met within ${timeoutMs}ms${lastError != null ? `: ${String(lastError)}` : ''}`)
}

/** The first plain TCP address (no WebSockets) in a list of multiaddr strings */
export function tcpAddr (addrs: string[]): string {
  const addr = addrs.find(a => a.includes('/tcp/') && !a.includes('/ws') && !a.includes('/p2p-circuit'))

  if (addr == null) {
    throw new Error(`no TCP address in ${addrs.join(', ')}`)
  }

  return addr
}

/** Random bytes of any length (getRandomValues is limited to 64 KiB a call) */
export function randomBytes (length: number): Uint8Array {
  const bytes = new Uint8Array(length)

  for (let offset = 0; offset < length; offset += 65536) {
    crypto.getRandomValues(bytes.subarray(offset, Math.min(length, offset + 65536)))
  }

  return bytes
}
