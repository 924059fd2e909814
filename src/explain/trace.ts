/**
 * `postern explain`'s pure core: one flow (or one peer) through every layer of this host,
 * in the order a packet meets them, each step with its verdict and its source, then the
 * final verdict and the one change that would flip it.
 *
 *   inbound (the flow's destination is this host; the peer is its source):
 *     1. policy    the IPsec rule and filter that govern it (ipsec explain), or the default
 *                  response rule when none does
 *     2. sa        the peer's live IKE SA, if any: auth method, principal (from the agent)
 *     3. groups    the SIDs its verified PAC carries, with names
 *     4. bypass    the bypass-list entry that admitted the SA, or the nearest one that would
 *     5. guard     ipsec_in: cleartext of a flow policy protects is dropped (unless inpass)
 *     6. firewall  the bypass device, the exceptions and their scope (firewall/evaluate.ts)
 *   outbound (the flow's source is this host; the peer is its destination):
 *     1. policy, 2. sa (the SA this host started), 3. the firewall's output chain.
 *
 * No I/O: command.ts gathers the agent's answers, the settings and the names.
 */
import type { BypassEntry, MmSaView } from "../control/protocol.js";
import { evaluateInbound, evaluateOutboundIcmp, type InboundPacket } from "../firewall/evaluate.js";
import {
  BYPASS_DEVICE,
  type FirewallSettings,
  type PortOpening,
  TUN_DEVICE,
} from "../firewall/model.js";
import { inIntervals, scopeIntervals } from "../firewall/scope.js";
import { parseIp } from "../policy/ip.js";
import { type Flow, protocolName } from "./flow.js";
import type { PolicyStep } from "./policy-step.js";

/** The version of the JSON document (docs/explain.md); bumped on any incompatible change. */
export const TRACE_SCHEMA = "postern.explain/1" as const;

export type StepName =
  | "policy"
  | "sa"
  | "groups"
  | "bypass"
  | "guard"
  | "firewall"
  | "steering"
  | "peer";

export interface TraceStep {
  step: StepName;
  /** What this layer decides (per step: see docs/explain.md). */
  verdict: string;
  /** Where the answer comes from: a rule, an SA, a ticket, a setting. */
  source: string;
  /** One sentence. */
  detail: string;
}

export interface Principal {
  sid: string;
  name: string | null;
}

export interface Flip {
  /** The change, in one sentence ("add XPCLIENT$ to BIGFIRM\trusted, then purge its tickets"). */
  change: string;
  /** The commands that make it, each with the host it runs on. */
  commands: { host: string; command: string }[];
}

export interface Trace {
  schema: typeof TRACE_SCHEMA;
  direction: "inbound" | "outbound";
  flow: Flow;
  /** The other end of the flow. */
  peer: { address: string; name: string | null };
  steps: TraceStep[];
  verdict: "allowed" | "blocked";
  /** Which step decided. */
  decidedBy: StepName;
  flip: Flip | null;
  /** The peer's principal and groups, when an SA proved them. */
  identity: { principal: string; method: string; sids: Principal[] } | null;
}

export type AgentView =
  | { running: true; sas: MmSaView[]; bypass: BypassEntry[] }
  | { running: false; why: string };

export interface TraceInput {
  flow: Flow;
  /** `--peer`: any protocol and port from the peer, the question "can it reach me". */
  peerMode: boolean;
  me: readonly string[];
  policy: PolicyStep;
  agent: AgentView;
  /** null: this host has no firewall settings (the firewall is not configured). */
  firewall: FirewallSettings | null;
  localSubnets: readonly string[];
  /** SID -> name, from the bypass list and the directory. */
  names: ReadonlyMap<string, string>;
  /** The domain's NetBIOS-style short name (BIGFIRM), when this host is a member. */
  domain: string | null;
  /** The domain's DNS name (bigfirm.com). */
  domainDns: string | null;
  peerName: string | null;
  /** This host's machine account (CLIENT2$), when it is a domain member. */
  self: string | null;
}

