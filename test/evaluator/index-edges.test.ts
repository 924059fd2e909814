/**
 * The index at the edges of its numbers, against the naive reference: addresses at the ends
 * of each family (0.0.0.0, 255.255.255.255, ::, ffff:...:ffff) and across 2^31 (the IPv4
 * boundaries are kept as int32 bits), ports at and above 32768 (the service key packs the
 * destination port into the top half of an int32), protocol 255, `any` everywhere. Seeded:
 * a failure names the seed and the packet. Also the IPv6 parse into words that the lookup
 * uses, against the long way.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { compilePolicy, type Packet } from "../../src/policy/evaluate.js";
import { parseIp6Words } from "../../src/policy/ip.js";
import type { AddressSpec, Filter, FilterActionKind } from "../../src/policy/model.js";
import { referenceEvaluate } from "../../src/policy/reference.js";
import { createRandom, pick } from "../helpers/random.js";
import { any, host, makeStore, type RuleSpec, range, subnet } from "./fixtures.js";

const ME = ["10.0.0.1", "2001:db8::1"];

const SPECS4: AddressSpec[] = [
  subnet("0.0.0.0", 0),
  subnet("128.0.0.0", 1),
  subnet("255.255.255.0", 24),
  host("255.255.255.255"),
  host("0.0.0.0"),
  host("128.0.0.0"),
  range("0.0.0.0", "0.0.0.5"),
  range("127.255.255.255", "128.0.0.1"),
  range("255.255.254.255", "255.255.255.255"),
];
const SPECS6: AddressSpec[] = [
  subnet("::", 0),
  subnet("8000::", 1),
  subnet("ffff::", 16),
  host("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"),
  host("::"),
  range("::", "::5"),
  range("7fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "8000::1"),
];
const ADDRS4 = [
  "0.0.0.0",
  "0.0.0.5",
  "0.0.0.6",
  "127.255.255.255",
  "128.0.0.0",
  "128.0.0.1",
  "128.0.0.2",
  "255.255.254.255",
  "255.255.255.0",
  "255.255.255.255",
];
const ADDRS6 = [
  "::",
  "::5",
  "::6",
  "7fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
  "8000::",
  "8000::2",
  "ffff::",
  "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
];
const PORTS = [0, 1, 32767, 32768, 65535];
const PROTOCOLS = [0, 6, 17, 255];

function randomFilter(rnd: () => number): Filter {
  const specs = rnd() < 0.5 ? SPECS4 : SPECS6;
  const side = () => (rnd() < 0.2 ? any : pick(rnd, specs));
  return {
    description: "",
    src: side(),
    dst: side(),
    protocol: pick(rnd, PROTOCOLS),
    srcPort: pick(rnd, PORTS),
    dstPort: pick(rnd, PORTS),
    mirrored: rnd() < 0.5,
  };
}

function check(seed: number): void {
  const rnd = createRandom(seed);
  const rules: RuleSpec[] = Array.from({ length: 12 }, (_, i) => ({
    name: `r${i}`,
    action: pick<FilterActionKind>(rnd, ["permit", "block", "negotiate"]),
    filters: Array.from({ length: 5 }, () => randomFilter(rnd)),
  }));
  const store = makeStore([{ name: "P", assigned: true, rules }]);
  const spd = compilePolicy(store, null, { addresses: ME }, () => []);
  const ctx = {
    hostAddresses: ME,
    resolve: () => [],
    servers: { dns: [], wins: [], dhcp: [], gateway: [] },
  };
  let matched = 0;
  for (let i = 0; i < 2000; i++) {
    const addrs = rnd() < 0.5 ? ADDRS4 : ADDRS6;
    const p: Packet = {
      src: pick(rnd, addrs),
      dst: pick(rnd, addrs),
      protocol: pick(rnd, PROTOCOLS),
      srcPort: pick(rnd, PORTS),
      dstPort: pick(rnd, PORTS),
    };
    const want = referenceEvaluate(store, null, ctx, p).winner;
    const got = spd.lookup(p);
    const at = `seed ${seed}, packet ${JSON.stringify(p)}`;
    assert.equal(got.rule, want?.rule ?? null, `rule: ${at}`);
    assert.equal(got.filter?.filterIndex ?? null, want ? want.filterIndex + 1 : null, at);
    assert.equal(got.filter?.direction ?? null, want?.direction ?? null, `direction: ${at}`);
    if (want) matched++;
  }
  assert.ok(matched > 200, `only ${matched} of 2000 packets matched (seed ${seed})`);
}

describe("the index at the ends of addresses, ports and protocols", () => {
  for (const seed of [11, 12, 13, 14]) {
    it(`agrees with the reference on 60 edge filters and 2,000 packets (seed ${seed})`, () =>
      check(seed));
  }
});

/** The words of an IPv6 literal without IPv4 tail or zone, the long way (split and pad). */
function naiveWords(text: string): number[] {
  const [head, tail] = text.includes("::") ? text.split("::") : [text, undefined];
  const h = head ? head.split(":") : [];
  const t = tail ? tail.split(":") : [];
  const groups = [...h, ...Array<string>(8 - h.length - t.length).fill("0"), ...t].map((g) =>
    Number.parseInt(g, 16),
  );
  return [0, 1, 2, 3].map(
    (w) => ((groups[2 * w] as number) * 65536 + (groups[2 * w + 1] as number)) >>> 0,
  );
}

describe("IPv6 literals as words (the lookup's parse, no bigint)", () => {
  it("reads every plain IPv6 literal as the long way does, and refuses the rest", () => {
    fc.assert(
      fc.property(fc.ipV6(), (text) => {
        const out = new Uint32Array(5).fill(7);
        const plain = !text.includes(".");
        assert.equal(parseIp6Words(text, out, 1), plain, text);
        if (plain) assert.deepEqual([...out.subarray(1)], naiveWords(text), text);
        assert.equal(out[0], 7, "writes only its 4 words");
      }),
      { numRuns: 2000 },
    );
    for (const bad of [
      "",
      ":",
      "1:",
      ":1",
      "1:::2",
      "1::2::3",
      "12345::",
      "g::",
      "1:2:3:4:5:6:7:8:9",
    ]) {
      assert.equal(parseIp6Words(bad, new Uint32Array(4), 0), false, bad);
    }
  });
});
