#!/usr/bin/env bash
# npm start: set up, then run the main job.
#
# The main job is the article's lab (`postern lab up|check|down`). Its parts exist (DC with
# KDC, joining, IKEv2 with a Kerberos method, the ESP data path, the firewall's bypass set)
# but the agent does not yet run the Kerberos method nor fill the bypass set from live SAs,
# and `postern lab` is not written. Until then, this runs what does exist, for real, on the
# article's policies:
#   1. server1's and xpclient's IPsec policies, written with the article's netsh commands;
#   2. `postern ipsec explain` for each client's request to server1:80 (policy decisions);
#   3. server1's Windows Firewall settings compiled to the nftables ruleset it would load.
# Nothing below is simulated: every line is printed by the real commands.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh >&2

work=$(mktemp -d /tmp/postern-start.XXXXXX)
# server1's firewall goes into a namespace of its own, never into this host's.
ns="pst-$$"
ip netns add "$ns"
trap 'ip netns del "$ns" 2>/dev/null; rm -rf "$work"' EXIT
p() { node dist/src/cli/main.js "$@"; }

echo "== postern: the article's policies (lab not built yet: these are policy decisions, not traffic)"
p --home "$work/server1" netsh -f examples/article-server.netsh
p --home "$work/xpclient" netsh -f examples/article-client.netsh
echo
echo "-- server1 (198.18.0.20): assigned policy"
p --home "$work/server1" netsh ipsec static show policy all
for who in "xpclient 198.18.0.30" "client2 198.18.0.31" "outsider 198.18.0.40"; do
  set -- $who
  echo
  echo "-- $1 ($2) -> server1:80, as server1's policy agent decides"
  p --home "$work/server1" ipsec explain --me 198.18.0.20 --src "$2" --dst 198.18.0.20 --proto tcp --sport 49152 --dport 80
done
echo
echo "-- server1's firewall: on, no exception for port 80 (what the article's server has)"
export POSTERN_NETNS="$ns"
p --home "$work/server1" netsh firewall set opmode mode=enable exceptions=enable
p --home "$work/server1" netsh firewall show state
echo "-- the ruleset loaded in server1's namespace ($ns): its input chain"
ip netns exec "$ns" nft list chain inet postern input
echo
echo "note: who actually reaches the website needs the lab (issue 7): the agent running IKE"
echo "      with Kerberos, the PAC's groups and the firewall's bypass set together. That lab is"
echo "      not built yet; nothing above is simulated."
