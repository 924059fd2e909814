/**
 * The IKE engine's typed drops, child SA state changes, and its limits under load:
 * §2.6 cookies with a rotating secret, half-open SAs per source and in all.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { randomBytes } from "../../src/crypto/primitives.js";
import { ExchangeType } from "../../src/ike/constants.js";
import { createCookieJar } from "../../src/ike/cookie.js";
import { createHalfOpenTable } from "../../src/ike/half-open.js";
import { createIkeDrops, IKE_DROP_REASONS, LOG_BURST, LOG_WINDOW_MS } from "../../src/ike/drops.js";
import { encodeMessage } from "../../src/ike/message.js";
import { selectorFromCidr } from "../../src/ike/selectors.js";
import { transitionChild } from "../../src/ike/state.js";
import { createFakeNetwork } from "../../src/ike/transport.js";
import type { Datagram, IkeOptions, IkeSa } from "../../src/ike/types.js";
import { cookieOf, initRequest, initTemplate, spoofed } from "./flood.js";
import { A, B, manualClock, pair, peer, settle, side } from "./helpers.js";

describe("IKE drops: one counter per reason, logs bounded", () => {
  it("stats() names every reason, zeros included; unknown SPIs are counted exactly and logged at most LOG_BURST times a window", async () => {
    const { a, b, clock } = pair();
    const stats0 = b.engine.stats();
    assert.deepEqual(Object.keys(stats0).sort(), [...IKE_DROP_REASONS].sort());
    assert.ok(Object.values(stats0).every((v) => v === 0));
    a.engine.initiate(`to-${B}`);
    await settle();
    const junk = encodeMessage(
      {
        spiI: randomBytes(8),
        spiR: randomBytes(8),
        majorVersion: 2,
        minorVersion: 0,
        exchangeType: ExchangeType.INFORMATIONAL,
        initiator: true,
        response: false,
        messageId: 1,
      },
      [],
    );
    const from = { address: A, port: 500 };
    const to = { address: B, port: 500 };
    const before = b.logs.length;
    for (let i = 0; i < 100; i++) await b.engine.receive({ data: junk, local: to, remote: from });
    assert.equal(b.engine.stats().unknown_spi, 100);
    const lines = b.logs.slice(before).filter((l) => l.startsWith("drop unknown_spi"));
    assert.equal(lines.length, LOG_BURST);
    clock.advance(LOG_WINDOW_MS);
    await b.engine.receive({ data: junk, local: to, remote: from });
    assert.ok(
      b.logs.some((l) => l === `drop unknown_spi: 90 more in ${LOG_WINDOW_MS / 1000} s not logged`),
      b.logs.slice(-3).join("\n"),
    );
    assert.equal(b.engine.stats().unknown_spi, 101);
  });

  it("createIkeDrops: counts survive the log limit", () => {
    const logs: string[] = [];
    const d = createIkeDrops(manualClock(), (l) => logs.push(l));
    for (let i = 0; i < 1000; i++) d.drop("cookie_required", `n ${i}`);
    assert.equal(d.snapshot().cookie_required, 1000);
    assert.equal(logs.length, LOG_BURST);
  });
});

describe("child SA states change through transitionChild()", () => {
  it("a rekey logs installed -> rekeying on both sides and rekeying -> deleting on its initiator", async () => {
    const { a, b } = pair();
    a.engine.initiate(`to-${B}`);
    await settle();
    assert.equal(a.engine.rekeyChild(a.children[0]!.spiIn), true);
    await settle();
    assert.ok(
      a.logs.some((l) => /child SA [0-9a-f/]+: installed -> rekeying \(we rekey it\)/.test(l)),
    );
    assert.ok(
      a.logs.some((l) => /child SA [0-9a-f/]+: rekeying -> deleting \(we delete it\)/.test(l)),
    );
    assert.ok(b.logs.some((l) => /installed -> rekeying \(the peer rekeys it\)/.test(l)));
    assert.equal(a.children.length, 2);
    assert.equal(a.deleted.length, 1);
  });

  it("an illegal move throws a typed error; a second delete of a deleting child SA is refused", async () => {
    const child = { state: "deleting" as const, record: { spiIn: 0x1234, spiOut: 0x5678 } };
    assert.throws(
      () => transitionChild({ ...child }, "installed", () => undefined),
      (e: Error & { code?: string }) =>
        e.code === "illegal-transition" &&
        /child SA 00001234\/00005678: illegal transition deleting -> installed/.test(e.message),
    );
    const { net, a } = pair();
    a.engine.initiate(`to-${B}`);
    await settle();
    net.setFilter(() => null); // the peer goes silent: the delete stays outstanding
    const spi = a.children[0]!.spiIn;
    assert.equal(a.engine.deleteChild(spi), true);
    assert.equal(a.engine.deleteChild(spi), false);
  });
});

describe("RFC 7296 §2.6 cookies", () => {
  it("a cookie is bound to Ni, the address and SPIi; it survives one secret rotation, not two", () => {
    const clock = manualClock();
    const jar = createCookieJar(randomBytes, clock, 1000);
    const ni = randomBytes(32);
    const spi = randomBytes(8);
    const c = jar.make(ni, "10.0.0.1", spi);
    assert.equal(c.length, 36);
    assert.equal(jar.check(c, ni, "10.0.0.1", spi), true);
    assert.equal(jar.check(c, ni, "10.0.0.2", spi), false);
    assert.equal(jar.check(c, randomBytes(32), "10.0.0.1", spi), false);
    assert.equal(jar.check(c.subarray(0, 20), ni, "10.0.0.1", spi), false);
    clock.advance(1000);
    assert.equal(jar.check(c, ni, "10.0.0.1", spi), true, "previous secret still accepted");
    assert.notDeepEqual(jar.make(ni, "10.0.0.1", spi), c);
    clock.advance(1000);
    assert.equal(jar.check(c, ni, "10.0.0.1", spi), false, "two rotations later it is stale");
  });
});

/** A responder for any address, and a tap on what it sends. */
function responder(options: Partial<IkeOptions>) {
  const net = createFakeNetwork();
  const clock = manualClock();
  const b = side(
    net,
    clock,
    B,
    [peer({ localAddress: B, remoteAddress: A, remoteTs: [selectorFromCidr(`${A}/32`)] })].map(
      (p) => ({ ...p, remoteAddress: "%any" }),
    ),
    options,
  );
  const sent: Datagram[] = [];
  net.setFilter((d) => {
    sent.push(d);
    return d;
  });
  return { net, clock, b, sent };
}

