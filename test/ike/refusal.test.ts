/**
 * POSTERN_NOT_ADMITTED (src/ike/refusal.ts): a responder tells its initiator, inside the
 * IKE SA, why it is not admitted. Only a message sealed with the SA's keys carries it: a
 * replayed one is a retransmission (answered from the cache, not handled again), a forged
 * one (in clear, or with a changed byte) is a counted drop.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { dhGenerateFast, randomBytes } from "../../src/crypto/primitives.js";
import { ExchangeType } from "../../src/ike/constants.js";
import { createIkeEngine } from "../../src/ike/engine.js";
import { encodeMessage } from "../../src/ike/message.js";
import { notify } from "../../src/ike/payloads/notify.js";
import {
  decodeRefusal,
  encodeRefusal,
  POSTERN_NOT_ADMITTED,
  type RefusalNotice,
} from "../../src/ike/refusal.js";
import { createFakeNetwork } from "../../src/ike/transport.js";
import type { Datagram } from "../../src/ike/types.js";
import { A, B, manualClock, peer, settle } from "./helpers.js";

function sides() {
  const net = createFakeNetwork();
  const clock = manualClock();
  const mk = (me: string, other: string) => {
    const t = net.transport(me);
    const s = {
      sent: [] as Datagram[],
      notices: [] as { spis: string; n: RefusalNotice }[],
      logs: [] as string[],
      engine: undefined as unknown as ReturnType<typeof createIkeEngine>,
    };
    s.engine = createIkeEngine({
      peers: [peer({ localAddress: me, remoteAddress: other })],
      clock,
      random: randomBytes,
      send: (d) => {
        s.sent.push({ data: Buffer.from(d.data), local: { ...d.local }, remote: { ...d.remote } });
        t.send(d);
      },
      log: (l) => s.logs.push(l),
      dh: dhGenerateFast,
      onChildSa: () => undefined,
      onChildSaDeleted: () => undefined,
      onRefusal: (spis, n) => s.notices.push({ spis, n }),
      options: { livenessMs: 0 },
    });
    t.onReceive((d) => void s.engine.receive(d));
    return s;
  };
  return { a: mk(A, B), b: mk(B, A) };
}

/** The datagram b sent to a as an INFORMATIONAL request (exchange type at byte 18). */
const informational = (sent: Datagram[]) =>
  sent.filter((d) => d.data[18] === ExchangeType.INFORMATIONAL && (d.data[19]! & 0x20) === 0);

describe("POSTERN_NOT_ADMITTED: the client told why, inside the IKE SA", () => {
  it("the codec: reason and group round-trip; bad data names what is wrong", () => {
    const n: RefusalNotice = { reason: "not-in-bypass-list", group: "trusted" };
    assert.deepEqual(decodeRefusal(encodeRefusal(n)), n);
    assert.deepEqual(decodeRefusal(encodeRefusal({ reason: "not-kerberos", group: null })), {
      reason: "not-kerberos",
      group: null,
    });
    assert.deepEqual(decodeRefusal(Buffer.from([1, 5, 0, 0])), { reason: "revoked", group: null });
    assert.throws(() => decodeRefusal(Buffer.from([1, 9, 0, 0])), /unknown reason code 9/);
    assert.throws(() => decodeRefusal(Buffer.from([2, 1, 0, 0])), /version 2/);
    assert.throws(() => decodeRefusal(Buffer.from([1, 1, 0, 5, 65])), /length 5, 1 bytes left/);
    assert.ok(POSTERN_NOT_ADMITTED >= 40960 && POSTERN_NOT_ADMITTED <= 65535, "private range");
  });

  it("the responder's notice reaches the initiator once; a replay and forgeries are ignored", async () => {
    const { a, b } = sides();
    a.engine.initiate(`to-${B}`);
    await settle();
    const [sa] = b.engine.sas();
    assert.equal(sa?.state, "established");
    assert.equal(
      a.engine.tellRefusal(sa.spis, { reason: "no-pac", group: null }),
      false,
      "only a responder tells",
    );
    assert.equal(
      b.engine.tellRefusal(sa.spis, { reason: "not-in-bypass-list", group: "trusted" }),
      true,
    );
    await settle();
    assert.deepEqual(a.notices, [
      { spis: sa.spis, n: { reason: "not-in-bypass-list", group: "trusted" } },
    ]);
    const [req] = informational(b.sent);
    assert.ok(req, "b sent an INFORMATIONAL request");

    // replayed: the same datagram again is a retransmission, answered from the cache
    const answered = a.sent.length;
    await a.engine.receive({ data: req.data, local: req.remote, remote: req.local });
    await settle();
    assert.equal(a.notices.length, 1, "a replay is not handled twice");
    assert.equal(a.sent.length, answered + 1, "the cached answer is sent again");

    // forged in clear with the SA's SPIs and the next message ID: no SK payload, dropped
    const drops0 = Object.values(a.engine.stats()).reduce((x, y) => x + y, 0);
    const clear = encodeMessage(
      {
        spiI: req.data.subarray(0, 8),
        spiR: req.data.subarray(8, 16),
        majorVersion: 2,
        minorVersion: 0,
        exchangeType: ExchangeType.INFORMATIONAL,
        initiator: false,
        response: false,
        messageId: req.data.readUInt32BE(20) + 1,
      },
      [notify(POSTERN_NOT_ADMITTED, encodeRefusal({ reason: "no-pac", group: "forged" }))],
    );
    await a.engine.receive({ data: clear, local: req.remote, remote: req.local });
    // forged inside: the sealed request with the next message ID and one byte changed
    const tampered = Buffer.from(req.data);
    tampered.writeUInt32BE(req.data.readUInt32BE(20) + 1, 20);
    const at = tampered.length - 20;
    tampered.writeUInt8((tampered.readUInt8(at) ^ 1) & 255, at);
    await a.engine.receive({ data: tampered, local: req.remote, remote: req.local });
    await settle();
    assert.equal(a.notices.length, 1, "no forged notice is taken");
    const drops = Object.values(a.engine.stats()).reduce((x, y) => x + y, 0);
    assert.equal(drops - drops0, 2, "both forgeries are counted drops");
  });

  it("revoked: the notice, then the DELETE, in order in one SA; the initiator has both", async () => {
    const { a, b } = sides();
    a.engine.initiate(`to-${B}`);
    await settle();
    const [sa] = b.engine.sas();
    assert.equal(sa?.state, "established");
    // what immediate revocation does (agent/core.ts): tell, then delete, same queue
    assert.equal(b.engine.tellRefusal(sa.spis, { reason: "revoked", group: "trusted" }), true);
    assert.equal(b.engine.deleteIkeSa(sa.spis), true);
    await settle();
    assert.deepEqual(a.notices, [{ spis: sa.spis, n: { reason: "revoked", group: "trusted" } }]);
    assert.equal(a.engine.sas().length, 0, "the initiator closed the SA on the DELETE");
    assert.equal(informational(b.sent).length, 2, "two requests: the notice, then the DELETE");
  });
});
