#!/usr/bin/env bash
# go vet and go test for the go peer; run by the interop package's `test`
# script before the TypeScript specs.
set -euo pipefail
cd "$(dirname "$0")"
if ! command -v go >/dev/null 2>&1; then
  if [ "${X_REQUIRE_INTEROP:-}" = "1" ] || { [ -n "${CI:-}" ] && [ "${CI}" != "false" ]; }; then
    echo "go-peer: the Go toolchain is required here (CI) but not on PATH" >&2
    exit 1
  fi
  printf '\n\033[1;33m!!! SKIPPED: go-peer unit tests - the Go toolchain is not on PATH\033[0m\n\n' >&2
  exit 0
fi
go vet ./...
go test -count=1 ./...
