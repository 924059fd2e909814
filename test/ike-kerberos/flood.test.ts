/**
 * IKE under flood (RFC 7296 §2.6): while IKE_SA_INIT requests from 20,000 spoofed source
 * addresses arrive at the responder, a legitimate Kerberos peer still completes its IKE SA
 * and child SA. The half-open SAs stay at the cookie threshold (+ the legitimate one), the
 * spoofed requests past it cost a COOKIE answer and no state. In-process, over the fake
 * network (the flood never reaches a socket); the figures go to docs/ike.md.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import v8 from "node:v8";
import vm from "node:vm";
import { randomBytes } from "../../src/crypto/primitives.js";
import { createKerberosAuth } from "../../src/ike/kerberos-auth.js";
import { selectorFromCidr } from "../../src/ike/selectors.js";
import { createFakeNetwork } from "../../src/ike/transport.js";
import { createReplayCache } from "../../src/kerberos/acceptor/index.js";
import { getEnctype } from "../../src/kerberos/crypto/index.js";
import { NAME_TYPE, parsePrincipal } from "../../src/kerberos/principal.js";
import { initRequest, initTemplate, spoofed } from "../ike/flood.js";
import { A, B, manualClock, peer, settle, side } from "../ike/helpers.js";
import { CLIENT_ID, SERVER_ID } from "./setup.js";
import { makeServiceTicket } from "./tickets.js";

const T0 = Date.UTC(2026, 10, 27, 9, 0, 0);
const now = () => T0;
const SERVER = parsePrincipal(
  "host/server1.bigfirm.test@BIGFIRM.TEST",
  undefined,
  NAME_TYPE.NT_SRV_HST,
);
const CLIENT = parsePrincipal("host/xp.bigfirm.test@BIGFIRM.TEST", undefined, NAME_TYPE.NT_SRV_HST);
const FLOOD = 20_000;
const BATCH = 250;
/** The legitimate peer starts once this many flood packets have arrived. */
const START_AFTER = 1_000;
const COOKIE_THRESHOLD = 64;

v8.setFlagsFromString("--expose-gc");
const gc = vm.runInNewContext("gc") as () => void;
/** Heap in use after a full collection: what the engine keeps, not its garbage. */
function retainedHeap(): number {
  gc();
  return process.memoryUsage().heapUsed;
}

function krbSides() {
  const svc = { etype: 18, key: getEnctype(18).generateKey(), kvno: 3 };
  const ticket = makeServiceTicket({
    client: CLIENT,
    service: SERVER,
    serviceKey: svc,
    startMs: T0 - 60_000,
    endMs: T0 + 3600_000,
  });
  const keytab = {
    entries: [
      {
        principal: SERVER,
        timestamp: 0,
        kvno: svc.kvno,
        key: { keytype: svc.etype, keyvalue: svc.key },
      },
    ],
  };
  const net = createFakeNetwork();
  const clock = manualClock();
  const a = side(net, clock, A, [
    peer({
      localAddress: A,
      remoteAddress: B,
      localId: CLIENT_ID,
      remoteId: SERVER_ID,
      auth: createKerberosAuth({ initiator: { getServiceTicket: () => ticket, now, randomBytes } }),
    }),
  ]);
  const responderPeer = {
    ...peer({
      localAddress: B,
      remoteAddress: A,
      localId: SERVER_ID,
      remoteTs: [selectorFromCidr(`${A}/32`)],
      auth: createKerberosAuth({
        responder: { keytab, replayCache: createReplayCache({ now }), now, randomBytes },
      }),
    }),
    remoteAddress: "%any",
  };
  const b = side(net, clock, B, [responderPeer], { cookieThreshold: COOKIE_THRESHOLD });
  return { net, clock, a, b };
}

