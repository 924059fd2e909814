/**
 * The naive reference evaluator: the specification of evaluate.ts written the slow, obvious
 * way. It walks every filter of every active rule for each packet, matches the stored
 * address specs directly (no expansion into ranges, no index), and keeps the maximum by
 * weight with the same tie-break. Property tests compare the two; the benchmark uses it as
 * the linear baseline. Not used on any packet path.
 */
import { type IpAddr, inSubnet, networkOf, parseIp } from "./ip.js";
import type { AddressSpec, Filter, FilterActionKind, PolicyStore } from "./model.js";
import type { Direction, Packet, ServerAddresses } from "./evaluate.js";
import { ACTION_PRECEDENCE, weightFromParts } from "./weights.js";
import { assertNever } from "../errors.js";

export interface ReferenceMatch {
  ruleIndex: number;
  rule: string;
  filterIndex: number;
  direction: Direction;
  weight: number;
  action: FilterActionKind;
}

export interface ReferenceResult {
  /** The winner, or null when nothing matches (or no policy applies). */
  winner: ReferenceMatch | null;
  /** Every matching (filter, direction), best first. */
  matches: ReferenceMatch[];
}

export interface ReferenceContext {
  hostAddresses: readonly string[];
  resolve: (name: string) => readonly string[];
  servers: ServerAddresses;
}

function width(a: IpAddr): number {
  return a.family === 4 ? 32 : 128;
}

function isOneOf(a: IpAddr, list: readonly string[]): boolean {
  return list.some((s) => {
    const b = parseIp(s);
    return b !== null && b.family === a.family && b.value === a.value;
  });
}

/** Mask bits when `spec` holds address `a`, null when it does not. */
function specBits(spec: AddressSpec, a: IpAddr, ctx: ReferenceContext): number | null {
  switch (spec.kind) {
    case "any":
      return 0;
    case "me":
      return isOneOf(a, ctx.hostAddresses) ? width(a) : null;
    case "dns":
      return isOneOf(a, ctx.resolve(spec.name)) ? width(a) : null;
    case "server":
      return isOneOf(a, ctx.servers[spec.server]) ? width(a) : null;
    case "subnet": {
      const n = parseIp(spec.address);
      if (!n || n.family !== a.family) return null;
      const prefix = Math.max(0, Math.min(width(a), spec.prefix));
      return inSubnet(a, networkOf(n, prefix), prefix) ? prefix : null;
    }
    case "range": {
      const x = parseIp(spec.from);
      const y = parseIp(spec.to);
      if (!x || !y || x.family !== a.family || y.family !== a.family) return null;
      const [lo, hi] = x.value <= y.value ? [x.value, y.value] : [y.value, x.value];
      if (a.value < lo || a.value > hi) return null;
      const span = hi - lo;
      return width(a) - (span === 0n ? 0 : span.toString(2).length);
    }
    default:
      return assertNever(spec, "spec kind");
  }
}

function sidesOf(f: Filter): [AddressSpec, AddressSpec] | null {
  if (f.src.kind === "server" && f.dst.kind === "server") return null;
  if (f.src.kind === "server") return [f.src, { kind: "me" }];
  if (f.dst.kind === "server") return [{ kind: "me" }, f.dst];
  return [f.src, f.dst];
}

function better(a: ReferenceMatch, b: ReferenceMatch): boolean {
  if (a.weight !== b.weight) return a.weight > b.weight;
  if (a.action !== b.action) return ACTION_PRECEDENCE[a.action] < ACTION_PRECEDENCE[b.action];
  if (a.ruleIndex !== b.ruleIndex) return a.ruleIndex < b.ruleIndex;
  if (a.filterIndex !== b.filterIndex) return a.filterIndex < b.filterIndex;
  return a.direction === "as-written" && b.direction === "mirrored";
}

/** The reference decision for one packet under the assigned (null) or named policy. */
export function referenceEvaluate(
  store: PolicyStore,
  guidOrName: string | null,
  ctx: ReferenceContext,
  packet: Packet,
): ReferenceResult {
  const policy =
    guidOrName === null
      ? store.policies.find((p) => p.assigned)
      : store.policies.find((p) => p.guid === guidOrName || p.name === guidOrName);
  const src = parseIp(packet.src);
  const dst = parseIp(packet.dst);
  const matches: ReferenceMatch[] = [];
  if (!policy || !src || !dst || src.family !== dst.family) return { winner: null, matches };
  const sport = packet.srcPort ?? 0;
  const dport = packet.dstPort ?? 0;
  policy.rules.forEach((rule, ruleIndex) => {
    if (!rule.active) return;
    const list = store.filterLists.find((l) => l.guid === rule.filterList);
    const action = store.filterActions.find((a) => a.guid === rule.filterAction);
    if (!list || !action) return;
    list.filters.forEach((f, filterIndex) => {
      const sides = sidesOf(f);
      if (!sides) return;
      if (f.protocol !== 0 && f.protocol !== packet.protocol) return;
      const tries: [Direction, AddressSpec, AddressSpec, number, number][] = [
        ["as-written", sides[0], sides[1], f.srcPort, f.dstPort],
      ];
      if (f.mirrored) tries.push(["mirrored", sides[1], sides[0], f.dstPort, f.srcPort]);
      for (const [direction, s, d, fsport, fdport] of tries) {
        if (fsport !== 0 && fsport !== sport) continue;
        if (fdport !== 0 && fdport !== dport) continue;
        const srcBits = specBits(s, src, ctx);
        const dstBits = specBits(d, dst, ctx);
        if (srcBits === null || dstBits === null) continue;
        const weight = weightFromParts({
          srcBits,
          dstBits,
          protocol: f.protocol,
          srcPort: fsport,
          dstPort: fdport,
        });
        matches.push({
          ruleIndex,
          rule: rule.name,
          filterIndex,
          direction,
          weight,
          action: action.action,
        });
      }
    });
  });
  let winner: ReferenceMatch | null = null;
  for (const m of matches) if (!winner || better(m, winner)) winner = m;
  matches.sort((a, b) => (better(a, b) ? -1 : better(b, a) ? 1 : 0));
  return { winner, matches };
}
