/**
 * The suite's aegir settings, plus a browser runner (system Chromium) for the
 * specs that need no network: see scripts/lib/aegir-system-chromium.js
 */
import { withSystemChromium } from '../../scripts/lib/aegir-system-chromium.js'
import root from '../../.aegir.js'

export default withSystemChromium(root, 'batching', import.meta.url)
