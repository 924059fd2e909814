/**
 * INVALID_SPI (RFC 7296 §1.5), the engine alone (two engines, fake network, manual clock):
 * the data path's report of ESP with an unknown SPI becomes N(INVALID_SPI) inside the IKE
 * SA with its sender (rate-limited per peer; no IKE SA: only counted), and the peer that
 * receives it drops the child SA at once and negotiates a new one unless another covers
 * the flow. The same with real agents: test/agent/restart.test.ts.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { A, B, pair, peer, settle, side } from "./helpers.js";

/** INFORMATIONAL requests on the fake network (exchange type 37, not a response). */
function informationals(net: ReturnType<typeof pair>["net"]): { from: string }[] {
  const seen: { from: string }[] = [];
  net.setFilter((d) => {
    if (d.data[18] === 37 && (d.data[19]! & 0x20) === 0) seen.push({ from: d.local.address });
    return d;
  });
  return seen;
}

describe("INVALID_SPI (RFC 7296 §1.5)", () => {
  it("a peer restarted without INITIAL_CONTACT: its INVALID_SPI removes the dead child SA at once, no new one needed", async () => {
    const { net, clock, a, b } = pair();
    a.engine.initiate(`to-${B}`);
    await settle();
    const old = b.children[0]!;
    a.engine.close();
    const a2 = side(net, clock, A, [peer({ localAddress: A, remoteAddress: B })], {
      initialContact: false,
    });
    a2.engine.initiate(`to-${B}`);
    await settle();
    assert.equal(b.engine.sas().length, 2, "B holds the dead IKE SA and the new one");
    assert.equal(b.children.length, 2);
    // B's data path sends on the first of two SAs with equal selectors, the dead one: A2
    // receives ESP for an SPI it never had.
    a2.engine.unknownSpi(B, old.spiOut, "esp");
    await settle();
    assert.ok(a2.logs.some((l) => l.includes("has no SA here: telling the peer (INVALID_SPI)")));
    assert.deepEqual(b.deleted, [old.spiIn], "B removed the dead child SA");
    assert.equal(b.children.length, 2, "and negotiated none: the new child SA covers the flow");
    const live = b.engine.sas().flatMap((s) => s.children);
    assert.deepEqual(live, [b.children[1]!.spiIn]);
    assert.ok(b.logs.some((l) => /INVALID_SPI: the peer has no SA for our outbound SPI/.test(l)));
  });

  it("a lost child SA on the only IKE SA: the sender drops it and negotiates a new pair", async () => {
    const { clock, a, b } = pair();
    a.engine.initiate(`to-${B}`);
    await settle();
    const first = b.children[0]!;
    // A's data path lost its inbound SA (A's engine still lists it): B's ESP is unknown there.
    // Within a second of the install the report is taken as a race and not sent.
    clock.advance(5);
    a.engine.unknownSpi(B, first.spiOut, "esp");
    await settle();
    assert.deepEqual(b.deleted, [], "a packet that raced the install is not reported");
    clock.advance(1000);
    a.engine.unknownSpi(B, first.spiOut, "esp");
    await settle();
    assert.deepEqual(b.deleted, [first.spiIn]);
    assert.equal(b.children.length, 2, "B negotiated a new child SA");
    const fresh = b.children[1]!;
    assert.equal(fresh.replacesSpiIn, null);
    assert.equal(fresh.initiator, true, "B created it (CREATE_CHILD_SA)");
    assert.deepEqual(b.engine.sas()[0]?.children, [fresh.spiIn]);
    // A removed its half of the old pair on B's Delete, and holds the mirror of the new one.
    assert.deepEqual(a.deleted, [first.spiOut]);
    assert.deepEqual(a.engine.sas()[0]?.children, [fresh.spiOut]);
    const mine = a.children.find((c) => c.spiIn === fresh.spiOut);
    assert.equal(mine?.spiOut, fresh.spiIn);
    assert.equal(a.engine.sas().length, 1);
    assert.equal(b.engine.sas().length, 1);
  });

  it("at most one INVALID_SPI per peer per interval; more are counted", async () => {
    const { net, clock, a } = pair();
    a.engine.initiate(`to-${B}`);
    await settle();
    const sent = informationals(net);
    a.engine.unknownSpi(B, 0x1234, "esp");
    a.engine.unknownSpi(B, 0x1235, "esp");
    a.engine.unknownSpi(B, 0x1236, "ah");
    await settle();
    assert.equal(sent.filter((x) => x.from === A).length, 1);
    assert.equal(a.engine.stats().invalid_spi_rate_limited, 2);
    clock.advance(1000);
    a.engine.unknownSpi(B, 0x1237, "esp");
    await settle();
    assert.equal(sent.filter((x) => x.from === A).length, 2);
  });

  it("no IKE SA with the sender: only counted, nothing sent", async () => {
    const { net, a } = pair();
    const sent: unknown[] = [];
    net.setFilter((d) => {
      sent.push(d);
      return d;
    });
    a.engine.unknownSpi("10.0.0.9", 0x4242, "esp");
    a.engine.unknownSpi(B, 0x4242, "esp");
    await settle();
    assert.equal(sent.length, 0);
    assert.equal(a.engine.stats().invalid_spi_no_ike_sa, 2);
  });

  it("an INVALID_SPI for an SPI we do not send on is ignored", async () => {
    const { clock, a, b } = pair();
    a.engine.initiate(`to-${B}`);
    await settle();
    clock.advance(5);
    a.engine.unknownSpi(B, 0x0bad_0bad, "esp");
    await settle();
    assert.deepEqual(b.deleted, []);
    assert.ok(b.logs.some((l) => l.includes("no child SA of ours sends on it (ignored)")));
  });

  it("invalidSpi off (the old behaviour): nothing sent", async () => {
    const { net, a, b } = pair({}, {}, { a: { invalidSpi: false } });
    a.engine.initiate(`to-${B}`);
    await settle();
    const sent = informationals(net);
    a.engine.unknownSpi(B, b.children[0]!.spiOut, "esp");
    await settle();
    assert.equal(sent.length, 0);
    assert.deepEqual(b.deleted, []);
  });
});