const sameIp = (a: string, b: string) => {
  const x = parseIp(a);
  const y = parseIp(b);
  return x !== null && y !== null && x.family === y.family && x.value === y.value;
};

/** `XPCLIENT$@BIGFIRM.COM` -> `XPCLIENT$`. */
export function accountOf(principal: string): string {
  return principal.split("@")[0] ?? principal;
}

export function buildTrace(input: TraceInput): Trace {
  const inbound = input.me.some((a) => sameIp(a, input.flow.dst));
  return inbound ? inboundTrace(input) : outboundTrace(input);
}

function policyStepOf(input: TraceInput, inbound: boolean): TraceStep {
  const p = input.policy;
  const e = p.explanation;
  const store =
    p.source === "domain"
      ? `Group Policy "${p.gpo}"`
      : p.source === "persistent"
        ? "the persistent store"
        : p.source === "dynamic"
          ? "the dynamic policy (ipseccmd)"
          : "the local store";
  if (e.action === "none") {
    const dr = p.defaultResponse;
    const response =
      inbound && dr?.active
        ? `; the default response rule answers a peer that asks to negotiate (${dr.auth.join(", ") || "no methods"})`
        : "";
    return {
      step: "policy",
      verdict: "none",
      source: e.policy === null ? "no IPsec policy assigned" : `policy "${e.policy}" (${store})`,
      detail: `${e.reason}${response}`,
    };
  }
  const f = e.filter;
  const filterText = f
    ? `filter list "${f.filterlist}" filter ${f.filterIndex}${f.direction === "mirrored" ? " (mirror)" : ""}, weight ${f.weight}`
    : "";
  return {
    step: "policy",
    verdict: e.action,
    source: `rule "${e.rule}" ${filterText} of policy "${e.policy}" (${store})`,
    detail: `filter action "${e.filteraction}"${e.action === "negotiate" ? ` with ${p.auth.join(", ") || "no methods"}` : ""}: ${e.reason}`,
  };
}

/** The peer's SA: the admitted one when several are up, else the newest. */
function liveSa(
  agent: AgentView,
  peer: string,
): { sa: MmSaView; entry: BypassEntry | null } | null {
  if (!agent.running) return null;
  const sas = agent.sas.filter((s) => s.state === "established" && sameIp(s.remote, peer));
  if (sas.length === 0) return null;
  const entryOf = (s: MmSaView) => agent.bypass.find((b) => b.spis === s.spis) ?? null;
  const admitted = sas.find((s) => entryOf(s)?.authorizedBy != null);
  const sa = admitted ?? sas[sas.length - 1];
  if (sa === undefined) return null;
  return { sa, entry: entryOf(sa) };
}

function saStep(agent: AgentView, live: ReturnType<typeof liveSa>, needed: boolean): TraceStep {
  if (!agent.running)
    return { step: "sa", verdict: "unknown", source: "the agent", detail: agent.why };
  if (live === null)
    return {
      step: "sa",
      verdict: "none",
      source: "the agent's IKE SAs (mmsas)",
      detail: needed
        ? "no IKE SA with this peer: nothing has authenticated it"
        : "no IKE SA with this peer (the policy does not ask for one)",
    };
  const { sa } = live;
  const who = sa.identity?.principal ?? sa.peerId ?? "an unnamed peer";
  return {
    step: "sa",
    verdict: "established",
    source: `IKE SA ${sa.spis} (${sa.initiator ? "this host started it" : "the peer started it"})`,
    detail: `${who} authenticated by ${sa.auth}${sa.ageSec === null ? "" : `, up ${sa.ageSec} s`}, ${sa.childSas} child SA(s)`,
  };
}

