# shellcheck shell=bash
# Sourced by scripts/run.sh: puts a Node that runs `.ts` files directly first
# on PATH: 22.18 or newer in the 22 line, 23.6 or newer after it (type
# stripping on by default; bench/run.ts and interop/lab/js-peer.ts need it,
# libp2p 3 needs >= 22 and aegir 48 >= 22.7). When the Node on PATH is older,
# the `node@24` npm package (which carries the Node 24 binary) is installed
# once into .tools/node24 and used from there.

x_node_ok () {
  command -v node >/dev/null 2>&1 || return 1
  node "$X_ROOT/scripts/lib/node-version.mjs"
}

if ! x_node_ok; then
  X_NODE_DIR="$X_ROOT/.tools/node24"
  X_NODE_BIN="$X_NODE_DIR/node_modules/node/bin"
  if [ ! -x "$X_NODE_BIN/node" ]; then
    command -v npm >/dev/null 2>&1 || { echo "x: npm is needed to bootstrap Node 24 (found no npm on PATH)" >&2; exit 1; }
    echo "x: Node $(node --version 2>/dev/null || echo none) is too old; installing Node 24 from the npm package node@24 into .tools/node24" >&2
    mkdir -p "$X_NODE_DIR"
    npm install --prefix "$X_NODE_DIR" --no-save --no-audit --no-fund --loglevel=error node@24 >&2
  fi
  export PATH="$X_NODE_BIN:$PATH"
  x_node_ok || { echo "x: could not make Node >= 22.18 available" >&2; exit 1; }
fi