const at = (address: string): Datagram["remote"] => ({ address, port: 500 });

describe("half-open IKE SAs: limits per source and in all", () => {
  it("an address that returns cookies never holds more than halfOpenPerSource half-open SAs: the oldest is replaced", async () => {
    const { b, sent } = responder({ cookieThreshold: 1000, halfOpenPerSource: 5 });
    const t = initTemplate();
    const X = "10.9.9.9";
    for (let i = 0; i < 40; i++) {
      const spi = randomBytes(8);
      const ni = randomBytes(32);
      await b.engine.receive({ data: initRequest(t, spi, ni), local: at(B), remote: at(X) });
      await settle();
      const cookie = cookieOf(sent.at(-1)!.data);
      if (cookie) {
        assert.ok(i >= 5, `cookie asked only from the 6th request (at ${i})`);
        await b.engine.receive({
          data: initRequest(t, spi, ni, cookie),
          local: at(B),
          remote: at(X),
        });
      }
      assert.ok(b.engine.halfOpen() <= 5, `half-open ${b.engine.halfOpen()} at request ${i}`);
    }
    assert.equal(b.engine.halfOpen(), 5);
    assert.equal(b.engine.stats().cookie_required, 35);
    assert.equal(
      b.logs.filter((l) => l.includes(`replaced by a newer half-open IKE SA from ${X}`)).length,
      35,
    );
  });

  it("the table replaces an address's oldest half-open SA not yet in IKE_AUTH; with all in IKE_AUTH it refuses", () => {
    const t = createHalfOpenTable(() => ({
      cookieThreshold: 100,
      sourceThreshold: 2,
      halfOpenLimit: 100,
    }));
    const sa = (n: number, peerNextId: number) =>
      ({ spiI: Buffer.alloc(8, n), remote: at("10.9.9.9"), peerNextId }) as unknown as IkeSa;
    const [s1, s2] = [sa(1, 2), sa(2, 1)];
    t.add(s1);
    t.add(s2);
    assert.equal(t.find(Buffer.alloc(8, 2), "10.9.9.9"), s2);
    assert.deepEqual(
      t.admit("10.9.9.9", () => false),
      {
        kind: "cookie",
        why: "2 half-open IKE SAs from 10.9.9.9",
      },
    );
    assert.deepEqual(
      t.admit("10.9.9.9", () => true),
      { kind: "admit", evict: s2 },
    );
    t.remove(s2);
    t.add(sa(3, 2));
    assert.equal(t.admit("10.9.9.9", () => true).kind, "full");
    assert.deepEqual(
      t.admit("10.9.9.8", () => false),
      { kind: "admit", evict: null },
    );
    t.remove(s1);
    assert.equal(t.count(), 1);
  });

  it("at halfOpenLimit new SAs are refused (half_open_limit); they time out and the table empties", async () => {
    const { b, clock } = responder({ cookieThreshold: 1000, halfOpenLimit: 10 });
    const t = initTemplate();
    for (let i = 0; i < 20; i++)
      await b.engine.receive({ data: initRequest(t), local: at(B), remote: at(spoofed(i)) });
    assert.equal(b.engine.halfOpen(), 10);
    assert.equal(b.engine.stats().half_open_limit, 10);
    clock.advance(30_000);
    assert.equal(b.engine.halfOpen(), 0);
    assert.deepEqual(b.engine.sas(), []);
  });

  it("a retransmitted IKE_SA_INIT gets the cached answer and creates no second SA", async () => {
    const { b, sent } = responder({});
    const t = initTemplate();
    const data = initRequest(t);
    await b.engine.receive({ data, local: at(B), remote: at(A) });
    await b.engine.receive({ data, local: at(B), remote: at(A) });
    await settle();
    assert.equal(b.engine.halfOpen(), 1);
    assert.equal(sent.length, 2);
    assert.deepEqual(sent[0]!.data, sent[1]!.data);
  });
});
