/**
 * The suite's aegir settings, plus a browser runner (system Chromium) for the
 * specs that need no network: see scripts/lib/aegir-system-chromium.js
 */
import { withSystemChromium } from '../../scripts/lib/aegir-system-chromium.js'
import root from '../../.aegir.js'

const settings = withSystemChromium(root, 'health', import.meta.url)

export default {
  ...settings,
  dependencyCheck: {
    ...settings.dependencyCheck,
    // resolved from this package by scripts/lib/aegir-system-chromium.js, which dep-check does not read
    ignore: [...(settings.dependencyCheck?.ignore ?? []), 'playwright-core']
  }
}
