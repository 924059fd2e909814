/**
 * Filter expansion: a policy's filters become concrete filter instances, as the policy agent
 * does when it applies a policy.
 *
 * 1. only active rules of the chosen policy count, in the policy's order;
 * 2. each filter yields the filter as written and, when mirrored, its mirror (source and
 *    destination swapped, addresses and ports);
 * 3. each side becomes one or more address sides: `any`; `me` = each address of this host;
 *    a subnet (the mask applied to the address) or a range; a DNS name = each address it
 *    resolved to at apply time (a host each); a server type = each server of that type,
 *    and then the other side is `me`;
 * 4. the cross product of the two sides, keeping pairs of one family (`any` pairs with both);
 * 5. each instance gets its weight (weights.ts) and a rank: weight descending, then block /
 *    permit / negotiate, rule order, filter order, as-written before mirrored.
 *
 * Pure: DNS answers and server addresses are passed in.
 */
import { type IpAddr, parseIp, prefixMask } from "./ip.js";
import type {
  AddressSpec,
  Filter,
  FilterAction,
  FilterActionKind,
  FilterList,
  Policy,
  PolicyStore,
  Rule,
  ServerType,
} from "./model.js";
import {
  ACTION_PRECEDENCE,
  familyWidth,
  type Side,
  type WeightParts,
  weightFromParts,
  weightParts,
} from "./weights.js";
import { assertNever } from "../errors.js";

export type Direction = "as-written" | "mirrored";

/** Addresses of the host's servers by type (DNS, WINS, DHCP, default gateway). */
export interface ServerAddresses {
  dns: string[];
  wins: string[];
  dhcp: string[];
  gateway: string[];
}

export interface ExpandContext {
  /** The host's own addresses (`me`). */
  hostAddresses: readonly string[];
  /** DNS answers, resolved at apply time: name -> addresses (empty when it did not resolve). */
  resolve: (name: string) => readonly string[];
  servers: ServerAddresses;
}

/** One concrete filter: what the SPD matches packets against. */
export interface FilterInstance {
  /** 0 = the most specific; the winner is the matching instance with the lowest rank. */
  rank: number;
  ruleIndex: number;
  /** 0-based position of the filter in its list. */
  filterIndex: number;
  direction: Direction;
  src: Side;
  dst: Side;
  protocol: number;
  srcPort: number;
  dstPort: number;
  weight: number;
  parts: WeightParts;
  action: FilterActionKind;
  rule: Rule;
  filterList: FilterList;
  filterAction: FilterAction;
  filter: Filter;
}

export interface Expansion {
  instances: FilterInstance[];
  /** Why some filters or rules produced nothing (unresolved names, dangling references). */
  notes: string[];
}

export const EMPTY_SERVERS: ServerAddresses = { dns: [], wins: [], dhcp: [], gateway: [] };

function hostSide(a: IpAddr): Side {
  return { kind: "range", family: a.family, lo: a.value, hi: a.value };
}

