/**
 * `postern ipsec explain`: which rule, filter and action of the IPsec policy govern a packet,
 * and why.
 *
 * 1. parse the packet and options (bad input: one line, exit 2);
 * 2. load the effective store (policy/effective.ts: on a domain member the policy Group
 *    Policy assigned overrides the local one), choose the assigned policy (or --policy);
 * 3. gather what "apply time" means here: host addresses (--me, else the interfaces),
 *    DNS names resolved now with node:dns, the DNS servers and default gateway;
 * 4. compile (pure core, src/policy/evaluate.ts) and explain; print text or --json.
 */
import * as dns from "node:dns";
import * as fs from "node:fs";
import * as os from "node:os";
import { UsageError } from "../errors.js";
import {
  compilePolicy,
  type Explanation,
  type FilterMatch,
  type Packet,
  type ServerAddresses,
  selectPolicy,
} from "../policy/evaluate.js";
import { dnsNamesOf, serverTypesOf } from "../policy/expand.js";
import { parseIp } from "../policy/ip.js";
import { loadEffectiveStore } from "../policy/effective.js";
import type { CliEnv } from "../cmdline/env.js";
import {
  type CommandSpec,
  defineCommand,
  type OptionSpec,
  type Parsed,
  parseLine,
} from "../cmdline/grammar.js";

const PROTOCOLS: Readonly<Record<string, number>> = { any: 0, icmp: 1, tcp: 6, udp: 17, raw: 255 };
const DNS_TIMEOUT_MS = 3000;

interface ExplainArgs {
  packet: Required<Packet>;
  me: string[];
  policy: string | null;
}

export function protocolName(n: number): string {
  return Object.entries(PROTOCOLS).find(([, v]) => v === n)?.[0] ?? String(n);
}

function parseProtocol(text: string): number {
  const known = PROTOCOLS[text.toLowerCase()];
  if (known !== undefined) return known;
  if (/^\d{1,3}$/.test(text) && Number(text) <= 255) return Number(text);
  throw new UsageError(`--proto: "${text}" is not tcp, udp, icmp, any, raw or a number 0-255`);
}

function parsePort(flag: string, text: string): number {
  if (!/^\d{1,5}$/.test(text) || Number(text) > 65535) {
    throw new UsageError(`${flag}: "${text}" is not a port number 0-65535`);
  }
  return Number(text);
}

function parseAddress(flag: string, text: string): string {
  if (!parseIp(text)) throw new UsageError(`${flag}: "${text}" is not an IPv4 or IPv6 address`);
  return text;
}

const ADDR = (name: string, help: string, required = false): OptionSpec => ({
  name,
  type: "string",
  value: required ? "ADDRESS" : "ADDR",
  required,
  help,
});

const EXPLAIN: CommandSpec = {
  name: "explain",
  summary: "which rule, filter and action of the IPsec policy govern a packet, and why",
  options: [
    ADDR("src", "the packet's source address (IPv4 or IPv6)", true),
    ADDR("dst", "the packet's destination address", true),
    {
      name: "proto",
      type: "string",
      value: "P",
      help: "tcp, udp, icmp, any, raw or 0-255",
      complete: Object.keys(PROTOCOLS),
    },
    { name: "sport", type: "string", value: "N", help: "source port (tcp and udp only)" },
    { name: "dport", type: "string", value: "N", help: "destination port (tcp and udp only)" },
    { ...ADDR("me", 'this host\'s address for "me" (repeatable)'), multiple: true },
    {
      name: "policy",
      type: "string",
      value: "NAME",
      help: "evaluate this policy instead of the assigned one",
    },
  ],
  run: explain,
};

export function parseExplainArgs(argv: readonly string[]): ExplainArgs {
  return explainArgs(parseLine(EXPLAIN, "ipsec explain", argv));
}

