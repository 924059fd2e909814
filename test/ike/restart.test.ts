/**
 * Restarts without outages, the engine alone (two engines, fake network, manual clock):
 * INITIAL_CONTACT (RFC 7296 §2.4) sent and honoured, and simultaneous initiation (§2.8,
 * the nonce rule of §2.8.1) leaving one IKE SA and one child SA pair.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createFakeNetwork } from "../../src/ike/transport.js";
import { A, B, manualClock, pair, peer, settle, side } from "./helpers.js";

describe("restarts and simultaneous starts (RFC 7296 §2.4, §2.8)", () => {
  for (const initialContact of [true, false]) {
    it(`a restarted initiator ${initialContact ? "sends INITIAL_CONTACT: the responder closes the old SAs at once" : "without INITIAL_CONTACT: the responder keeps the dead SAs (the old behaviour)"}`, async () => {
      const { net, clock, a, b } = pair();
      a.engine.initiate(`to-${B}`);
      await settle();
      assert.equal(b.engine.sas().length, 1);
      const oldChild = b.children[0]!.spiIn;
      // A restarts: a new engine on the same address, with no memory of the SAs.
      a.engine.close();
      const a2 = side(net, clock, A, [peer({ localAddress: A, remoteAddress: B })], {
        initialContact,
      });
      a2.engine.initiate(`to-${B}`);
      await settle();
      assert.equal(a2.engine.sas()[0]?.state, "established");
      const bSas = b.engine.sas();
      if (initialContact) {
        assert.equal(bSas.length, 1, JSON.stringify(bSas));
        assert.equal(bSas[0]?.spis, a2.engine.sas()[0]?.spis);
        assert.deepEqual(b.deleted, [oldChild], "the old child SA went with its IKE SA");
        assert.ok(
          b.logs.some((l) => /INITIAL_CONTACT from 10\.0\.0\.1: closing its 1 older/.test(l)),
        );
      } else {
        assert.equal(bSas.length, 2, "two IKE SAs: the dead one waits for liveness checks");
        assert.deepEqual(b.deleted, []);
      }
    });
  }

  it("INITIAL_CONTACT is sent only when no other IKE SA with the peer exists", async () => {
    const { net, a, b } = pair();
    const seen: number[] = [];
    net.setFilter((d) => {
      seen.push(d.data.length);
      return d;
    });
    a.engine.initiate(`to-${B}`);
    await settle();
    a.engine.initiate(`to-${B}`);
    await settle();
    // The second SA is not simultaneous (the first was up before it started), and A sent
    // no INITIAL_CONTACT, so B keeps both.
    assert.equal(b.engine.sas().length, 2);
    assert.ok(!b.logs.some((l) => l.includes("INITIAL_CONTACT")));
  });

  it("both sides initiate at once: one IKE SA and one child SA pair remain, the same on both", async () => {
    const net = createFakeNetwork();
    const clock = manualClock();
    const a = side(net, clock, A, [peer({ localAddress: A, remoteAddress: B })]);
    const b = side(net, clock, B, [peer({ localAddress: B, remoteAddress: A })]);
    a.engine.initiate(`to-${B}`);
    b.engine.initiate(`to-${A}`);
    await settle();
    const as = a.engine.sas();
    const bs = b.engine.sas();
    assert.equal(as.length, 1, JSON.stringify(as));
    assert.equal(bs.length, 1, JSON.stringify(bs));
    assert.equal(as[0]?.spis, bs[0]?.spis);
    assert.equal(a.children.length, 2, "each side installed two child SAs ...");
    assert.equal(a.deleted.length, 1, "... and removed the redundant one");
    assert.equal(b.deleted.length, 1);
    const left = as[0]!.children;
    assert.equal(left.length, 1);
    const mine = a.children.find((c) => c.spiIn === left[0]);
    assert.ok(b.children.some((c) => c.spiOut === mine?.spiIn && c.spiIn === mine?.spiOut));
    const said = [...a.logs, ...b.logs].filter((l) => l.includes("lowest nonce"));
    assert.equal(said.length, 2, "each side logs the decision once");
  });
});
