#!/usr/bin/env bash
# Debian packages the lab and browser tests need (nftables, iproute2), installed only when missing
# (root only; without root the specs that need them say so themselves).
set -euo pipefail
need=()
command -v nft >/dev/null 2>&1 || need+=(nftables)
command -v ip >/dev/null 2>&1 || need+=(iproute2)
command -v chromium >/dev/null 2>&1 || need+=(chromium)   # the demo dashboard browser test (playwright-core)
if [ "${#need[@]}" -gt 0 ]; then
  if [ "$(id -u)" != "0" ]; then
    echo "x: missing ${need[*]} and not root; the specs that need them will say so" >&2
    exit 0
  fi
  echo "x: installing ${need[*]}" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
