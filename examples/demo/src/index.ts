/**
 * @packageDocumentation
 *
 * The demo behind `npm start`.
 *
 * For now it is the go-libp2p interop smoke run: a js-libp2p node and a
 * go-libp2p node on loopback connect over TCP with noise and yamux, then ping
 * and echo each other every few seconds. Ctrl-C (or `--duration SECONDS`)
 * stops both nodes and exits 0.
 *
 * @example
 *
 * ```console
 * npm start                      # until Ctrl-C
 * npm start -- --duration 20     # 20 seconds, then exit
 * ```
 */
import { goMissingReason } from '@x/interop'
import { parseDemoOptions } from './options.ts'
import { startSmokeRun } from './smoke.ts'

const print = (line: string): void => { process.stdout.write(`${line}\n`) }

async function main (): Promise<void> {
  const options = parseDemoOptions(process.argv.slice(2))
  const missing = goMissingReason()

  if (missing != null) {
    throw new Error(`the demo runs a go-libp2p peer and needs Go: ${missing}`)
  }

  print('x demo: js-libp2p <-> go-libp2p on loopback (Ctrl-C to stop)')
  const run = await startSmokeRun(options, print)

  const onSignal = (): void => {
    print('')
    print('stopping...')
    void run.stop()
  }

  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)

  await run.done
}

main().then(() => {
  process.exit(0)
}, (err) => {
  process.stderr.write(`x demo failed: ${err.stack ?? err}\n`)
  process.exit(1)
})
