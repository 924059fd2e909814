/**
 * `postern explain`: why this host admits or refuses a flow (or a peer), across every
 * layer, live.
 *
 * 1. parse the flow (`--src --dst --proto [--sport] [--dport]`) or `--peer HOST`;
 * 2. the policy step (policy-step.ts, the whole of `postern ipsec explain`);
 * 3. ask the running agent over its control socket for its IKE SAs (mmsas) and its bypass
 *    decisions (bypass); no agent is a step verdict, not an error;
 * 4. read the firewall settings and name the PAC's SIDs (the bypass list's names, then the
 *    DC through the member's resolver);
 * 5. build the trace (trace.ts, pure) and print it, or `--json` (docs/explain.md).
 */
import * as dns from "node:dns";
import * as os from "node:os";
import * as path from "node:path";
import type { CliEnv } from "../cmdline/env.js";
import { defineCommand, type Parsed } from "../cmdline/grammar.js";
import { requestControl } from "../control/socket.js";
import { UsageError } from "../errors.js";
import type { FirewallSettings } from "../firewall/model.js";
import { loadEffectiveIfAny } from "../firewall/gpo-layer.js";
import { parseIp } from "../policy/ip.js";
import { keytabWriter } from "../member/machine-keys.js";
import { createMemberResolver } from "../member/principals.js";
import { type Flow, parseAddress, parseFlow, PROTOCOLS } from "./flow.js";
import { formatExplanation } from "./policy-format.js";
import { interfaceAddresses, policyStep } from "./policy-step.js";
import { type AgentView, buildTrace, type Trace } from "./trace.js";

/** At most this many SIDs are looked up on the DC for one trace (a PAC may carry many). */
const MAX_NAME_LOOKUPS = 16;
const LOOKUP_TIMEOUT_MS = 3000;

async function agentView(home: string): Promise<AgentView> {
  const sock = path.join(home, "agent", "agent.sock");
  try {
    const [sas, bypass] = await Promise.all([
      requestControl(sock, "mmsas"),
      requestControl(sock, "bypass"),
    ]);
    return { running: true, sas, bypass: bypass.peers };
  } catch (e) {
    return { running: false, why: `no IPsec agent answers (${(e as Error).message})` };
  }
}

function firewallSettings(home: string): FirewallSettings | null {
  return loadEffectiveIfAny(home);
}

/** The subnets of this host's interfaces (for SUBNET and LocalSubnet scopes). */
function localSubnets(): string[] {
  const out: string[] = [];
  for (const list of Object.values(os.networkInterfaces()))
    for (const a of list ?? []) if (!a.internal && a.cidr) out.push(a.cidr);
  return out;
}

async function withTimeout<T>(p: Promise<T>, fallback: T): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<T>((r) => {
    timer = setTimeout(() => r(fallback), LOOKUP_TIMEOUT_MS);
  });
  try {
    return await Promise.race([p.catch(() => fallback), t]);
  } finally {
    clearTimeout(timer);
  }
}

/** Names of the SIDs the trace shows: the bypass list's, then the DC's (bounded). */
async function sidNames(
  env: CliEnv,
  settings: FirewallSettings | null,
  agent: AgentView,
  peer: string,
): Promise<Map<string, string>> {
  const names = new Map<string, string>();
  for (const b of settings?.bypass ?? []) if (b.name) names.set(b.sid, b.name);
  if (!agent.running) return names;
  const sids = new Set<string>();
  for (const sa of agent.sas) {
    const id = sa.identity;
    if (!id || sa.remote !== peer) continue;
    for (const s of [id.userSid, ...(id.groupSids ?? [])]) if (s && !names.has(s)) sids.add(s);
  }
  if (sids.size === 0) return names;
  const resolver = createMemberResolver(env);
  const wanted = [...sids].slice(0, MAX_NAME_LOOKUPS);
  const found = await Promise.all(
    wanted.map((s) => withTimeout(resolver.toName(s), undefined as string | undefined)),
  );
  for (const [i, s] of wanted.entries()) {
    const n = found[i];
    if (n) names.set(s, n);
  }
  return names;
}

