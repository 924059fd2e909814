/**
 * Property tests: the indexed evaluator (evaluate.ts) against the naive reference
 * (reference.ts) on random policies and packets: IPv4 and IPv6, hosts, masks, ranges,
 * `me`, DNS names, server types, mirrored filters, protocols and ports, inactive rules.
 * Addresses come from small pools so that filters overlap and ties happen often.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { compilePolicy, type Packet, type ServerAddresses } from "../../src/policy/evaluate.js";
import type { AddressSpec, Filter, FilterActionKind, ServerType } from "../../src/policy/model.js";
import { referenceEvaluate } from "../../src/policy/reference.js";
import { makeStore, type RuleSpec } from "./fixtures.js";

const V4 = Array.from({ length: 12 }, (_, i) => `10.0.${i >> 3}.${(i * 37) % 256}`);
const V6 = Array.from(
  { length: 12 },
  (_, i) => `2001:db8::${((i >> 3) * 0x100 + ((i * 37) % 256)).toString(16)}`,
);
const POOL = [...V4, ...V6];
const NAMES = ["a.test", "b.test", "c.test"];
const SERVER_TYPES: ServerType[] = ["dns", "wins", "dhcp", "gateway"];

const addr = fc.constantFrom(...POOL);
const v4 = fc.constantFrom(...V4);
const v6 = fc.constantFrom(...V6);

const subnetSpec: fc.Arbitrary<AddressSpec> = fc.oneof(
  fc
    .record({
      a: v4,
      p: fc.oneof(fc.integer({ min: 20, max: 32 }), fc.integer({ min: 0, max: 32 })),
    })
    .map(({ a, p }): AddressSpec => ({ kind: "subnet", address: a, prefix: p, family: 4 })),
  fc
    .record({
      a: v6,
      p: fc.oneof(fc.integer({ min: 100, max: 128 }), fc.integer({ min: 0, max: 128 })),
    })
    .map(({ a, p }): AddressSpec => ({ kind: "subnet", address: a, prefix: p, family: 6 })),
);

const rangeSpec: fc.Arbitrary<AddressSpec> = fc.oneof(
  fc.tuple(v4, v4).map(([from, to]): AddressSpec => ({ kind: "range", from, to, family: 4 })),
  fc.tuple(v6, v6).map(([from, to]): AddressSpec => ({ kind: "range", from, to, family: 6 })),
);

const plainSpec: fc.Arbitrary<AddressSpec> = fc.oneof(
  { weight: 2, arbitrary: fc.constant<AddressSpec>({ kind: "any" }) },
  { weight: 2, arbitrary: fc.constant<AddressSpec>({ kind: "me" }) },
  { weight: 4, arbitrary: subnetSpec },
  { weight: 2, arbitrary: rangeSpec },
  {
    weight: 1,
    arbitrary: fc.constantFrom(...NAMES).map((name): AddressSpec => ({ kind: "dns", name })),
  },
);

const serverSpec = fc
  .constantFrom(...SERVER_TYPES)
  .map((server): AddressSpec => ({ kind: "server", server }));

const port = fc.oneof(
  { weight: 3, arbitrary: fc.constant(0) },
  { weight: 2, arbitrary: fc.constantFrom(53, 80, 443) },
);
const protocol = fc.constantFrom(0, 0, 1, 6, 17);

const filterArb: fc.Arbitrary<Filter> = fc
  .record({
    src: plainSpec,
    dst: plainSpec,
    server: fc.oneof(
      { weight: 6, arbitrary: fc.constant(null) },
      { weight: 1, arbitrary: fc.tuple(fc.boolean(), serverSpec) },
    ),
    protocol,
    srcPort: port,
    dstPort: port,
    mirrored: fc.boolean(),
  })
  .map(({ src, dst, server, ...rest }) => {
    const sides =
      server === null
        ? { src, dst }
        : server[0]
          ? { src: server[1], dst: { kind: "me" } as AddressSpec }
          : { src: { kind: "me" } as AddressSpec, dst: server[1] };
    return { description: "", ...sides, ...rest };
  });

const ruleArb = (filters: fc.Arbitrary<Filter[]>) =>
  fc.record({
    action: fc.constantFrom<FilterActionKind>("permit", "block", "negotiate"),
    active: fc.oneof(
      { weight: 5, arbitrary: fc.constant(true) },
      { weight: 1, arbitrary: fc.constant(false) },
    ),
    filters,
  });

const addrList = (max: number) => fc.uniqueArray(addr, { maxLength: max });

const worldArb = (filters: fc.Arbitrary<Filter[]>) =>
  fc.record({
    rules: fc.array(ruleArb(filters), { minLength: 1, maxLength: 6 }),
    me: addrList(3),
    dns: fc.record({ "a.test": addrList(2), "b.test": addrList(2), "c.test": addrList(2) }),
    servers: fc.record({
      dns: addrList(2),
      wins: addrList(1),
      dhcp: addrList(1),
      gateway: addrList(1),
    }),
  });

const packetArb: fc.Arbitrary<Packet> = fc
  .record({
    v6: fc.boolean(),
    i: fc.nat(V4.length - 1),
    j: fc.nat(V4.length - 1),
    protocol,
    srcPort: fc.constantFrom(0, 53, 80, 443, 1025),
    dstPort: fc.constantFrom(0, 53, 80, 443, 1025),
  })
  .map(({ v6: six, i, j, ...rest }) => {
    const pool = six ? V6 : V4;
    return { src: pool[i] as string, dst: pool[j] as string, ...rest };
  });

interface World {
  rules: { action: FilterActionKind; active: boolean; filters: Filter[] }[];
  me: string[];
  dns: Record<string, string[]>;
  servers: ServerAddresses;
}

function check(world: World, packets: Packet[]): void {
  const specs: RuleSpec[] = world.rules.map((r, i) => ({ name: `r${i}`, ...r }));
  const store = makeStore([{ name: "P", assigned: true, rules: specs }]);
  const resolve = (n: string) => world.dns[n] ?? [];
  const spd = compilePolicy(store, null, { addresses: world.me }, resolve, world.servers);
  const ctx = { hostAddresses: world.me, resolve, servers: world.servers };
  for (const packet of packets) {
    const ref = referenceEvaluate(store, null, ctx, packet);
    const got = spd.lookup(packet);
    const want = ref.winner;
    assert.equal(got.action, want?.action ?? "none", "action");
    assert.equal(got.rule, want?.rule ?? null, "rule");
    assert.equal(got.weight, want?.weight ?? null, "weight");
    assert.equal(got.filter?.filterIndex ?? null, want ? want.filterIndex + 1 : null, "filter");
    assert.equal(got.filter?.direction ?? null, want?.direction ?? null, "direction");
    const all = spd
      .explain(packet)
      .matches.map((m) => `${m.rule}/${m.filterIndex - 1}/${m.direction}/${m.weight}/${m.action}`);
    const wantAll = ref.matches.map(
      (m) => `${m.rule}/${m.filterIndex}/${m.direction}/${m.weight}/${m.action}`,
    );
    assert.deepEqual(all, wantAll, "explain lists the reference's matches in its order");
  }
}

describe("evaluator against the naive reference model", () => {
  it("agrees on random small policies (IPv4 and IPv6, masks, ranges, me, DNS, servers, mirrors)", () => {
    fc.assert(
      fc.property(
        worldArb(fc.array(filterArb, { minLength: 1, maxLength: 6 })),
        fc.array(packetArb, { minLength: 1, maxLength: 20 }),
        (world, packets) => check(world, packets),
      ),
      { numRuns: 400 },
    );
  });

  it("agrees when a leaf holds many sources (a long step function of the source)", () => {
    // Many filters sharing destination, protocol and port: one leaf of many sources.
    const bulk = fc.array(
      fc.record({ src: plainSpec, mirrored: fc.boolean(), srcPort: port }).map(
        ({ src, mirrored, srcPort }): Filter => ({
          description: "",
          src,
          dst: { kind: "me" },
          protocol: 6,
          srcPort,
          dstPort: 80,
          mirrored,
        }),
      ),
      { minLength: 25, maxLength: 60 },
    );
    fc.assert(
      fc.property(
        worldArb(bulk),
        fc.array(packetArb, { minLength: 1, maxLength: 20 }),
        (world, packets) => {
          const tcp80 = packets.map((p, i) =>
            i % 2 === 0 ? { ...p, protocol: 6, dstPort: 80, dst: world.me[0] ?? p.dst } : p,
          );
          check(world, tcp80);
        },
      ),
      { numRuns: 100 },
    );
  });

  it("agrees that a named policy, not the assigned one, is used when asked", () => {
    fc.assert(
      fc.property(
        fc.array(filterArb, { minLength: 1, maxLength: 5 }),
        fc.array(filterArb, { minLength: 1, maxLength: 5 }),
        addrList(2),
        fc.array(packetArb, { minLength: 1, maxLength: 10 }),
        (fa, fb, me, packets) => {
          const store = makeStore([
            { name: "A", assigned: true, rules: [{ name: "ra", action: "block", filters: fa }] },
            { name: "B", rules: [{ name: "rb", action: "permit", filters: fb }] },
          ]);
          const servers = { dns: [], wins: [], dhcp: [], gateway: [] };
          const spd = compilePolicy(store, "B", { addresses: me }, () => [], servers);
          const ctx = { hostAddresses: me, resolve: () => [], servers };
          for (const p of packets) {
            const ref = referenceEvaluate(store, "B", ctx, p).winner;
            const got = spd.lookup(p);
            assert.equal(got.rule, ref?.rule ?? null);
            assert.notEqual(got.action, "block");
          }
        },
      ),
      { numRuns: 100 },
    );
  });
});
