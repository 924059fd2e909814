/**
 * The indexed evaluator against the naive reference on large seeded random policies (hundreds
 * to thousands of filters), where the index's structures are deep: nested CIDR blocks from
 * /8 to /32 and /0 to /128, ranges split into many blocks, leaves of many sources (long step
 * functions of the source), `me`, mirrors, protocols and ports. Addresses come from a narrow
 * space so that filters overlap and most packets match several of them. Seeded (xorshift32):
 * a failure names the seed and the packet, and reruns the same.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { compilePolicy, type Packet } from "../../src/policy/evaluate.js";
import { formatIp, networkOf, parseIp } from "../../src/policy/ip.js";
import type { AddressSpec, Filter, FilterActionKind } from "../../src/policy/model.js";
import { referenceEvaluate } from "../../src/policy/reference.js";
import { makeStore, type RuleSpec } from "./fixtures.js";
import { createRandom, pick } from "../helpers/random.js";

const ME = ["10.0.1.5", "2001:db8::105"];
const PORTS = [0, 0, 22, 53, 80, 443];
const SERVERS = { dns: [], wins: [], dhcp: [], gateway: [] };

/** An address in 10.0.0.0/22 or 2001:db8::/118: a narrow space, so filters overlap. */
function address(rnd: () => number, six: boolean): string {
  const n = Math.floor(rnd() * 1024);
  return six ? `2001:db8::${n.toString(16)}` : `10.0.${n >> 8}.${n & 255}`;
}

function spec(rnd: () => number, six: boolean): AddressSpec {
  const r = rnd();
  const family = six ? 6 : 4;
  if (r < 0.15) return { kind: "me" };
  if (r < 0.25) return { kind: "any" };
  const a = parseIp(address(rnd, six));
  if (!a) throw new Error("bad generated address");
  if (r < 0.5) return { kind: "subnet", address: formatIp(a), prefix: six ? 128 : 32, family };
  if (r < 0.8) {
    const prefix = six ? 96 + Math.floor(rnd() * 33) : Math.floor(rnd() * 33);
    return { kind: "subnet", address: formatIp(networkOf(a, prefix)), prefix, family };
  }
  const b = parseIp(address(rnd, six));
  if (!b) throw new Error("bad generated address");
  const [lo, hi] = a.value <= b.value ? [a, b] : [b, a];
  return { kind: "range", from: formatIp(lo), to: formatIp(hi), family };
}

function randomFilter(rnd: () => number): Filter {
  const six = rnd() < 0.25;
  const protocol = pick(rnd, [0, 1, 6, 6, 17]);
  const ported = protocol === 6 || protocol === 17;
  return {
    description: "",
    src: spec(rnd, six),
    dst: spec(rnd, six),
    protocol,
    srcPort: ported && rnd() < 0.2 ? pick(rnd, PORTS) : 0,
    dstPort: ported ? pick(rnd, PORTS) : 0,
    mirrored: rnd() < 0.5,
  };
}

function randomPacket(rnd: () => number): Packet {
  const six = rnd() < 0.25;
  const me = ME[six ? 1 : 0] as string;
  const src = rnd() < 0.4 ? me : address(rnd, six);
  const dst = rnd() < 0.4 ? me : address(rnd, six);
  const protocol = pick(rnd, [1, 6, 6, 17, 47]);
  const ported = protocol === 6 || protocol === 17;
  return {
    src,
    dst,
    protocol,
    srcPort: ported ? pick(rnd, [22, 53, 80, 443, 1024 + Math.floor(rnd() * 100)]) : 0,
    dstPort: ported ? pick(rnd, [22, 53, 80, 443, 8080]) : 0,
  };
}

function check(seed: number, filters: number, packets: number, explainEvery: number): void {
  const rnd = createRandom(seed);
  const rules: RuleSpec[] = [];
  for (let i = 0; i < filters; i += 10) {
    const list = Array.from({ length: Math.min(10, filters - i) }, () => randomFilter(rnd));
    const action = pick<FilterActionKind>(rnd, ["permit", "block", "negotiate"]);
    rules.push({ name: `r${i / 10}`, action, filters: list });
  }
  const store = makeStore([{ name: "P", assigned: true, rules }]);
  const spd = compilePolicy(store, null, { addresses: ME }, () => []);
  const ctx = { hostAddresses: ME, resolve: () => [], servers: SERVERS };
  let matched = 0;
  for (let i = 0; i < packets; i++) {
    const p = randomPacket(rnd);
    const ref = referenceEvaluate(store, null, ctx, p);
    const want = ref.winner;
    const got = spd.lookup(p);
    const at = `seed ${seed}, packet ${JSON.stringify(p)}`;
    assert.equal(got.rule, want?.rule ?? null, `rule: ${at}`);
    assert.equal(got.weight, want?.weight ?? null, `weight: ${at}`);
    assert.equal(got.filter?.filterIndex ?? null, want ? want.filterIndex + 1 : null, at);
    assert.equal(got.filter?.direction ?? null, want?.direction ?? null, `direction: ${at}`);
    if (want) matched++;
    if (i % explainEvery === 0) {
      const all = spd
        .explain(p)
        .matches.map((m) => `${m.rule}/${m.filterIndex - 1}/${m.direction}`);
      const wantAll = ref.matches.map((m) => `${m.rule}/${m.filterIndex}/${m.direction}`);
      assert.deepEqual(all, wantAll, `explain: ${at}`);
    }
  }
  // The generator is only useful if packets are governed by filters (and not all by one).
  assert.ok(matched > packets / 2, `only ${matched} of ${packets} packets matched`);
}

describe("evaluator against the reference on large seeded policies", () => {
  for (const seed of [1, 2, 3]) {
    it(`agrees on 300 filters and 1,000 packets (seed ${seed})`, () => check(seed, 300, 1000, 10));
  }
  it("agrees on 2,000 filters and 300 packets (seed 4)", () => check(4, 2000, 300, 30));
});