/** Literal addresses to host sides, dropping duplicates and what does not parse. */
function hostSides(addresses: readonly string[]): Side[] {
  const seen = new Set<string>();
  const out: Side[] = [];
  for (const text of addresses) {
    const a = parseIp(text);
    if (!a) continue;
    const key = `${a.family}/${a.value}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(hostSide(a));
  }
  return out;
}

/** The address sides one AddressSpec stands for. */
export function expandSpec(spec: AddressSpec, ctx: ExpandContext): Side[] {
  switch (spec.kind) {
    case "any":
      return [{ kind: "any" }];
    case "me":
      return hostSides(ctx.hostAddresses);
    case "subnet": {
      const a = parseIp(spec.address);
      if (!a) return [];
      const width = familyWidth(a.family);
      const prefix = Math.max(0, Math.min(width, spec.prefix));
      const mask = prefixMask(prefix, a.family);
      const lo = a.value & mask;
      const hi = lo | (((1n << BigInt(width)) - 1n) ^ mask);
      return [{ kind: "range", family: a.family, lo, hi }];
    }
    case "range": {
      const a = parseIp(spec.from);
      const b = parseIp(spec.to);
      if (!a || !b || a.family !== b.family) return [];
      const [lo, hi] = a.value <= b.value ? [a.value, b.value] : [b.value, a.value];
      return [{ kind: "range", family: a.family, lo, hi }];
    }
    case "dns":
      return hostSides(ctx.resolve(spec.name));
    case "server":
      return hostSides(ctx.servers[spec.server]);
    default:
      return assertNever(spec, "spec kind");
  }
}

/** "any", "me", "10.0.0.0/24", "10.0.0.1-10.0.0.9", "dns:www.example", "server:dns". */
export function formatSpec(spec: AddressSpec): string {
  switch (spec.kind) {
    case "any":
    case "me":
      return spec.kind;
    case "subnet":
      return `${spec.address}/${spec.prefix}`;
    case "range":
      return `${spec.from}-${spec.to}`;
    case "dns":
      return `dns:${spec.name}`;
    case "server":
      return `server:${spec.server}`;
    default:
      return assertNever(spec, "spec kind");
  }
}

/** A server type on one side makes the other side `me` (netsh: "and vice-versa"). */
function effectiveSides(f: Filter): { src: AddressSpec; dst: AddressSpec } | null {
  const me: AddressSpec = { kind: "me" };
  if (f.src.kind === "server" && f.dst.kind === "server") return null;
  if (f.src.kind === "server") return { src: f.src, dst: me };
  if (f.dst.kind === "server") return { src: me, dst: f.dst };
  return { src: f.src, dst: f.dst };
}

function sameFamily(a: Side, b: Side): boolean {
  return a.kind === "any" || b.kind === "any" || a.family === b.family;
}

interface RuleParts {
  rule: Rule;
  ruleIndex: number;
  filterList: FilterList;
  filterAction: FilterAction;
}

function expandFilter(
  parts: RuleParts,
  filter: Filter,
  filterIndex: number,
  ctx: ExpandContext,
  notes: string[],
): FilterInstance[] {
  const where = `rule "${parts.rule.name}", filter list "${parts.filterList.name}" filter ${filterIndex + 1}`;
  const sides = effectiveSides(filter);
  if (!sides) {
    notes.push(`${where}: server types on both sides; filter ignored`);
    return [];
  }
  const srcSides = expandSpec(sides.src, ctx);
  const dstSides = expandSpec(sides.dst, ctx);
  for (const [spec, list] of [
    [sides.src, srcSides],
    [sides.dst, dstSides],
  ] as const) {
    if (list.length === 0) notes.push(`${where}: ${formatSpec(spec)} has no address; no filter`);
  }
  const out: FilterInstance[] = [];
  const directions: Direction[] = filter.mirrored ? ["as-written", "mirrored"] : ["as-written"];
  for (const direction of directions) {
    const mirrored = direction === "mirrored";
    for (const s of mirrored ? dstSides : srcSides) {
      for (const d of mirrored ? srcSides : dstSides) {
        if (!sameFamily(s, d)) continue;
        const shape = {
          src: s,
          dst: d,
          protocol: filter.protocol,
          srcPort: mirrored ? filter.dstPort : filter.srcPort,
          dstPort: mirrored ? filter.srcPort : filter.dstPort,
        };
        const p = weightParts(shape);
        out.push({
          rank: -1,
          src: s,
          dst: d,
          protocol: shape.protocol,
          srcPort: shape.srcPort,
          dstPort: shape.dstPort,
          rule: parts.rule,
          ruleIndex: parts.ruleIndex,
          filterList: parts.filterList,
          filterAction: parts.filterAction,
          filterIndex,
          direction,
          parts: p,
          weight: weightFromParts(p),
          action: parts.filterAction.action,
          filter,
        });
      }
    }
  }
  return out;
}

/** The order of the SPD: most specific first, ties as documented in weights.ts. */
export function compareInstances(
  a: Omit<FilterInstance, "rank">,
  b: Omit<FilterInstance, "rank">,
): number {
  return (
    b.weight - a.weight ||
    ACTION_PRECEDENCE[a.action] - ACTION_PRECEDENCE[b.action] ||
    a.ruleIndex - b.ruleIndex ||
    a.filterIndex - b.filterIndex ||
    (a.direction === b.direction ? 0 : a.direction === "as-written" ? -1 : 1)
  );
}

/** Every filter instance of the policy's active rules, ranked. */
export function expandPolicy(store: PolicyStore, policy: Policy, ctx: ExpandContext): Expansion {
  const notes: string[] = [];
  const all: FilterInstance[] = [];
  policy.rules.forEach((rule, ruleIndex) => {
    if (!rule.active) return;
    const filterList = store.filterLists.find((l) => l.guid === rule.filterList);
    const filterAction = store.filterActions.find((a) => a.guid === rule.filterAction);
    if (!filterList || !filterAction) {
      notes.push(`rule "${rule.name}": its filter list or filter action is missing; rule ignored`);
      return;
    }
    const parts = { rule, ruleIndex, filterList, filterAction };
    filterList.filters.forEach((f, i) => {
      all.push(...expandFilter(parts, f, i, ctx, notes));
    });
  });
  // Array.prototype.sort is stable: equal instances keep their expansion (address) order.
  all.sort(compareInstances);
  all.forEach((x, rank) => {
    x.rank = rank;
  });
  return { instances: all, notes };
}

/** Every DNS name the policy's active rules use (to resolve before compiling). */
export function dnsNamesOf(store: PolicyStore, policy: Policy): string[] {
  const names = new Set<string>();
  for (const rule of policy.rules) {
    if (!rule.active) continue;
    const list = store.filterLists.find((l) => l.guid === rule.filterList);
    for (const f of list?.filters ?? []) {
      for (const s of [f.src, f.dst]) if (s.kind === "dns") names.add(s.name);
    }
  }
  return [...names];
}

/** Whether the policy's active rules use a server type (so the shell gathers them). */
export function serverTypesOf(store: PolicyStore, policy: Policy): ServerType[] {
  const types = new Set<ServerType>();
  for (const rule of policy.rules) {
    if (!rule.active) continue;
    const list = store.filterLists.find((l) => l.guid === rule.filterList);
    for (const f of list?.filters ?? []) {
      for (const s of [f.src, f.dst]) if (s.kind === "server") types.add(s.server);
    }
  }
  return [...types];
}