function identityOf(input: TraceInput, sa: MmSaView | undefined): Trace["identity"] {
  const id = sa?.identity;
  if (!id) return null;
  const sids = [id.userSid, ...(id.groupSids ?? [])].filter((s): s is string => s !== undefined);
  return {
    principal: id.principal,
    method: id.method,
    sids: sids.map((sid) => ({ sid, name: input.names.get(sid) ?? null })),
  };
}

function groupsStep(
  live: ReturnType<typeof liveSa>,
  identity: Trace["identity"],
  agent: AgentView,
): TraceStep {
  const source = "the agent's IKE SAs (mmsas)";
  if (!agent.running)
    return { step: "groups", verdict: "unknown", source, detail: "no agent: no SA to read" };
  if (live === null || identity === null)
    return { step: "groups", verdict: "none", source, detail: "no authenticated peer" };
  if (identity.method !== "kerberos" || identity.sids.length === 0)
    return {
      step: "groups",
      verdict: "none",
      source: `IKE SA ${live.sa.spis}`,
      detail: `authenticated by ${identity.method}: no verified group SIDs`,
    };
  if (live.sa.initiator)
    return {
      step: "groups",
      verdict: "none",
      source: `IKE SA ${live.sa.spis}`,
      detail: `this host started the SA: Kerberos proved ${identity.principal}'s name, not its groups`,
    };
  const list = identity.sids.map((s) => (s.name ? `${s.name} (${s.sid})` : s.sid)).join(", ");
  return {
    step: "groups",
    verdict: "verified",
    source: `the PAC of ${identity.principal}'s ticket, verified by the agent`,
    detail: list,
  };
}

/** The bypass entry that would admit the peer: its own SID if listed, else the first group. */
function nearestEntry(settings: FirewallSettings, identity: Trace["identity"]) {
  const own = identity?.sids[0]?.sid;
  return (
    settings.bypass.find((b) => own !== undefined && b.sid.toUpperCase() === own.toUpperCase()) ??
    settings.bypass.find((b) => !b.name?.endsWith("$")) ??
    settings.bypass[0] ??
    null
  );
}

function entryName(b: { sid: string; name?: string }, names: ReadonlyMap<string, string>): string {
  return b.name ?? names.get(b.sid) ?? b.sid;
}

function openingCovers(
  o: PortOpening,
  src: string,
  protocol: string,
  dport: number | null,
  localSubnets: readonly string[],
): boolean {
  if (!o.enabled) return false;
  if (dport !== null && o.port !== dport) return false;
  if (o.protocol !== "all" && o.protocol !== protocol) return false;
  const ip = parseIp(src);
  const ivs = scopeIntervals(o.scope, o.addresses, localSubnets);
  return ivs === null || (ip !== null && inIntervals(ip, ivs));
}

function openingText(o: PortOpening): string {
  const scope = o.scope === "custom" ? `CUSTOM ${o.addresses.join(",")}` : o.scope.toUpperCase();
  return `port opening ${o.protocol.toUpperCase()} ${o.port} "${o.name}" (scope ${scope})`;
}

interface Build {
  steps: TraceStep[];
  verdict: Trace["verdict"];
  decidedBy: StepName;
  flip: Flip | null;
}

