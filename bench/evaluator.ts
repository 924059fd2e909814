/**
 * Policy evaluator benchmark: lookups per second with 10, 100, 1,000 and 10,000 filters, the time
 * to load such a store from disk and to compile it, against two named baselines in the same
 * run:
 *   - reference: the naive reference evaluator (src/policy/reference.ts), every filter of
 *     every rule matched from the stored specs for each packet;
 *   - linear: the compiled filter instances scanned in rank order until the first match
 *     (what the index replaces).
 * Filters are random but realistic (seeded, so every run sees the same policies): mostly
 * any/me/hosts/subnets (IPv4 /16-/32; IPv6 /32, /48, /56, /64, /112, /128), some IPv4
 * ranges, TCP and UDP to well-known ports, half mirrored, 10% IPv6.
 * Loops are bounded in count and in time. Run: node dist/bench/evaluator.js [--smoke]
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { compilePolicy, type Packet, parsePacket } from "../src/policy/evaluate.js";
import { expandPolicy, type FilterInstance } from "../src/policy/expand.js";
import { compareIp, formatIp, type IpAddr, networkOf, parseIp } from "../src/policy/ip.js";
import type { AddressSpec, Filter, FilterActionKind } from "../src/policy/model.js";
import { referenceEvaluate } from "../src/policy/reference.js";
import { instanceMatches, type ParsedPacket } from "../src/policy/spd-index.js";
import { loadLocalStore, saveLocalStore } from "../src/policy/store.js";
import { makeStore, type RuleSpec } from "../test/evaluator/fixtures.js";
import { sized } from "./smoke.js";
import { createRandom, pick } from "../test/helpers/random.js";

const SIZES = sized([10, 100, 1_000, 10_000], [10, 200]);
const FILTERS_PER_LIST = 10;
const ME = ["10.20.0.5", "2001:db8:20::5"];
const PORTS = [22, 25, 53, 80, 88, 123, 135, 389, 443, 445, 500, 3389, 4500, 8080];
const MAX_LOOKUPS = sized(500_000, 2_000);
const MAX_MS = sized(1_000, 50);
/** Rounds per evaluator, interleaved; the best round counts (the machine may be shared). */
const ROUNDS = 3;
const PACKETS = 4096;

function v4(rnd: () => number): string {
  return `10.${Math.floor(rnd() * 64)}.${Math.floor(rnd() * 256)}.${Math.floor(rnd() * 256)}`;
}

function v6(rnd: () => number): string {
  return `2001:db8:${Math.floor(rnd() * 64).toString(16)}::${Math.floor(rnd() * 65536).toString(16)}`;
}

function spec(rnd: () => number, six: boolean, meShare: number): AddressSpec {
  const r = rnd();
  const a = canonical(ip(six ? v6(rnd) : v4(rnd)));
  const family = six ? 6 : 4;
  if (r < meShare) return { kind: "me" };
  if (r < meShare + 0.15) return { kind: "any" };
  if (r < meShare + 0.45) return { kind: "subnet", address: a, prefix: six ? 128 : 32, family };
  if (r < meShare + 0.9 || six) {
    const prefix = six ? pick(rnd, [32, 48, 56, 64, 112]) : 16 + Math.floor(rnd() * 13);
    // The store holds subnets as netsh writes them: the network address, no host bits.
    return { kind: "subnet", address: canonical(networkOf(ip(a), prefix)), prefix, family };
  }
  const b = canonical(ip(six ? v6(rnd) : v4(rnd)));
  const [from, to] = compareIp(ip(a), ip(b)) <= 0 ? [a, b] : [b, a];
  return { kind: "range", from, to, family };
}

function ip(text: string): IpAddr {
  const a = parseIp(text);
  if (!a) throw new Error(`generator made a bad address ${text}`);
  return a;
}

const canonical = formatIp;

function randomFilter(rnd: () => number): Filter {
  const six = rnd() < 0.1;
  const outbound = rnd() < 0.5;
  const protocol = pick(rnd, [6, 6, 6, 17, 17, 1, 0]);
  const ported = protocol === 6 || protocol === 17;
  const service = ported && rnd() < 0.85 ? pick(rnd, PORTS) : 0;
  const peer = spec(rnd, six, 0);
  return {
    description: "",
    src: outbound ? { kind: "me" } : peer,
    dst: outbound ? peer : { kind: "me" },
    protocol,
    srcPort: outbound ? 0 : 0,
    dstPort: service,
    mirrored: rnd() < 0.5,
  };
}

function randomStore(n: number, rnd: () => number) {
  const rules: RuleSpec[] = [];
  for (let i = 0; i < n; i += FILTERS_PER_LIST) {
    const filters: Filter[] = [];
    for (let j = i; j < Math.min(n, i + FILTERS_PER_LIST); j++) filters.push(randomFilter(rnd));
    const action = pick<FilterActionKind>(rnd, ["permit", "block", "negotiate", "negotiate"]);
    rules.push({ name: `rule ${i / FILTERS_PER_LIST + 1}`, action, filters });
  }
  return makeStore([{ name: "Bench", assigned: true, rules }]);
}