async function resolvePeer(text: string): Promise<{ address: string; name: string | null }> {
  if (parseIp(text)) return { address: text, name: null };
  const r = await withTimeout(
    dns.promises.lookup(text, { family: 0 }).then((a) => a.address),
    null as string | null,
  );
  if (r === null) throw new UsageError(`--peer: "${text}" does not resolve to an address`);
  return { address: r, name: text.split(".")[0]?.toLowerCase() ?? text };
}

async function explain(p: Parsed, env: CliEnv): Promise<number> {
  const peerText = p.str("peer");
  const flowGiven = ["src", "dst", "proto", "sport", "dport"].some((k) => p.str(k) !== undefined);
  if (peerText !== undefined && flowGiven)
    throw new UsageError(
      "explain: give either a flow (--src --dst --proto ...) or --peer, not both",
    );
  if (peerText === undefined && !flowGiven)
    throw new UsageError("explain: give a flow (--src --dst --proto ...) or --peer HOST");
  const meGiven = p.list("me").map((a) => parseAddress("--me", a));
  const me = meGiven.length > 0 ? meGiven : interfaceAddresses();
  let flow: Flow;
  let peerName: string | null = null;
  if (peerText !== undefined) {
    const peer = await resolvePeer(peerText);
    peerName = peer.name;
    const family = parseIp(peer.address)?.family;
    const mine = me.find((a) => parseIp(a)?.family === family);
    if (mine === undefined)
      throw new UsageError(
        `explain: this host has no IPv${family} address to be reached on (--me)`,
      );
    flow = { src: peer.address, dst: mine, protocol: 0, srcPort: 0, dstPort: 0 };
  } else {
    flow = parseFlow("explain", {
      src: p.str("src"),
      dst: p.str("dst"),
      proto: p.str("proto"),
      sport: p.str("sport"),
      dport: p.str("dport"),
    });
    const ours = (a: string) => me.some((m) => parseIp(m)?.value === parseIp(a)?.value);
    if (!ours(flow.src) && !ours(flow.dst))
      throw new UsageError(
        `explain: neither ${flow.src} nor ${flow.dst} is an address of this host (give --me)`,
      );
  }
  const policy = await policyStep(env.home, flow, me, p.str("policy") ?? null);
  const agent = await agentView(env.home);
  const firewall = firewallSettings(env.home);
  const peer = me.some((m) => parseIp(m)?.value === parseIp(flow.dst)?.value) ? flow.src : flow.dst;
  const names = await sidNames(env, firewall, agent, peer);
  const id = keytabWriter.read(env.home);
  const trace = buildTrace({
    flow,
    peerMode: peerText !== undefined,
    me,
    policy,
    agent,
    firewall,
    localSubnets: localSubnets(),
    names,
    domain: id ? (id.domain.split(".")[0] ?? id.domain).toUpperCase() : null,
    domainDns: id?.domain ?? null,
    peerName,
    self: id ? id.sam.toUpperCase() : null,
  });
  if (env.json) env.out(JSON.stringify(trace, null, 2));
  else {
    env.out(formatTrace(trace));
    if (p.flag("verbose"))
      env.out(`\nPolicy step in full:\n${formatExplanation(policy.explanation, flow, me)}`);
  }
  return 0;
}

export function formatTrace(t: Trace): string {
  const f = t.flow;
  const ports = f.protocol === 6 || f.protocol === 17 ? ` port ${f.srcPort} -> ` : " -> ";
  const proto = Object.entries(PROTOCOLS).find(([, v]) => v === f.protocol)?.[0] ?? f.protocol;
  const flowText =
    f.protocol === 0 && f.srcPort === 0
      ? `${t.peer.address} -> this host (${f.dst}), any protocol and port`
      : `${proto} ${f.src}${ports}${f.dst}${f.dstPort ? ` port ${f.dstPort}` : ""}`;
  const lines = [`Flow:      ${flowText} (${t.direction}; peer ${t.peer.name ?? t.peer.address})`];
  const w = Math.max(...t.steps.map((s) => s.verdict.length));
  for (const [i, s] of t.steps.entries()) {
    lines.push(`${`${i + 1}. ${s.step}`.padEnd(12)} ${s.verdict.padEnd(w)}  ${s.source}`);
    if (s.detail) lines.push(`${" ".repeat(13 + w + 2)}${s.detail}`);
  }
  lines.push(`Verdict:   ${t.verdict.toUpperCase()} (decided by ${t.decidedBy})`);
  if (t.flip) {
    lines.push(`To flip:   ${t.flip.change}`);
    for (const c of t.flip.commands) lines.push(`           on ${c.host}: ${c.command}`);
  }
  return lines.join("\n");
}

