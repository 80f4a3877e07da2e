#!/usr/bin/env bash
# The README's commands go through here: make Node 24 available, install the
# workspace when package-lock.json changed, build what changed since the last
# build (scripts/build.mjs), then run what was asked.
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
# Node 24 from npm trusts only the CA list built into it, where the system's
# Node, curl and git trust the system store, which may hold a local CA (a
# TLS-inspecting proxy in front of the registries): give Node 24 the system
# store too, unless the environment names a bundle already. Without it an
# npm install that has to ask the registry (the consumer tests' scratch
# install) fails with SELF_SIGNED_CERT_IN_CHAIN in an environment stripped of it
if [ -z "${NODE_EXTRA_CA_CERTS:-}" ] && [ -r /etc/ssl/certs/ca-certificates.crt ]; then
  export NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt
fi

cd "$X_ROOT"
# shellcheck source=scripts/ensure-node.sh
source "$X_ROOT/scripts/ensure-node.sh"

# runs "$@", printing "x: <label>: still running (N s)" every 15 s so a long
# silent step (a first npm ci) does not look hung
x_with_progress () {
  local label="$1" start=$SECONDS pid
  shift
  "$@" &
  pid=$!
  (
    while sleep 15; do
      kill -0 "$pid" 2>/dev/null || exit 0
      echo "x: $label: still running ($((SECONDS - start)) s)" >&2
    done
  ) &
  local ticker=$! code=0
  wait "$pid" || code=$?
  kill "$ticker" 2>/dev/null || true
  wait "$ticker" 2>/dev/null || true
  return "$code"
}

# installs the workspace when node_modules does not match package-lock.json
# (scripts/lib/install-state.mjs): npm ci on a fresh clone, npm install when
# the lock changed under an existing node_modules (it deletes nothing and,
# with --no-save, leaves package-lock.json as it is)
x_install () {
  local state
  state="$(node scripts/lib/install-state.mjs)"
  case "$state" in
    current) return 0 ;;
    fresh)
      echo "x: first run: installing the workspace with Node $(node --version) (npm ci, a few minutes), then building the packages" >&2
      x_with_progress "npm ci" npm ci --no-audit --no-fund --loglevel=error
      ;;
    *)
      echo "x: package-lock.json changed: updating the workspace with Node $(node --version) (npm install)" >&2
      x_with_progress "npm install" npm install --no-save --no-audit --no-fund --loglevel=error
      ;;
  esac
  node scripts/lib/install-state.mjs stamp
  echo "x: installed in $SECONDS s" >&2
}

# builds only the workspaces whose sources or dependencies changed, printing
# each; with workspace names, only those and what they depend on
x_build () {
  node scripts/build.mjs "$@"
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
    x_build examples/demo
    exec node examples/demo/dist/src/index.js "$@"
    ;;
  bench)
    x_build bench
    exec node bench/run.ts "$@"
    ;;
  *)
    exec "$cmd" "$@"
    ;;
esac
