/**
 * `lab.sh up` tears down whatever it built when a step fails, also a step
 * inside one of its helper functions (bash runs an ERR trap there only with
 * `set -E`). The failure is injected with an `ip` wrapper on PATH that fails
 * the third veth pair.
 */
import { execFile, execFileSync } from 'node:child_process'
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { expect } from 'aegir/chai'
import { requireOrSkip } from '../../src/index.ts'
import { LAB_DIR, labMissingReason } from './lab.ts'

const run = promisify(execFile)

describe('lab.sh', function () {
  this.timeout(60_000)

  before(function () {
    requireOrSkip(this, 'NAT lab specs', labMissingReason())
  })

  it('up removes every namespace it created when a step inside a helper function fails', async () => {
    const id = `t${Math.random().toString(36).slice(2, 7)}`
    const dir = mkdtempSync(join(tmpdir(), 'lab-sh-'))
    const realIp = execFileSync('sh', ['-c', 'command -v ip'], { encoding: 'utf8' }).trim()
    writeFileSync(join(dir, 'ip'), `#!/bin/sh
case "$*" in
  *"type veth peer"*)
    n=$(cat "${dir}/count" 2>/dev/null || echo 0); n=$((n + 1)); echo $n > "${dir}/count"
    [ $n -ge 3 ] && exit 1 ;;
esac
exec ${realIp} "$@"
`)
    chmodSync(join(dir, 'ip'), 0o755)

    try {
      const err = await run(join(LAB_DIR, 'lab.sh'), ['up', id, 'cone'], { env: { ...process.env, PATH: `${dir}:${process.env.PATH ?? ''}` } }).catch((e: any) => e)
      expect(err?.code, 'up fails').to.equal(1)
      const { stdout } = await run('ip', ['netns', 'list'])
      expect(stdout.split('\n').filter(line => line.startsWith(`x${id}-`))).to.deep.equal([])
    } finally {
      await run(join(LAB_DIR, 'lab.sh'), ['down', id]).catch(() => {})
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