function explainArgs(p: Parsed): ExplainArgs {
  const srcText = p.str("src");
  const dstText = p.str("dst");
  const protoText = p.str("proto");
  if (srcText === undefined) throw new UsageError("ipsec explain: --src ADDRESS is required");
  if (dstText === undefined) throw new UsageError("ipsec explain: --dst ADDRESS is required");
  if (protoText === undefined) throw new UsageError("ipsec explain: --proto is required");
  const src = parseAddress("--src", srcText);
  const dst = parseAddress("--dst", dstText);
  if (parseIp(src)?.family !== parseIp(dst)?.family) {
    throw new UsageError("ipsec explain: --src and --dst must both be IPv4 or both IPv6");
  }
  const protocol = parseProtocol(protoText);
  const sport = p.str("sport");
  const dport = p.str("dport");
  if ((sport !== undefined || dport !== undefined) && protocol !== 6 && protocol !== 17) {
    throw new UsageError("ipsec explain: --sport and --dport apply to tcp and udp only");
  }
  const me = p.list("me").map((a) => parseAddress("--me", a));
  return {
    packet: {
      src,
      dst,
      protocol,
      srcPort: sport === undefined ? 0 : parsePort("--sport", sport),
      dstPort: dport === undefined ? 0 : parsePort("--dport", dport),
    },
    me,
    policy: p.str("policy") ?? null,
  };
}

/** This host's addresses (loopback excluded, as Windows' "My IP address"). */
function interfaceAddresses(): string[] {
  const out: string[] = [];
  for (const list of Object.values(os.networkInterfaces())) {
    for (const a of list ?? []) if (!a.internal) out.push(a.address);
  }
  return out;
}