function inboundTrace(input: TraceInput): Trace {
  const { flow, policy, agent, firewall, names } = input;
  const peer = flow.src;
  const domain = input.domain ? `${input.domain}\\` : "";
  const action = policy.explanation.action;
  const steps: TraceStep[] = [policyStepOf(input, true)];
  const live = liveSa(agent, peer);
  steps.push(saStep(agent, live, action === "negotiate"));
  const identity = identityOf(input, live?.sa);
  // where "purge its tickets" runs: the host the peer's machine account names
  const peerHost =
    input.peerName ??
    (identity ? accountOf(identity.principal).replace(/\$$/, "").toLowerCase() : peer);
  steps.push(groupsStep(live, identity, agent));

  // 4. bypass
  const admitted = live?.entry?.authorizedBy ?? null;
  const nearest = firewall ? nearestEntry(firewall, identity) : null;
  if (firewall === null || firewall.bypass.length === 0) {
    steps.push({
      step: "bypass",
      verdict: "not-admitted",
      source: firewall === null ? "no firewall settings" : "the firewall's bypass list",
      detail: firewall === null ? "no firewall settings on this host" : "the bypass list is empty",
    });
  } else if (admitted !== null) {
    const e = firewall.bypass.find((b) => b.sid.toUpperCase() === admitted.toUpperCase());
    steps.push({
      step: "bypass",
      verdict: "admitted",
      source: `bypass list entry ${e ? entryName(e, names) : admitted} (${admitted})`,
      detail: live?.entry?.why ?? "",
    });
  } else {
    const near = nearest ? `${entryName(nearest, names)} (${nearest.sid})` : "none";
    steps.push({
      step: "bypass",
      verdict: "not-admitted",
      source: `the firewall's bypass list; nearest entry ${near}`,
      detail:
        live?.entry?.why ??
        (live === null
          ? `no SA to decide on: a peer is admitted only by a Kerberos SA whose PAC holds a SID of the list (${near})`
          : "the SA has no bypass decision"),
    });
  }

  const b = decideInbound();
  return {
    schema: TRACE_SCHEMA,
    direction: "inbound",
    flow,
    peer: { address: peer, name: input.peerName },
    steps: b.steps,
    verdict: b.verdict,
    decidedBy: b.decidedBy,
    flip: b.flip,
    identity,
  };

  function decideInbound(): Build {
    const proto = protocolName(flow.protocol);
    const dport = input.peerMode || flow.dstPort === 0 ? null : flow.dstPort;
    const openCmd = (p: string, port: number) => ({
      host: "this host",
      command: `postern netsh firewall add portopening protocol=${p.toUpperCase()} port=${port} name="explain ${peer}" scope=CUSTOM addresses=${peer}`,
    });
    const groupFlip = (): Flip | null => {
      if (nearest === null || identity === null) return null;
      const group = entryName(nearest, names);
      const account = accountOf(identity.principal);
      if (nearest.sid.toUpperCase() === identity.sids[0]?.sid.toUpperCase()) return null;
      return {
        change: `add ${account} to ${domain}${group}, then purge its tickets`,
        commands: [
          {
            host: "a domain controller",
            command: `postern net group ${group} ${account} /add /domain`,
          },
          { host: peerHost, command: "postern klist --machine purge" },
        ],
      };
    };

    /** The admitted peer's way out: leave the group (or the list) that admitted it. */
    const bypassFlip = (): Flip | null => {
      if (identity === null || admitted === null || firewall === null) return null;
      const e = firewall.bypass.find((b) => b.sid.toUpperCase() === admitted.toUpperCase());
      const group = e ? entryName(e, names) : admitted;
      const account = accountOf(identity.principal);
      if (admitted.toUpperCase() === identity.sids[0]?.sid.toUpperCase())
        return {
          change: `delete ${account} from the bypass list`,
          commands: [
            { host: "this host", command: `postern netsh firewall delete bypass name=${account}` },
          ],
        };
      return {
        change: `remove ${account} from ${domain}${group}, then purge its tickets`,
        commands: [
          {
            host: "a domain controller",
            command: `postern net group ${group} ${account} /delete /domain`,
          },
          { host: peerHost, command: "postern klist --machine purge" },
        ],
      };
    };

    if (action === "block") {
      return {
        steps,
        verdict: "blocked",
        decidedBy: "policy",
        flip: {
          change: `rule "${policy.explanation.rule}" blocks this flow: change its filter action "${policy.explanation.filteraction}" to permit or negotiate`,
          commands: [
            {
              host: "this host",
              command: `postern netsh ipsec static set filteraction name="${policy.explanation.filteraction}" action=negotiate`,
            },
          ],
        },
      };
    }
    // 5. guard: cleartext of a negotiate flow without inpass never reaches the firewall
    const protectedClear = action === "negotiate" && live === null;
    const inpass = policy.filterAction?.inpass ?? false;
    if (protectedClear && !inpass) {
      steps.push({
        step: "guard",
        verdict: "drop",
        source: `chain ipsec_in (rule "${policy.explanation.rule}", negotiate without inpass)`,
        detail: `cleartext from ${peer} is dropped: this flow must arrive inside an SA`,
      });
      const kerberos = policy.auth.includes("kerberos");
      const group = nearest ? entryName(nearest, names) : null;
      return {
        steps,
        verdict: "blocked",
        decidedBy: "guard",
        flip: {
          change: kerberos
            ? `give ${peerHost} a Kerberos identity in the domain (join it)${group ? ` and put its account in ${domain}${group}` : ""}, so its IKE SA authenticates${group ? " and the bypass admits it" : ""}`
            : `give ${peerHost} credentials for rule "${policy.explanation.rule}" (${policy.auth.join(", ")})`,
          commands: kerberos
            ? [
                {
                  host: peerHost,
                  command: `postern join --domain ${input.domainDns ?? "DOMAIN"} --dc DC --name NAME --token TOKEN`,
                },
                ...(group
                  ? [
                      {
                        host: "a domain controller",
                        command: `postern net group ${group} ${input.peerName ? `${input.peerName.toUpperCase()}$` : "NAME$"} /add /domain`,
                      },
                    ]
                  : []),
              ]
            : [],
        },
      };
    }
    steps.push({
      step: "guard",
      verdict: "pass",
      source: "chain ipsec_in",
      detail:
        live !== null
          ? "the packet arrives inside an SA (postern0 or postern-bp)"
          : protectedClear
            ? `cleartext accepted: filter action "${policy.explanation.filteraction}" has inpass`
            : "the policy does not ask for protection",
    });

    // 6. firewall
    const iface = admitted !== null ? BYPASS_DEVICE : live !== null ? TUN_DEVICE : "eth0";
    if (firewall === null) {
      steps.push({
        step: "firewall",
        verdict: "accept",
        source: "no firewall settings",
        detail: "this host has no postern firewall settings: nothing filters inbound",
      });
      return { steps, verdict: "allowed", decidedBy: "firewall", flip: null };
    }
    const profile = firewall.profiles[firewall.currentProfile];
    const fwSource = (what: string) => `firewall (${firewall.currentProfile} profile): ${what}`;
    if (input.peerMode || flow.protocol === 0) {
      return peerFirewall(profile, iface);
    }
    const family = parseIp(peer)?.family ?? 4;
    const protoWord = proto === "tcp" || proto === "udp" || proto === "icmp" ? proto : null;
    if (protoWord === null) {
      steps.push({
        step: "firewall",
        verdict: iface === BYPASS_DEVICE || !profile.enabled ? "accept" : "drop",
        source: fwSource(iface === BYPASS_DEVICE ? `bypass device ${BYPASS_DEVICE}` : "default"),
        detail: `protocol ${proto} has no exceptions`,
      });
    } else {
      const pkt: InboundPacket = {
        family,
        protocol: protoWord,
        src: peer,
        iface,
        ...(protoWord === "icmp" ? { icmpType: family === 4 ? 8 : 128 } : { dport: flow.dstPort }),
      };
      const d = evaluateInbound(firewall, pkt, { localSubnets: input.localSubnets });
      const opening = profile.portOpenings.find((o) =>
        openingCovers(o, peer, protoWord, flow.dstPort, input.localSubnets),
      );
      const what: Record<typeof d.reason, string> = {
        "firewall-off": "the firewall is off",
        loopback: "loopback",
        established: "a connection this host started",
        ipsec: "IKE and ESP go to the agent",
        bypass: `bypass device ${BYPASS_DEVICE} (the admitted SA's packets)`,
        "icmp-setting": "an inbound ICMP setting",
        "neighbour-discovery": "IPv6 neighbour discovery",
        "port-opening": opening ? openingText(opening) : "a port opening",
        "default-drop": profile.exceptions
          ? `no exception for ${proto.toUpperCase()} ${flow.dstPort || ""} from ${peer}`.replace(
              "  ",
              " ",
            )
          : `"Don't allow exceptions" is set`,
      };
      steps.push({
        step: "firewall",
        verdict: d.verdict,
        source: fwSource(what[d.reason]),
        detail:
          d.verdict === "accept"
            ? `accepted: ${what[d.reason]}`
            : `dropped (and logged in pfirewall.log when logging drops): ${what[d.reason]}`,
      });
      if (d.verdict === "accept") {
        let flip: Flip | null = null;
        if (d.reason === "bypass") {
          flip = bypassFlip();
        } else if (d.reason === "port-opening" && opening) {
          flip = {
            change: `delete the ${openingText(opening)}`,
            commands: [
              {
                host: "this host",
                command: `postern netsh firewall delete portopening protocol=${opening.protocol.toUpperCase()} port=${opening.port}`,
              },
            ],
          };
        } else if (d.reason === "firewall-off") {
          flip = {
            change: "turn the firewall on",
            commands: [{ host: "this host", command: "postern netsh firewall set opmode enable" }],
          };
        }
        return { steps, verdict: "allowed", decidedBy: "firewall", flip };
      }
      const viaGroup = live !== null && identity?.method === "kerberos" && !live.sa.initiator;
      const g = viaGroup ? groupFlip() : null;
      const flip =
        g ??
        (dport !== null && protoWord !== "icmp"
          ? {
              change: `open ${proto.toUpperCase()} ${dport} to ${peer}`,
              commands: [openCmd(protoWord, dport)],
            }
          : null);
      return { steps, verdict: "blocked", decidedBy: "firewall", flip };
    }
    return {
      steps,
      verdict: steps[steps.length - 1]?.verdict === "accept" ? "allowed" : "blocked",
      decidedBy: "firewall",
      flip: null,
    };

    /** `--peer`: what of this host the peer reaches, any protocol and port. */
    function peerFirewall(profile: FirewallSettings["profiles"]["domain"], iface: string): Build {
      const source = `firewall (${firewall?.currentProfile} profile)`;
      if (!profile.enabled || iface === BYPASS_DEVICE) {
        steps.push({
          step: "firewall",
          verdict: "accept",
          source: `${source}: ${profile.enabled ? `bypass device ${BYPASS_DEVICE}` : "the firewall is off"}`,
          detail: "every port of this host",
        });
        const flip = profile.enabled
          ? bypassFlip()
          : {
              change: "turn the firewall on",
              commands: [
                { host: "this host", command: "postern netsh firewall set opmode enable" },
              ],
            };
        return { steps, verdict: "allowed", decidedBy: "firewall", flip };
      }
      const open = profile.exceptions
        ? profile.portOpenings.filter((o) =>
            openingCovers(o, peer, o.protocol === "udp" ? "udp" : "tcp", null, input.localSubnets),
          )
        : [];
      steps.push({
        step: "firewall",
        verdict: open.length > 0 ? "accept" : "drop",
        source: `${source}: ${open.length > 0 ? open.map(openingText).join("; ") : "no exception covers it"}`,
        detail:
          open.length > 0
            ? `only ${open.map((o) => `${o.protocol.toUpperCase()} ${o.port}`).join(", ")}`
            : `nothing: no exception covers ${peer}`,
      });
      const viaGroup = live !== null && identity?.method === "kerberos" && !live.sa.initiator;
      return {
        steps,
        verdict: open.length > 0 ? "allowed" : "blocked",
        decidedBy: "firewall",
        flip: viaGroup ? groupFlip() : null,
      };
    }
  }
}

