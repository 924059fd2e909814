#!/usr/bin/env bash
# npm start: set up what is missing, then the main job: the article's lab.
#   postern lab up      the network of the article in namespaces: dc1 (DC, DNS, KDC),
#                       server1 (secure website, firewall, agent), xpclient (in "trusted"),
#                       client2 (member, not in "trusted"), outsider (not a member);
#                       joined, and configured with the article's netsh scripts (examples/)
#   postern lab check   who reaches http://198.18.0.20/ and why, then the membership change
#   postern lab down    everything removed (also when check fails or this script is stopped)
# Nothing is simulated: every line comes from real processes, namespaces, nftables and TUN.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh >&2

home=$(mktemp -d /tmp/postern-start.XXXXXX)
p() { node dist/src/cli/main.js --home "$home" "$@"; }
cleanup() { p lab down >/dev/null 2>&1 || true; rm -rf "$home"; }
trap cleanup EXIT

echo "== postern: the article's lab (Windows Server 2003 authenticated IPsec bypass, on Linux)"
start=$(date +%s)
p lab up
status=0
p lab check || status=$?
p lab down
echo "== lab done in $(( $(date +%s) - start )) s"
exit "$status"