describe("IKE under an IKE_SA_INIT flood from spoofed addresses (RFC 7296 §2.6)", () => {
  it(`a Kerberos peer completes its IKE SA while ${FLOOD} spoofed IKE_SA_INIT arrive; half-open SAs stay at the cookie threshold`, async (t) => {
    // Baseline: the same exchange with no flood.
    const quiet = krbSides();
    const q0 = performance.now();
    quiet.a.engine.initiate(`to-${B}`);
    while (!quiet.a.states.includes("established") && performance.now() - q0 < 10_000)
      await new Promise((r) => setImmediate(r));
    const quietMs = performance.now() - q0;
    assert.deepEqual(quiet.a.states, ["established"], quiet.a.logs.join("\n"));

    const { a, b } = krbSides();
    const tpl = initTemplate();
    const retained0 = retainedHeap();
    const heap0 = process.memoryUsage().heapUsed;
    let heapPeak = heap0;
    let maxHalfOpen = 0;
    let startedAt = 0;
    let establishedAt = 0;
    let sentWhenEstablished = 0;
    const t0 = performance.now();
    for (let i = 0; i < FLOOD; i++) {
      await b.engine.receive({
        data: initRequest(tpl),
        local: { address: B, port: 500 },
        remote: { address: spoofed(i), port: 500 },
      });
      if (i === START_AFTER) {
        startedAt = performance.now();
        a.engine.initiate(`to-${B}`);
      }
      if (i % BATCH === 0) {
        await new Promise((r) => setImmediate(r)); // the fake network's deliveries run here
        maxHalfOpen = Math.max(maxHalfOpen, b.engine.halfOpen());
        heapPeak = Math.max(heapPeak, process.memoryUsage().heapUsed);
        if (!establishedAt && a.states.includes("established")) {
          establishedAt = performance.now();
          sentWhenEstablished = i;
        }
      }
    }
    const floodMs = performance.now() - t0;
    await settle();
    const retainedGrowth = retainedHeap() - retained0;
    assert.ok(establishedAt > 0, `established during the flood: ${a.logs.join("\n")}`);
    assert.deepEqual(a.states, ["established"]);
    assert.equal(b.states.filter((s) => s === "established").length, 1);
    assert.equal(a.children.length, 1);
    assert.equal(b.children[0]?.spiIn, a.children[0]?.spiOut);
    assert.ok(a.logs.some((l) => l.includes("responder asked for a COOKIE")));
    assert.ok(
      maxHalfOpen <= COOKIE_THRESHOLD + 1,
      `half-open SAs peaked at ${maxHalfOpen}, more than the threshold + the legitimate one`,
    );
    const stats = b.engine.stats();
    assert.equal(stats.cookie_required, FLOOD - COOKIE_THRESHOLD + 1, JSON.stringify(stats));
    const toSaMs = establishedAt - startedAt;
    assert.ok(toSaMs < 10_000, `time to SA under flood ${toSaMs} ms`);
    const figures = {
      flood: FLOOD,
      floodPerSec: Math.round(FLOOD / (floodMs / 1000)),
      maxHalfOpen,
      heapPeakGrowthMiB: +((heapPeak - heap0) / 2 ** 20).toFixed(1),
      retainedGrowthKiB: Math.round(retainedGrowth / 1024),
      quietToSaMs: +quietMs.toFixed(1),
      floodToSaMs: +toSaMs.toFixed(1),
      floodPacketsBeforeSa: sentWhenEstablished - START_AFTER,
      cookieRequired: stats.cookie_required,
    };
    t.diagnostic(`figures ${JSON.stringify(figures)}`);
    assert.ok(retainedGrowth < 16 * 2 ** 20, `the engine kept ${retainedGrowth} bytes`);
  });
});

describe("what a half-open IKE SA costs", () => {
  it("1,000 half-open SAs (cookies off, limit 1,000): retained heap per SA, and the 1,001st refused", async (t) => {
    const net = createFakeNetwork();
    const r = side(
      net,
      manualClock(),
      B,
      [{ ...peer({ localAddress: B, remoteAddress: A }), remoteAddress: "%any" }],
      { cookieThreshold: 1_000_000, halfOpenLimit: 1_000 },
    );
    const tpl = initTemplate();
    const packets = Array.from({ length: 1_001 }, () => initRequest(tpl));
    const before = retainedHeap();
    for (const [i, data] of packets.entries())
      await r.engine.receive({
        data,
        local: { address: B, port: 500 },
        remote: { address: spoofed(i), port: 500 },
      });
    await settle();
    const perSa = (retainedHeap() - before) / 1_000;
    assert.equal(r.engine.halfOpen(), 1_000);
    assert.equal(r.engine.stats().half_open_limit, 1);
    t.diagnostic(
      `figures ${JSON.stringify({ halfOpen: 1000, retainedBytesPerHalfOpenSa: Math.round(perSa) })}`,
    );
    assert.ok(perSa < 64 * 1024, `${perSa} bytes per half-open SA`);
  });
});