async function resolveName(name: string): Promise<string[]> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<string[]>((resolve) => {
    timer = setTimeout(() => resolve([]), DNS_TIMEOUT_MS);
  });
  const lookup = dns.promises
    .lookup(name, { all: true, verbatim: true })
    .then((rs) => rs.map((r) => r.address))
    .catch(() => [] as string[]);
  try {
    return await Promise.race([lookup, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function readText(file: string): string {
  try {
    return fs.readFileSync(file, "utf8");
  } catch {
    return "";
  }
}

/** DNS servers from resolv.conf and the IPv4 default gateway from /proc/net/route. */
function serverAddresses(): ServerAddresses {
  const dnsServers = [...readText("/etc/resolv.conf").matchAll(/^\s*nameserver\s+(\S+)/gm)].map(
    (m) => m[1] as string,
  );
  const gateway: string[] = [];
  for (const line of readText("/proc/net/route").split("\n").slice(1)) {
    const [, dest, gw] = line.trim().split(/\s+/);
    if (dest === "00000000" && gw && gw !== "00000000") {
      const n = Number.parseInt(gw, 16);
      gateway.push([n & 255, (n >>> 8) & 255, (n >>> 16) & 255, n >>> 24].join("."));
    }
  }
  return { dns: dnsServers, wins: [], dhcp: [], gateway };
}

function portText(n: number): string {
  return n === 0 ? "any" : String(n);
}

function matchLines(m: FilterMatch, winner: boolean): string[] {
  const dir =
    m.direction === "mirrored"
      ? "its mirror: source and destination swapped"
      : `as written, mirrored=${m.mirrored ? "yes" : "no"}`;
  return [
    `  ${winner ? "*" : " "} weight ${m.weight}  rule "${m.rule}": filter list "${m.filterlist}" filter ${m.filterIndex} (${dir})`,
    `      ${m.src} port ${portText(m.srcPort)} -> ${m.dst} port ${portText(m.dstPort)}, protocol ${protocolName(m.protocol)} => ${m.action} ("${m.filteraction}")`,
    `      weight: ${m.weightText}`,
  ];
}

export function formatExplanation(
  e: Explanation,
  packet: Required<Packet>,
  me: readonly string[],
): string {
  const proto = protocolName(packet.protocol);
  const lines = [
    `Packet:   ${proto} ${packet.src} port ${portText(packet.srcPort)} -> ${packet.dst} port ${portText(packet.dstPort)}`,
    `Policy:   ${e.policy === null ? "(none)" : `"${e.policy}"`}`,
    `Me:       ${me.length > 0 ? me.join(", ") : "(no address)"}`,
  ];
  if (e.matches.length > 0) {
    lines.push("Matching filters, most specific first (* = the winner):");
    for (const [i, m] of e.matches.entries()) lines.push(...matchLines(m, i === 0));
    lines.push(`Why:      ${e.reason}`);
  } else {
    lines.push("Matching filters: none");
  }
  for (const note of e.notes) lines.push(`Note:     ${note}`);
  const decision =
    e.action === "none"
      ? `none (${e.matches.length === 0 ? e.reason : "no action"})`
      : `${e.action} (rule "${e.rule}", filter action "${e.filteraction}")`;
  lines.push(`Decision: ${decision}`);
  return lines.join("\n");
}

async function explain(p: Parsed, env: CliEnv): Promise<number> {
  const args = explainArgs(p);
  const { store, source, gpo } = loadEffectiveStore(env.home);
  const policy = selectPolicy(store, args.policy);
  const me = args.me.length > 0 ? args.me : interfaceAddresses();
  const answers = new Map<string, string[]>();
  if (policy) {
    const names = dnsNamesOf(store, policy);
    const resolved = await Promise.all(names.map(resolveName));
    for (const [i, n] of names.entries()) answers.set(n, resolved[i] ?? []);
  }
  const servers = policy && serverTypesOf(store, policy).length > 0 ? serverAddresses() : undefined;
  const spd = compilePolicy(
    store,
    policy?.guid ?? null,
    { addresses: me },
    (n) => answers.get(n) ?? [],
    servers,
  );
  const e = spd.explain(args.packet);
  if (env.json) {
    const { action, policy: p, rule, filterlist, filteraction, filter, weight } = e;
    const doc = { action, policy: p, rule, filterlist, filteraction, filter, weight, source, gpo };
    env.out(
      JSON.stringify(
        { ...doc, matches: e.matches, reason: e.reason, notes: e.notes, packet: args.packet, me },
        null,
        2,
      ),
    );
  } else {
    const from =
      source === "domain"
        ? `Store:    domain (Group Policy "${gpo}", overrides the local store)\n`
        : "";
    env.out(`${from}${formatExplanation(e, args.packet, me)}`);
  }
  return 0;
}

export const ipsecCommand = defineCommand({
  name: "ipsec",
  summary: "IPsec policy tools: explain which rule governs a packet",
  help: `postern ipsec - IPsec policy tools

SYNOPSIS
  postern ipsec explain --src ADDR --dst ADDR --proto tcp|udp|icmp|any|raw|N
                        [--sport N] [--dport N] [--me ADDR]... [--policy NAME] [--json]

DESCRIPTION
  explain evaluates the assigned IPsec policy of the host's effective store (or --policy
  NAME, by name or GUID): on a domain member whose Group Policy assigns an IPsec policy
  (fetched by postern gpupdate) that store, which overrides the local one; else the local
  store, for one packet, the way Windows Server 2003 orders filters: every filter of the
  active rules is expanded (mirrors, "me", DNS names resolved now, server types) and the
  most specific matching filter wins (the highest weight; ties: block, permit, negotiate,
  then rule and filter order). It prints every matching filter with its weight, the winner
  and why, and the decision: permit, block, negotiate, or none when no filter matches or
  no policy is assigned.

OPTIONS
  --src, --dst ADDR   the packet's addresses (IPv4 or IPv6, one family)
  --proto P           tcp, udp, icmp, any (protocol 0), raw (255) or a number 0-255
  --sport, --dport N  ports (tcp and udp only; omitted = 0)
  --me ADDR           this host's address for "me" (repeatable); default: the addresses
                      of the network interfaces, loopback excluded
  --policy NAME       evaluate this policy instead of the assigned one
  --json              print {action, policy, rule, filterlist, filteraction, filter,
                      weight, source (domain|local), gpo, matches, reason, notes}

EXAMPLES
  postern ipsec explain --src 198.18.0.30 --dst 198.18.0.20 --proto tcp --sport 1025 --dport 80 --me 198.18.0.20

SEE ALSO
  docs/policy-evaluation.md
`,
  subcommands: [EXPLAIN],
});