function randomPacket(rnd: () => number): Packet {
  const six = rnd() < 0.1;
  const me = six ? (ME[1] as string) : (ME[0] as string);
  const peer = six ? v6(rnd) : v4(rnd);
  const inbound = rnd() < 0.5;
  const protocol = pick(rnd, [6, 6, 17, 1]);
  const ported = protocol === 6 || protocol === 17;
  const service = ported ? pick(rnd, PORTS) : 0;
  const ephemeral = ported ? 1024 + Math.floor(rnd() * 60000) : 0;
  return inbound
    ? { src: peer, dst: me, protocol, srcPort: ephemeral, dstPort: service }
    : { src: me, dst: peer, protocol, srcPort: ephemeral, dstPort: service };
}

/**
 * Runs fn over the packets, bounded by count and time; lookups per second of this process's
 * CPU time (user + system), so that a machine shared with other work slows the wall clock
 * but not the figure.
 */
function rate(packets: readonly Packet[], fn: (p: Packet) => unknown): number {
  const start = performance.now();
  const cpu = process.cpuUsage();
  let n = 0;
  while (n < MAX_LOOKUPS) {
    for (let i = 0; i < 64; i++) fn(packets[(n + i) % packets.length] as Packet);
    n += 64;
    if (performance.now() - start > MAX_MS) break;
  }
  const used = process.cpuUsage(cpu);
  return (n * 1e6) / Math.max(1, used.user + used.system);
}

function linearScan(instances: readonly FilterInstance[]) {
  return (p: Packet) => {
    const q = parsePacket(p) as ParsedPacket;
    for (const x of instances) if (instanceMatches(x, q)) return x;
    return undefined;
  };
}

interface Row {
  filters: number;
  instances: number;
  loadMs: number;
  compileMs: number;
  indexed: number;
  linear: number;
  reference: number;
  matched: number;
}

function measure(n: number, dir: string): Row {
  const rnd = createRandom(0x5eed + n);
  const home = path.join(dir, String(n));
  saveLocalStore(home, randomStore(n, rnd));
  let t = performance.now();
  const store = loadLocalStore(home);
  const loadMs = performance.now() - t;
  t = performance.now();
  const spd = compilePolicy(store, null, { addresses: ME }, () => []);
  const compileMs = performance.now() - t;
  const policy = store.policies[0]!;
  const { instances } = expandPolicy(store, policy, {
    hostAddresses: ME,
    resolve: () => [],
    servers: { dns: [], wins: [], dhcp: [], gateway: [] },
  });
  const packets = Array.from({ length: PACKETS }, () => randomPacket(rnd));
  const ctx = {
    hostAddresses: ME,
    resolve: () => [],
    servers: { dns: [], wins: [], dhcp: [], gateway: [] },
  };
  // Agreement first (not timed): the index must decide as the reference does.
  let matched = 0;
  for (const p of packets.slice(0, 200)) {
    const want = referenceEvaluate(store, null, ctx, p).winner;
    const got = spd.lookup(p);
    if ((want?.rule ?? null) !== got.rule || (want?.weight ?? null) !== got.weight) {
      throw new Error(`disagreement on ${JSON.stringify(p)}`);
    }
    if (got.action !== "none") matched++;
  }
  const linear = linearScan(instances);
  const best = { indexed: 0, linear: 0, reference: 0 };
  for (let round = 0; round < ROUNDS; round++) {
    best.indexed = Math.max(
      best.indexed,
      rate(packets, (p) => spd.lookup(p)),
    );
    best.linear = Math.max(best.linear, rate(packets, linear));
    best.reference = Math.max(
      best.reference,
      rate(packets, (p) => referenceEvaluate(store, null, ctx, p)),
    );
  }
  return { filters: n, instances: spd.size, loadMs, compileMs, ...best, matched: matched / 200 };
}

function fmt(n: number): string {
  return n >= 100 || Number.isInteger(n) ? Math.round(n).toLocaleString("en-US") : n.toFixed(2);
}

function main(): void {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "postern-bench-eval-"));
  try {
    const rows = SIZES.map((n) => measure(n, dir));
    console.log(
      "| filters | instances | load store ms | compile ms | indexed lookups/s | linear lookups/s | reference lookups/s | indexed / linear | indexed / reference | matched |",
    );
    console.log("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for (const r of rows) {
      console.log(
        `| ${fmt(r.filters)} | ${fmt(r.instances)} | ${fmt(r.loadMs)} | ${fmt(r.compileMs)} | ${fmt(r.indexed)} | ${fmt(r.linear)} | ${fmt(r.reference)} | ${fmt(r.indexed / r.linear)}x | ${fmt(r.indexed / r.reference)}x | ${Math.round(r.matched * 100)}% |`,
      );
    }
    const first = rows[0]!;
    const last = rows[rows.length - 1]!;
    const growth = (a: number, b: number) => (a / b).toFixed(1);
    console.log(
      `\nFrom ${fmt(first.filters)} to ${fmt(last.filters)} filters (${last.filters / first.filters}x): cost per lookup grew ${growth(first.indexed, last.indexed)}x indexed, ${growth(first.linear, last.linear)}x linear scan, ${growth(first.reference, last.reference)}x reference.`,
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main();
