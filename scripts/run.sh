#!/usr/bin/env bash
# The README's commands go through here: make Node 24 available, install the
# workspace when package-lock.json changed, build, then run what was asked.
#
#   bash scripts/run.sh test          every test: unit, integration, interop, netns
#   bash scripts/run.sh demo [args]   the demo swarm (examples/demo)
#   bash scripts/run.sh bench [name]  the benchmarks under bench/
#   bash scripts/run.sh <cmd...>      any command, with Node 24 and the workspace ready
set -euo pipefail
X_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export X_ROOT
# nft and ip live in sbin, which a non-login PATH may lack
export PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"

cd "$X_ROOT"
# shellcheck source=scripts/ensure-node.sh
source "$X_ROOT/scripts/ensure-node.sh"

x_install () {
  local stamp="node_modules/.x-install-stamp"
  local want
  want="$(node -e 'const c=require("crypto"),f=require("fs");process.stdout.write(c.createHash("sha256").update(f.readFileSync("package-lock.json")).update(process.version).digest("hex"))')"
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    echo "x: installing the workspace with $(node --version) (npm ci)" >&2
    npm ci --no-audit --no-fund --loglevel=error
    echo "$want" > "$stamp"
  fi
}

x_build () {
  echo "x: building every package (aegir run build)" >&2
  npx --no-install aegir run build
}

cmd="${1:-test}"
shift || true
x_install
case "$cmd" in
  test)
    bash scripts/system-deps.sh
    x_build
    exec node scripts/test-all.mjs "$@"
    ;;
  demo)
    x_build
    exec node examples/demo/dist/src/index.js "$@"
    ;;
  bench)
    x_build
    exec node bench/run.ts "$@"
    ;;
  *)
    exec "$cmd" "$@"
    ;;
esac
