/**
 * aegir settings that add a browser runner for the specs that need no
 * network (stub components, fake time): headless Chromium from the system
 * (`CHROMIUM_PATH`, default the Debian `chromium`), driven by aegir's
 * playwright runner. That runner installs its own Chromium build before
 * every run; the `before` hook marks that build as installed in a temporary
 * browsers directory, so nothing is downloaded and the system Chromium
 * (`executablePath`) is what runs.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'

/**
 * @param {object} root - the suite's aegir settings (the root `.aegir.js`)
 * @param {string} name - names the temporary browsers directory (`x-<name>-browsers-`)
 * @param {string} from - the package's `import.meta.url`: playwright-core is resolved from there
 */
export function withSystemChromium (root, name, from) {
  const require = createRequire(from)

  return {
    ...root,
    test: {
      ...root.test,
      before: async (argv) => {
        if (!(argv.target ?? []).includes('browser')) {
          return {}
        }

        const { browsers } = JSON.parse(readFileSync(join(dirname(require.resolve('playwright-core')), 'browsers.json'), 'utf8'))
        const dir = mkdtempSync(join(tmpdir(), `x-${name}-browsers-`))

        for (const browser of browsers.filter(b => b.name.startsWith('chromium'))) {
          const browserDir = join(dir, `${browser.name.replace(/-/g, '_')}-${browser.revision}`)
          mkdirSync(browserDir)
          writeFileSync(join(browserDir, 'INSTALLATION_COMPLETE'), '')
        }

        return { dir, env: { PLAYWRIGHT_BROWSERS_PATH: dir, PLAYWRIGHT_SKIP_BROWSER_GC: '1' } }
      },
      after: async (argv, before) => {
        if (before?.dir != null) {
          rmSync(before.dir, { recursive: true, force: true })
        }
      },
      browser: {
        config: {
          browser: 'chromium',
          browserContextOptions: {
            executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
          }
        }
      }
    }
  }
}
