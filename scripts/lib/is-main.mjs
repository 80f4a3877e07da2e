// Whether the module at `url` is the script node was started with (the
// checkout may sit under a path with spaces or behind a symlink).
import { realpathSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

/** @param {string} url - the caller's import.meta.url */
export function isMain (url) {
  if (process.argv[1] == null) { return false }
  try {
    return realpathSync(fileURLToPath(url)) === realpathSync(process.argv[1])
  } catch {
    return false
  }
}
