/**
 * Filter weights and evaluator semantics, each case citing the rule of
 * docs/policy-evaluation.md it checks.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { isPosternError } from "../../src/errors.js";
import { compilePolicy, formatSide } from "../../src/policy/evaluate.js";
import { parseIp } from "../../src/policy/ip.js";
import { rangeToCidrs } from "../../src/policy/spd-index.js";
import {
  ACTION_PRECEDENCE,
  describeWeight,
  type Side,
  sideBits,
  weightFromParts,
} from "../../src/policy/weights.js";
import { any, filter, host, makeStore, me, range, subnet } from "./fixtures.js";

function side(from: string, to = from): Side {
  const a = parseIp(from)!;
  const b = parseIp(to)!;
  return { kind: "range", family: a.family, lo: a.value, hi: b.value };
}

const noResolve = () => [];

describe("filter weights (docs/policy-evaluation.md, 'Weights')", () => {
  it("address specificity by mask: any 0, host 32/128, subnet its prefix", () => {
    assert.equal(sideBits({ kind: "any" }), 0);
    assert.equal(sideBits(side("198.18.0.20")), 32);
    assert.equal(sideBits(side("2001:db8::1")), 128);
    assert.equal(sideBits(side("10.1.0.0", "10.1.255.255")), 16);
    assert.equal(sideBits(side("2001:db8::", "2001:db8::ffff:ffff:ffff:ffff")), 64);
  });

  it("a range counts as the smallest power-of-two block of its size", () => {
    assert.equal(sideBits(side("10.0.0.0", "10.0.0.255")), 24);
    assert.equal(sideBits(side("10.0.0.1", "10.0.0.2")), 31);
    assert.equal(sideBits(side("10.0.0.1", "10.0.0.3")), 30);
    assert.equal(sideBits(side("10.0.0.1", "10.0.0.5")), 29);
  });

  it("weight = 16 x (src bits + dst bits) + 4 protocol + 1 per specific port", () => {
    // The article's server filter any -> me TCP 80.
    const p = { srcBits: 0, dstBits: 32, protocol: 6, srcPort: 0, dstPort: 80 };
    assert.equal(weightFromParts(p), 517);
    assert.equal(
      describeWeight(p),
      "16 x (0 src bits + 32 dst bits) + 4 protocol + 1 dst port = 517",
    );
    assert.equal(
      weightFromParts({ srcBits: 0, dstBits: 0, protocol: 0, srcPort: 0, dstPort: 0 }),
      0,
    );
    assert.equal(
      weightFromParts({ srcBits: 32, dstBits: 32, protocol: 17, srcPort: 53, dstPort: 53 }),
      1030,
    );
  });

  it("one more mask bit outweighs protocol and both ports together", () => {
    const wide = weightFromParts({
      srcBits: 24,
      dstBits: 32,
      protocol: 6,
      srcPort: 1,
      dstPort: 80,
    });
    const narrow = weightFromParts({
      srcBits: 25,
      dstBits: 32,
      protocol: 0,
      srcPort: 0,
      dstPort: 0,
    });
    assert.ok(narrow > wide);
  });

  it("a specific protocol outweighs specific ports", () => {
    const proto = weightFromParts({ srcBits: 0, dstBits: 0, protocol: 6, srcPort: 0, dstPort: 0 });
    const ports = weightFromParts({ srcBits: 0, dstBits: 0, protocol: 0, srcPort: 7, dstPort: 9 });
    assert.ok(proto > ports);
  });

  it("ties break block, then permit, then negotiate", () => {
    assert.ok(ACTION_PRECEDENCE.block < ACTION_PRECEDENCE.permit);
    assert.ok(ACTION_PRECEDENCE.permit < ACTION_PRECEDENCE.negotiate);
  });

  it("CIDR cover of a range is exact, disjoint and ordered (property)", () => {
    fc.assert(
      fc.property(fc.nat(2 ** 20), fc.nat(2 ** 12), (lo, len) => {
        const blocks = rangeToCidrs(BigInt(lo), BigInt(lo + len), 32);
        let next = BigInt(lo);
        for (const b of blocks) {
          assert.equal(b.net, next);
          const size = 1n << BigInt(32 - b.prefix);
          assert.equal(b.net % size, 0n, "aligned");
          next = b.net + size;
        }
        assert.equal(next, BigInt(lo + len) + 1n);
      }),
    );
  });

  it("formats sides as host, block or range", () => {
    assert.equal(formatSide(side("10.0.0.0", "10.0.0.255")), "10.0.0.0/24");
    assert.equal(formatSide(side("10.0.0.1", "10.0.0.2")), "10.0.0.1-10.0.0.2");
    assert.equal(formatSide(side("2001:db8::1")), "2001:db8::1");
  });
});

describe("evaluation semantics (docs/policy-evaluation.md, 'What postern implements')", () => {
  const pkt = { src: "10.0.0.5", dst: "10.0.9.9", protocol: 6, srcPort: 1025, dstPort: 80 };

  it("the most specific filter wins, not the first rule", () => {
    const store = makeStore([
      {
        name: "P",
        assigned: true,
        rules: [
          { name: "all", action: "block", filters: [filter(any, any)] },
          { name: "subnet", action: "permit", filters: [filter(subnet("10.0.0.0", 24), any)] },
          {
            name: "web",
            action: "negotiate",
            filters: [filter(any, me, { protocol: 6, dstPort: 80 })],
          },
        ],
      },
    ]);
    const spd = compilePolicy(store, null, { addresses: ["10.0.9.9"] }, noResolve);
    const e = spd.explain(pkt);
    assert.equal(e.rule, "web");
    assert.equal(e.action, "negotiate");
    assert.deepEqual(
      e.matches.map((m) => [m.rule, m.weight]),
      [
        ["web", 517],
        ["subnet", 384],
        ["all", 0],
      ],
    );
    assert.match(e.reason, /most specific: weight 517/);
  });

  it("equal weights: block beats permit beats negotiate, then the earlier rule", () => {
    const f = () => filter(host("10.0.0.5"), any);
    const rules = (order: ("permit" | "block" | "negotiate")[]) =>
      makeStore([
        {
          name: "P",
          assigned: true,
          rules: order.map((a, i) => ({ name: `${a}${i}`, action: a, filters: [f()] })),
        },
      ]);
    const lookup = (s: ReturnType<typeof rules>) =>
      compilePolicy(s, null, { addresses: [] }, noResolve).explain(pkt);
    assert.equal(lookup(rules(["negotiate", "permit", "block"])).rule, "block2");
    assert.equal(lookup(rules(["negotiate", "permit"])).rule, "permit1");
    const same = lookup(rules(["permit", "permit"]));
    assert.equal(same.rule, "permit0");
    assert.match(same.reason, /earlier rule/);
  });

  it("a mirrored filter matches the reverse direction, with ports swapped", () => {
    const store = makeStore([
      {
        name: "P",
        assigned: true,
        rules: [
          {
            name: "web",
            action: "negotiate",
            filters: [filter(any, me, { protocol: 6, dstPort: 80, mirrored: true })],
          },
        ],
      },
    ]);
    const spd = compilePolicy(store, null, { addresses: ["10.0.9.9"] }, noResolve);
    const back = spd.lookup({
      src: "10.0.9.9",
      dst: "10.0.0.5",
      protocol: 6,
      srcPort: 80,
      dstPort: 1025,
    });
    assert.equal(back.action, "negotiate");
    assert.equal(back.filter?.direction, "mirrored");
    assert.equal(back.filter?.srcPort, 80);
    const wrongPort = spd.lookup({
      src: "10.0.9.9",
      dst: "10.0.0.5",
      protocol: 6,
      srcPort: 81,
      dstPort: 80,
    });
    assert.equal(wrongPort.action, "none");
  });

  it("a filter that is not mirrored does not match the reverse direction", () => {
    const store = makeStore([
      {
        name: "P",
        assigned: true,
        rules: [{ name: "out", action: "block", filters: [filter(me, host("10.0.0.5"))] }],
      },
    ]);
    const spd = compilePolicy(store, null, { addresses: ["10.0.9.9"] }, noResolve);
    assert.equal(spd.lookup({ src: "10.0.9.9", dst: "10.0.0.5", protocol: 1 }).action, "block");
    assert.equal(spd.lookup({ src: "10.0.0.5", dst: "10.0.9.9", protocol: 1 }).action, "none");
  });

  it("inactive rules are ignored; only the assigned policy applies", () => {
    const store = makeStore([
      { name: "other", rules: [{ name: "x", action: "block", filters: [filter(any, any)] }] },
      {
        name: "P",
        assigned: true,
        rules: [
          { name: "off", action: "block", active: false, filters: [filter(any, any)] },
          { name: "on", action: "permit", filters: [filter(any, any, { protocol: 17 })] },
        ],
      },
    ]);
    const spd = compilePolicy(store, null, { addresses: [] }, noResolve);
    assert.equal(spd.lookup(pkt).action, "none");
    assert.equal(spd.lookup({ ...pkt, protocol: 17 }).rule, "on");
  });

  it("no assigned policy: action none with the reason; an unknown named policy is an error", () => {
    const store = makeStore([{ name: "idle", rules: [] }]);
    const d = compilePolicy(store, null, { addresses: [] }, noResolve).lookup(pkt);
    assert.equal(d.action, "none");
    assert.equal(d.policy, null);
    assert.match(d.reason, /no IPsec policy is assigned/);
    assert.throws(
      () => compilePolicy(store, "nope", { addresses: [] }, noResolve),
      (e) => isPosternError(e) && e.code === "policy-not-found",
    );
  });

  it("the default response rule governs no outbound packet", () => {
    const store = makeStore([{ name: "respond only", assigned: true, rules: [] }]);
    assert.equal(store.policies[0]?.defaultRule.active, true);
    const d = compilePolicy(store, null, { addresses: ["10.0.0.5"] }, noResolve).lookup(pkt);
    assert.equal(d.action, "none");
    assert.match(d.reason, /default response rule/);
  });

  it("a DNS name is each address it resolved to at apply time, as host filters", () => {
    const store = makeStore([
      {
        name: "P",
        assigned: true,
        rules: [
          { name: "n", action: "permit", filters: [filter(me, { kind: "dns", name: "www.test" })] },
        ],
      },
    ]);
    const resolve = (n: string) => (n === "www.test" ? ["10.0.9.9", "2001:db8::9"] : []);
    const spd = compilePolicy(store, null, { addresses: ["10.0.0.5", "2001:db8::5"] }, resolve);
    assert.equal(spd.lookup(pkt).weight, 16 * 64);
    assert.equal(
      spd.lookup({ src: "2001:db8::5", dst: "2001:db8::9", protocol: 6 }).weight,
      16 * 256,
    );
    assert.equal(spd.lookup({ ...pkt, dst: "10.0.9.8" }).action, "none");
    const unresolved = compilePolicy(store, null, { addresses: ["10.0.0.5"] }, noResolve);
    assert.equal(unresolved.lookup(pkt).action, "none");
    assert.match(unresolved.notes.join("\n"), /dns:www.test has no address/);
  });

  it("a server type makes the other side me", () => {
    const store = makeStore([
      {
        name: "P",
        assigned: true,
        rules: [
          {
            name: "dns",
            action: "permit",
            filters: [
              filter(any, { kind: "server", server: "dns" }, { protocol: 17, dstPort: 53 }),
            ],
          },
        ],
      },
    ]);
    const servers = { dns: ["10.0.9.9"], wins: [], dhcp: [], gateway: [] };
    const spd = compilePolicy(store, null, { addresses: ["10.0.0.5"] }, noResolve, servers);
    const q = { src: "10.0.0.5", dst: "10.0.9.9", protocol: 17, srcPort: 3000, dstPort: 53 };
    assert.equal(spd.lookup(q).action, "permit");
    assert.equal(spd.lookup(q).filter?.src, "10.0.0.5");
    assert.equal(spd.lookup({ ...q, src: "10.0.0.6" }).action, "none");
  });

  it("ranges and IPv6 subnets match by containment", () => {
    const store = makeStore([
      {
        name: "P",
        assigned: true,
        rules: [
          { name: "r", action: "block", filters: [filter(range("10.0.0.3", "10.0.0.9"), any)] },
          { name: "v6", action: "permit", filters: [filter(subnet("2001:db8:1::", 48), any)] },
        ],
      },
    ]);
    const spd = compilePolicy(store, null, { addresses: [] }, noResolve);
    assert.equal(spd.lookup(pkt).rule, "r");
    assert.equal(spd.lookup({ ...pkt, src: "10.0.0.10" }).action, "none");
    assert.equal(
      spd.lookup({ src: "2001:db8:1:ff::1", dst: "2001:db8::1", protocol: 58 }).rule,
      "v6",
    );
    assert.equal(
      spd.lookup({ src: "2001:db8:2::1", dst: "2001:db8::1", protocol: 58 }).action,
      "none",
    );
  });

  it("a malformed packet is action none with a reason, never an exception", () => {
    const store = makeStore([
      {
        name: "P",
        assigned: true,
        rules: [{ name: "a", action: "block", filters: [filter(any, any)] }],
      },
    ]);
    const spd = compilePolicy(store, null, { addresses: [] }, noResolve);
    assert.match(spd.lookup({ ...pkt, src: "nope" }).reason, /not an IP address/);
    assert.match(spd.lookup({ ...pkt, dst: "2001:db8::1" }).reason, /different families/);
    assert.match(spd.lookup({ ...pkt, dstPort: 70000 }).reason, /destination port/);
  });
});
