#!/usr/bin/env bash
# Runs every test with node's test runner over the compiled tree. Privileged suites
# (namespaces, nftables, TUN) run when we are root and say "skipped: needs root" otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" != 0 ]; then
  echo "NOTE: not root: privileged suites will be reported as skipped: needs root" >&2
fi
exec node --test --test-concurrency=2 --test-timeout=300000 --test-reporter=spec dist/test/