function outboundTrace(input: TraceInput): Trace {
  const { flow, policy, agent } = input;
  const peer = flow.dst;
  const action = policy.explanation.action;
  const steps: TraceStep[] = [policyStepOf(input, false)];
  const live = liveSa(agent, peer);
  steps.push(saStep(agent, live, action === "negotiate"));
  const identity = identityOf(input, live?.sa);
  const base = {
    schema: TRACE_SCHEMA,
    direction: "outbound" as const,
    flow,
    peer: { address: peer, name: input.peerName },
    identity,
  };
  if (action === "block")
    return {
      ...base,
      steps,
      verdict: "blocked",
      decidedBy: "policy",
      flip: {
        change: `rule "${policy.explanation.rule}" blocks this flow: change its filter action "${policy.explanation.filteraction}" to permit or negotiate`,
        commands: [],
      },
    };
  let fw: TraceStep = {
    step: "firewall",
    verdict: "accept",
    source: "firewall: chain output (policy accept)",
    detail: "the firewall filters what arrives; it lets this host's own packets out",
  };
  if (input.firewall !== null && flow.protocol === 1) {
    const d = evaluateOutboundIcmp(input.firewall, parseIp(peer)?.family ?? 4, 3);
    if (d.verdict === "drop")
      fw = {
        ...fw,
        detail: `${fw.detail}; ICMP errors (destination unreachable) are dropped unless an outbound ICMP setting allows them`,
      };
  }
  steps.push(fw);
  const pending = action === "negotiate" && live === null;
  steps.push({
    step: "steering",
    verdict: action === "negotiate" ? (pending ? "acquire" : "secured") : "clear",
    source: "chain spd_out",
    detail:
      action === "negotiate"
        ? pending
          ? `the first packet starts IKE with ${peer} (${policy.auth.join(", ")}); it leaves only inside an SA`
          : `sealed in the SA with ${peer}; whether ${peer} admits it is its own decision (postern explain there)`
        : "sent in clear",
  });
  // the peer told us, inside the SA, that it does not admit us (POSTERN_NOT_ADMITTED)
  const refusal = live?.sa.refusal ?? null;
  if (refusal) {
    const group = refusal.group;
    const domain = input.domain ? `${input.domain}\\` : "";
    const me = input.self ?? "this host's account";
    steps.push({
      step: "peer",
      verdict: "refused",
      source: `POSTERN_NOT_ADMITTED from ${peer} in IKE SA ${live?.sa.spis} (${refusal.at})`,
      detail: `${peer} authenticated us but does not admit us: ${refusal.reason}${group ? ` (it requires ${group})` : " (it does not disclose the group)"}`,
    });
    const flip: Flip | null =
      refusal.reason === "not-in-bypass-list"
        ? {
            change: group
              ? `add ${me} to ${domain}${group}, then purge this host's tickets`
              : `ask ${peer}'s administrator which group its bypass requires, add ${me} to it, then purge this host's tickets`,
            commands: [
              ...(group
                ? [
                    {
                      host: "a domain controller",
                      command: `postern net group ${group} ${me} /add /domain`,
                    },
                  ]
                : []),
              { host: "this host", command: "postern klist --machine purge" },
            ],
          }
        : refusal.reason === "revoked"
          ? {
              // the peer watches the directory (immediate revocation): no purge needed
              // unless our account was disabled or its keys reset (then a new ticket is)
              change: group
                ? `put ${me} back in ${domain}${group} (or enable it); ${peer} watches the directory and admits the next SA`
                : `ask ${peer}'s administrator why ${me} was revoked (group, disabled account or keys reset)`,
              commands: group
                ? [
                    {
                      host: "a domain controller",
                      command: `postern net group ${group} ${me} /add /domain`,
                    },
                  ]
                : [],
            }
          : null;
    return { ...base, steps, verdict: "blocked", decidedBy: "peer", flip };
  }
  return { ...base, steps, verdict: "allowed", decidedBy: "policy", flip: null };
}
