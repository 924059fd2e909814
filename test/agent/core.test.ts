/** Pure cores of the agent: child SA conversion, range -> prefixes, ACQUIRE queueing, guard rules. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createAcquirer } from "../../src/agent/acquire.js";
import { createChildSaTable } from "../../src/agent/children.js";
import { acquirePeerOf } from "../../src/agent/policy-plan.js";
import { guardRuleset } from "../../src/agent/inbound-guard.js";
import { childToSaRecords, rangeToPrefixes, transformFor } from "../../src/agent/sa-convert.js";
import { selectorFromCidr } from "../../src/ike/selectors.js";
import type { ChildSaRecord } from "../../src/ike/types.js";

function child(over: Partial<ChildSaRecord> = {}): ChildSaRecord {
  return {
    ikeSa: "aa_bb",
    peerName: "rule1>192.0.2.2",
    local: { address: "192.0.2.1", port: 4500 },
    remote: { address: "192.0.2.2", port: 4500 },
    protocol: "esp",
    mode: "transport",
    udpEncap: true,
    spiIn: 0x1111,
    spiOut: 0x2222,
    encrId: 20,
    encrKeyBits: 128,
    integId: 0,
    esn: false,
    encrKeyIn: Buffer.alloc(20, 1),
    integKeyIn: Buffer.alloc(0),
    encrKeyOut: Buffer.alloc(20, 2),
    integKeyOut: Buffer.alloc(0),
    tsLocal: [selectorFromCidr("192.0.2.1/32")],
    tsRemote: [selectorFromCidr("192.0.2.2/32", 6, 80)],
    lifetimeSec: 3600,
    lifetimeKb: 100000,
    initiator: true,
    replacesSpiIn: null,
    ...over,
  };
}

describe("ChildSaRecord -> SaRecord (RFC 7296 §2.17 KEYMAT order, RFC 4106 salt)", () => {
  it("maps IKE transform ids to data-path transforms", () => {
    assert.equal(transformFor(20, 128, 0), "aes128gcm16");
    assert.equal(transformFor(20, 256, 0), "aes256gcm16");
    assert.equal(transformFor(12, 128, 12), "aes128-sha256");
    assert.equal(transformFor(12, 256, 2), "aes256-sha1");
    assert.equal(transformFor(11, 0, 12), "null-sha256");
    assert.equal(transformFor(11, 0, 2), "null-sha1");
    assert.equal(transformFor(13, 128, 12), null, "AES-CTR is not carried");
    assert.equal(transformFor(12, 192, 12), null);
  });
  it("gives both directions with their own SPI and keys, shared selectors and encapsulation", () => {
    const r = childToSaRecords(child());
    assert.ok(!("error" in r));
    assert.equal(r.in.spi, 0x1111);
    assert.equal(r.out.spi, 0x2222);
    assert.deepEqual(r.in.encKey, Buffer.alloc(20, 1));
    assert.deepEqual(r.out.encKey, Buffer.alloc(20, 2));
    assert.deepEqual(r.out.encap, { localPort: 4500, peerPort: 4500 });
    assert.deepEqual(r.out.selectors, [
      {
        local: "192.0.2.1/32",
        remote: "192.0.2.2/32",
        protocol: 6,
        localPorts: [0, 65535],
        remotePorts: [80, 80],
      },
    ]);
    assert.equal(r.out.lifetime.hard.bytes, 100000 * 1024);
    assert.equal(r.out.lifetime.soft.bytes, Math.floor(100000 * 1024 * 0.9));
  });
  it("refuses raw ESP and unknown transforms with a reason", () => {
    assert.match((childToSaRecords(child({ udpEncap: false })) as { error: string }).error, /UDP/);
    assert.match(
      (childToSaRecords(child({ encrId: 13 })) as { error: string }).error,
      /no data-path transform/,
    );
  });
  it("splits address ranges into the fewest CIDR prefixes", () => {
    assert.deepEqual(rangeToPrefixes(0n, 0xffffffffn, 4), ["0.0.0.0/0"]);
    assert.deepEqual(rangeToPrefixes(0x0a000001n, 0x0a000006n, 4), [
      "10.0.0.1/32",
      "10.0.0.2/31",
      "10.0.0.4/31",
      "10.0.0.6/32",
    ]);
  });
});

describe("ACQUIRE (RFC 4301 §5.2): bounded queue, flush on SA, soft fallback, hold-down", () => {
  const setup = (soft: boolean) => {
    let now = 0;
    const injected: number[] = [];
    const started: string[] = [];
    const fallbacks: string[] = [];
    const acq = createAcquirer({
      now: () => now,
      classify: (p) =>
        p[0] === 0xbb
          ? { kind: "discard" }
          : { kind: "negotiate", peer: "P", soft, start: () => started.push("P") },
      inject: (p) => injected.push(p[1] as number),
      fallback: (peer) => fallbacks.push(peer),
      log: () => undefined,
      maxQueue: 3,
      holdDownMs: 1000,
    });
    return { acq, injected, started, fallbacks, tick: (ms: number) => (now += ms) };
  };
  it("queues up to maxQueue, starts IKE once, flushes in order when the child SA arrives", () => {
    const t = setup(false);
    for (let i = 1; i <= 5; i++) t.acq.onPacket(Uint8Array.of(0x45, i));
    assert.deepEqual(t.started, ["P"]);
    assert.equal(t.acq.counters().acquire_queue_full, 2);
    t.acq.onChildSa("P");
    assert.deepEqual(t.injected, [1, 2, 3]);
    assert.equal(t.acq.peers().P, "up");
    t.acq.onPacket(Uint8Array.of(0x45, 9));
    assert.deepEqual(t.injected, [1, 2, 3, 9], "a packet racing the SA install is sent again");
  });
  it("a failed negotiation drops for the hold-down, then retries", () => {
    const t = setup(false);
    t.acq.onPacket(Uint8Array.of(0x45, 1));
    t.acq.onIkeClosed("P", false);
    t.acq.onPacket(Uint8Array.of(0x45, 2));
    assert.equal(t.acq.counters().ike_failed, 2);
    t.tick(1001);
    t.acq.onPacket(Uint8Array.of(0x45, 3));
    assert.deepEqual(t.started, ["P", "P"]);
  });
  it("an old established SA closing while a new negotiation runs is not a failure (klist purge)", () => {
    const t = setup(false);
    t.acq.onPacket(Uint8Array.of(0x45, 1));
    t.acq.onIkeClosed("P", true);
    assert.equal(t.acq.peers().P, "negotiating");
    assert.equal(t.acq.counters().ike_failed, 0);
    t.acq.onChildSa("P");
    assert.deepEqual(t.injected, [1], "the queued packet goes out on the new SA");
  });
  it("soft: the peer falls back to cleartext", () => {
    const t = setup(true);
    t.acq.onPacket(Uint8Array.of(0x45, 1));
    t.acq.onIkeClosed("P", false);
    assert.deepEqual(t.fallbacks, ["P"]);
    assert.equal(t.acq.peers().P, "cleartext");
  });
  it("block filters are discarded and counted", () => {
    const t = setup(false);
    t.acq.onPacket(Uint8Array.of(0xbb));
    assert.equal(t.acq.counters().policy_block, 1);
    assert.deepEqual(t.started, []);
  });
});

describe("inbound guard ruleset", () => {
  it("passes the TUN, IKE/NAT-T and fallback peers, drops protected selectors mirrored", () => {
    const text = guardRuleset(
      "postern0",
      [
        {
          local: "192.0.2.1/32",
          remote: "192.0.2.2/32",
          protocol: 6,
          localPorts: [0, 65535],
          remotePorts: [80, 80],
        },
      ],
      ["192.0.2.9"],
    );
    const lines = text.split("\n").map((l) => l.trim());
    assert.ok(
      lines.indexOf('iifname "postern0" return') < lines.indexOf("ip saddr 192.0.2.9 return"),
    );
    assert.ok(
      lines.includes(
        "ip saddr 192.0.2.2/32 ip daddr 192.0.2.1/32 meta l4proto 6 th sport 80 counter drop",
      ),
    );
  });
});

describe("the ACQUIRE peer of a child SA (policy-plan.ts acquirePeerOf)", () => {
  it("names a responder's child SA as the initiator's ACQUIRE would", () => {
    const remote = { address: "192.0.2.2", port: 4500 };
    assert.equal(acquirePeerOf({ peerName: "rule1/f1", remote }), "rule1>192.0.2.2");
    assert.equal(acquirePeerOf({ peerName: "rule12/f3m", remote }), "rule12>192.0.2.2");
    assert.equal(acquirePeerOf({ peerName: "rule1>192.0.2.2", remote }), "rule1>192.0.2.2");
    assert.equal(acquirePeerOf({ peerName: "default-response", remote }), "default-response");
  });
});

describe("child SA table: install, replace on rekey, remove (children.ts)", () => {
  function table() {
    const ops: string[] = [];
    let t = 1000;
    const sad = {
      addSa: (r: { direction: string; spi: number }) => ops.push(`add ${r.direction} ${r.spi}`),
      removeSa: (d: string, spi: number) => ops.push(`remove ${d} ${spi}`),
    };
    return { ops, children: createChildSaTable(sad, () => t++) };
  }

  it("installs inbound before outbound and shows the pair", () => {
    const { ops, children } = table();
    const r = children.install(child());
    assert.deepEqual(r, { ok: true, transform: "aes128gcm16" });
    assert.deepEqual(ops, [`add in ${0x1111}`, `add out ${0x2222}`]);
    assert.equal(children.views()[0]?.installedAtMs, 1000);
    assert.equal(children.spiInOf(0x2222), 0x1111);
  });

  it("the rekey's initiator sends on the new pair at once and opens the old one until it is deleted", () => {
    const { ops, children } = table();
    children.install(child());
    const r = children.install(child({ spiIn: 0x3333, spiOut: 0x4444, replacesSpiIn: 0x1111 }));
    assert.deepEqual(r, { ok: true, transform: "aes128gcm16" });
    assert.deepEqual(ops.slice(2), [
      `add in ${0x3333}`,
      `add out ${0x4444}`,
      `remove out ${0x2222}`,
    ]);
    assert.equal(children.size(), 2, "the old pair's inbound half stays until the Delete");
    assert.equal(children.remove(0x1111)?.peerName, "rule1>192.0.2.2");
    assert.deepEqual(ops.slice(5), [`remove in ${0x1111}`]);
    assert.equal(children.size(), 1);
    assert.equal(children.spiInOf(0x2222), undefined);
  });

  it("the rekey's responder keeps sending on the old pair until the initiator deletes it", () => {
    const { ops, children } = table();
    children.install(child({ initiator: false }));
    const r = children.install(
      child({ spiIn: 0x3333, spiOut: 0x4444, replacesSpiIn: 0x1111, initiator: false }),
    );
    assert.deepEqual(r, { ok: true, transform: "aes128gcm16" });
    assert.deepEqual(ops.slice(2), [`add in ${0x3333}`], "no new outbound half yet");
    assert.equal(children.remove(0x1111)?.peerName, "rule1>192.0.2.2");
    assert.deepEqual(ops.slice(3), [
      `remove in ${0x1111}`,
      `remove out ${0x2222}`,
      `add out ${0x4444}`,
    ]);
    assert.equal(children.remove(0x3333)?.peerName, "rule1>192.0.2.2");
    assert.deepEqual(ops.slice(6), [`remove in ${0x3333}`, `remove out ${0x4444}`]);
  });

  it("a rekey collision: our own new pair stops the old one, and the one we answered starts then", () => {
    const { ops, children } = table();
    children.install(child());
    // The peer's rekey, answered first: it waits for the old pair.
    children.install(
      child({ spiIn: 0x3333, spiOut: 0x4444, replacesSpiIn: 0x1111, initiator: false }),
    );
    // Ours completes: the old pair stops sending, both new pairs send (the older entry first).
    children.install(child({ spiIn: 0x5555, spiOut: 0x6666, replacesSpiIn: 0x1111 }));
    assert.deepEqual(ops.slice(2), [
      `add in ${0x3333}`,
      `add in ${0x5555}`,
      `add out ${0x6666}`,
      `remove out ${0x2222}`,
      `add out ${0x4444}`,
    ]);
    // Ours was redundant and is deleted, then the old pair: one pair is left, sending.
    children.remove(0x5555);
    children.remove(0x1111);
    assert.deepEqual(ops.slice(7), [
      `remove in ${0x5555}`,
      `remove out ${0x6666}`,
      `remove in ${0x1111}`,
    ]);
    assert.deepEqual(
      children.views().map((v) => v.record.spiIn),
      [0x3333],
    );
  });

  it("removes both directions once, names the peer, and refuses what it cannot carry", () => {
    const { ops, children } = table();
    children.install(child());
    assert.equal(children.remove(0x1111)?.peerName, "rule1>192.0.2.2");
    assert.equal(children.remove(0x1111), null);
    assert.deepEqual(ops.slice(2), [`remove in ${0x1111}`, `remove out ${0x2222}`]);
    const bad = children.install(child({ encrId: 13 }));
    assert.equal(bad.ok, false);
    assert.equal(children.size(), 0);
  });
});