export const explainCommand = defineCommand({
  name: "explain",
  summary: "why this host admits or refuses a flow or a peer, layer by layer, live",
  help: `postern explain - why this host admits or refuses a flow or a peer

SYNOPSIS
  postern explain --src ADDR --dst ADDR --proto tcp|udp|icmp|any|raw|N [--sport N] [--dport N]
                  [--me ADDR]... [--policy NAME] [--verbose] [--json]
  postern explain --peer HOST [--me ADDR]... [--json]

DESCRIPTION
  explain follows one flow through every layer of this host, in the order a packet meets
  them, and prints each step's verdict and where it comes from:

    policy    the IPsec rule and filter that govern the flow (postern ipsec explain), or
              the default response rule when none does
    sa        the peer's live IKE SA: who authenticated, with which method (asked of the
              running agent over its control socket)
    groups    the SIDs of the peer's verified PAC, named by the bypass list and the DC
    bypass    the bypass-list entry that admitted the SA, or the nearest one that would
    guard     inbound: chain ipsec_in drops cleartext of a flow the policy protects
              (unless the filter action has inpass)
    firewall  the bypass device, the port openings and their scope, or the default drop
    steering  outbound: sent in clear, sealed in an SA, or starting IKE
    peer      outbound: the peer told us, inside the SA, that it does not admit us, and
              why (POSTERN_NOT_ADMITTED; the group's name when the peer discloses it)

  then the final verdict (ALLOWED or BLOCKED, and which step decided) and the one change
  that would flip it, with the commands that make it (e.g. "add XPCLIENT$ to
  BIGFIRM\\trusted, then purge its tickets").

  The flow is inbound when --dst is an address of this host (the peer is --src) and
  outbound when --src is. --peer HOST asks "can HOST reach me": any protocol and port from
  HOST to this host; the firewall step lists what it reaches. Filters that name a protocol
  or port match only a flow given with --proto and --dport.

  With no agent running, the SA, groups and bypass steps say so; the policy and firewall
  steps are read from the stores.

OPTIONS
  --src, --dst ADDR   the flow's addresses (one of them this host's)
  --proto P           tcp, udp, icmp, any (protocol 0), raw (255) or a number 0-255
  --sport, --dport N  ports (tcp and udp only)
  --peer HOST         a peer's address or DNS name, instead of a flow
  --me ADDR           this host's address (repeatable); default: the interfaces' addresses
  --policy NAME       evaluate this IPsec policy instead of the assigned one
  --verbose           also print the policy step in full (every matching filter)
  --json              one JSON document, schema "postern.explain/1" (docs/explain.md)

EXIT STATUS
  0 the trace was printed (whatever its verdict); 2 bad arguments; 1 a store that does not
  load.

EXAMPLES
  On server1, why xpclient's web requests are served:
    postern explain --src 198.18.0.30 --dst 198.18.0.20 --proto tcp --sport 40000 --dport 80
  On server1, what client2 can reach:
    postern explain --peer 198.18.0.31

SEE ALSO
  postern ipsec explain, netsh ipsec dynamic show mmsas, netsh firewall show state,
  docs/explain.md
`,
  options: [
    { name: "src", type: "string", value: "ADDR", help: "the flow's source address" },
    { name: "dst", type: "string", value: "ADDR", help: "the flow's destination address" },
    {
      name: "proto",
      type: "string",
      value: "P",
      help: "tcp, udp, icmp, any, raw or 0-255",
      complete: Object.keys(PROTOCOLS),
    },
    { name: "sport", type: "string", value: "N", help: "source port (tcp and udp only)" },
    { name: "dport", type: "string", value: "N", help: "destination port (tcp and udp only)" },
    { name: "peer", type: "string", value: "HOST", help: "a peer, instead of a flow" },
    {
      name: "me",
      type: "string",
      value: "ADDR",
      multiple: true,
      help: "this host's address (repeatable)",
    },
    { name: "policy", type: "string", value: "NAME", help: "evaluate this IPsec policy" },
    { name: "verbose", type: "boolean", help: "also print the policy step in full" },
  ],
  run: explain,
});
