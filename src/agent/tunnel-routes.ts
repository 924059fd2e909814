/**
 * Routes for tunnel rules, as strongSwan's install_routes: a tunnel rule's remote network
 * usually has no route on this host (it lies behind the peer's gateway), and a packet with
 * no route never reaches the output hook where the steering chain marks it for the TUN.
 * So for every remote prefix of a negotiate tunnel rule the agent adds
 *     ip route add PREFIX dev postern0 src SRC proto 116          (table main)
 * unless the main table already has a route for that prefix or a more specific one inside
 * it (the administrator's route wins, as a longer prefix would anyway). SRC is one of our
 * addresses inside the rule's local side when there is one (so the flow matches the
 * rule's selectors), else the local tunnel endpoint. The routes go in the main table, not
 * the steering table: that one is only consulted for packets already marked, and the mark
 * comes after the first lookup. They carry protocol 116 ("postern") so the agent finds its
 * own: a reload removes those no rule wants any more, a stop removes all, and they vanish
 * with the TUN if the agent dies. IPv4 only, as the steering.
 */
import type { NetConfig } from "../platform/routing.js";

/** The route protocol number marking the agent's routes (`ip route show proto 116`). */
export const ROUTE_PROTO = "116";

export interface TunnelRoute {
  /** `10.2.0.0/24` (a host is `/32`). */
  prefix: string;
  src: string;
}

interface RouteJson {
  dst?: string;
  dev?: string;
  protocol?: string;
  prefsrc?: string;
}

function ipv4(a: string): number | null {
  const p = a.split(".");
  if (p.length !== 4) return null;
  let v = 0;
  for (const x of p) {
    const n = Number(x);
    if (!/^\d{1,3}$/.test(x) || n > 255) return null;
    v = v * 256 + n;
  }
  return v;
}

/** [first, last, length] of `a.b.c.d/n` or `a.b.c.d`; null for anything else. */
function block(prefix: string): [number, number, number] | null {
  const [a, l] = prefix.split("/");
  const lo = ipv4(a ?? "");
  const len = l === undefined ? 32 : Number(l);
  if (lo === null || !Number.isInteger(len) || len < 0 || len > 32) return null;
  const size = 2 ** (32 - len);
  const first = lo - (lo % size);
  return [first, first + size - 1, len];
}

/**
 * The routes one tunnel filter asks for: each IPv4 remote prefix, with the first of our
 * addresses inside the local side's prefixes as source, else the tunnel endpoint.
 */
export function tunnelRoutesOf(
  remote: readonly string[],
  local: readonly string[],
  ours: readonly string[],
  endpoint: string,
): TunnelRoute[] {
  const inLocal = (a: string) => {
    const v = ipv4(a);
    return (
      v !== null &&
      local.some((p) => {
        const b = block(p);
        return b !== null && v >= b[0] && v <= b[1];
      })
    );
  };
  const src = ours.find(inLocal) ?? endpoint;
  return remote.filter((p) => block(p) !== null).map((prefix) => ({ prefix, src }));
}

export interface RoutePlan {
  add: TunnelRoute[];
  /** Our routes no rule wants any more (prefixes). */
  del: string[];
  /** Wanted routes left out, with the route that made us leave them out. */
  skipped: { route: TunnelRoute; because: string }[];
}

/** What to change in the main table (`existing`: `ip -j route show table main`). */
export function planRoutes(
  wanted: readonly TunnelRoute[],
  existing: readonly RouteJson[],
): RoutePlan {
  const norm = (d: string | undefined) => (d === undefined || d.includes("/") ? d : `${d}/32`);
  const ours = existing.filter((r) => r.protocol === ROUTE_PROTO);
  const theirs = existing.filter((r) => r.protocol !== ROUTE_PROTO && r.dst !== "default");
  const plan: RoutePlan = { add: [], del: [], skipped: [] };
  const keep = new Set<string>();
  for (const w of wanted) {
    const b = block(w.prefix);
    if (b === null) continue;
    const inside = theirs.find((r) => {
      const e = block(norm(r.dst) ?? "");
      return e !== null && e[2] >= b[2] && e[0] >= b[0] && e[1] <= b[1];
    });
    if (inside) {
      plan.skipped.push({ route: w, because: `${norm(inside.dst)} dev ${inside.dev ?? "?"}` });
      continue;
    }
    const mine = ours.find((r) => norm(r.dst) === w.prefix && r.prefsrc === w.src);
    keep.add(w.prefix);
    if (!mine) plan.add.push(w);
  }
  for (const r of ours) {
    const d = norm(r.dst);
    if (d !== undefined && !keep.has(d)) plan.del.push(d);
  }
  return plan;
}

/** Brings the main table's tunnel routes to `wanted`; returns lines for the log. */
export function syncTunnelRoutes(
  net: NetConfig,
  dev: string,
  wanted: readonly TunnelRoute[],
): string[] {
  const existing = JSON.parse(net.ipOut(["-j", "-4", "route", "show", "table", "main"]) || "[]");
  const plan = planRoutes(wanted, existing as RouteJson[]);
  const lines: string[] = [];
  for (const d of plan.del) {
    net.ipQuiet(["route", "del", d, "proto", ROUTE_PROTO, "table", "main"]);
    lines.push(`tunnel route ${d} removed (no tunnel rule wants it)`);
  }
  for (const r of plan.add) {
    net.ip([
      "route",
      "replace",
      r.prefix,
      "dev",
      dev,
      "src",
      r.src,
      "proto",
      ROUTE_PROTO,
      "table",
      "main",
    ]);
    lines.push(`tunnel route ${r.prefix} dev ${dev} src ${r.src} installed`);
  }
  for (const s of plan.skipped)
    lines.push(`tunnel route ${s.route.prefix} not installed: the host has ${s.because}`);
  return lines;
}

/** Every route of ours, gone (the agent stops). */
export function removeTunnelRoutes(net: NetConfig): void {
  net.ipQuiet(["-4", "route", "flush", "proto", ROUTE_PROTO, "table", "main"]);
}
