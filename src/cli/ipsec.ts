/**
 * `postern ipsec explain`: which rule, filter and action of the IPsec policy govern a packet,
 * and why. It is the policy step of `postern explain` (src/explain/): the flow is parsed by
 * explain/flow.ts and evaluated by explain/policy-step.ts; this file prints it alone.
 */
import type { Packet } from "../policy/evaluate.js";
import { parseAddress, parseFlow, PROTOCOLS } from "../explain/flow.js";
import { formatExplanation } from "../explain/policy-format.js";
import { policyStep } from "../explain/policy-step.js";
import type { CliEnv } from "../cmdline/env.js";
import {
  type CommandSpec,
  defineCommand,
  type OptionSpec,
  type Parsed,
  parseLine,
} from "../cmdline/grammar.js";

interface ExplainArgs {
  packet: Required<Packet>;
  me: string[];
  policy: string | null;
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
  const packet = parseFlow("ipsec explain", {
    src: p.str("src"),
    dst: p.str("dst"),
    proto: p.str("proto"),
    sport: p.str("sport"),
    dport: p.str("dport"),
  });
  const me = p.list("me").map((a) => parseAddress("--me", a));
  return { packet, me, policy: p.str("policy") ?? null };
}

async function explain(p: Parsed, env: CliEnv): Promise<number> {
  const args = explainArgs(p);
  const step = await policyStep(env.home, args.packet, args.me, args.policy);
  const { explanation: e, source, gpo, me } = step;
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
