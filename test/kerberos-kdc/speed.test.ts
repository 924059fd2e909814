/**
 * What the KDC's performance work must not change (docs/kdc.md "Performance"): the
 * derived-key cache and the per-deps enctype objects never hide a changed key, every AS
 * exchange reads the account's current groups, and the worker-thread pool keeps RFC 4120
 * §3.2.3 replay detection and retransmission answers, §7.2.2 TCP reply order, and sees
 * directory changes at the next request.
 */
import assert from "node:assert/strict";
import * as net from "node:net";
import { after, before, describe, it } from "node:test";
import { ticketWithZeroedPac } from "../../src/kerberos/acceptor/pac.js";
import { KeyUsage } from "../../src/kerberos/crypto/index.js";
import { createDerivedKeyCache } from "../../src/kerberos/crypto/index.js";
import { getEnctype } from "../../src/kerberos/crypto/index.js";
import { createKdcServer, type KdcServer } from "../../src/kerberos/kdc/server.js";
import { ticketPacBytes } from "../../src/kerberos/kdc/ticket.js";
import {
  decodeTgsReq,
  KRB_ERROR_CODE as E,
  encodePaPacRequest,
  encodeTgsReq,
  PA_TYPE,
} from "../../src/kerberos/messages/index.js";
import { filetimeFromMs, PAC_TYPE, verifyPac } from "../../src/kerberos/pac/index.js";
import { decodePacContainer } from "../../src/kerberos/pac/pactype.js";
import { runBin } from "../helpers/cli.js";
import { sendTcp, sendUdp } from "../kerberos-codec/kdc-proxy.js";
import {
  buildAsReq,
  buildTgsReq,
  type Creds,
  expectCreds,
  expectError,
  openServiceTicket,
  principal,
  readReply,
} from "./client.js";
import { createTestRealm, DOMAIN_SID, REALM, type TestRealm } from "./realm.js";

const alice = principal("alice");

/** Sends `msgs` as RFC 4120 §7.2.2 records in one TCP write; the replies in arrival order. */
function sendTcpMany(port: number, msgs: Uint8Array[]): Promise<Uint8Array[]> {
  const data = Buffer.concat(
    msgs.map((m) => {
      const b = Buffer.alloc(4 + m.length);
      b.writeUInt32BE(m.length, 0);
      b.set(m, 4);
      return b;
    }),
  );
  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0);
    const out: Uint8Array[] = [];
    const s = net.connect(port, "127.0.0.1", () => s.write(data));
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error(`only ${out.length} of ${msgs.length} TCP replies within 5 s`));
    }, 5000);
    s.on("error", reject);
    s.on("data", (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 4 && buf.length >= 4 + buf.readUInt32BE(0)) {
        const n = buf.readUInt32BE(0);
        out.push(new Uint8Array(buf.subarray(4, 4 + n)));
        buf = buf.subarray(4 + n);
      }
      if (out.length === msgs.length) {
        clearTimeout(timer);
        s.destroy();
        resolve(out);
      }
    });
  });
}
const server1 = principal("host", "server1.pkd.test");
const sid = (rid: number) => `${DOMAIN_SID}-${rid}`;

/** The group SIDs of the PAC in a TGT (krbtgt key `k`). */
function tgtGroups(r: TestRealm, c: Creds): string[] {
  const part = openServiceTicket(c.ticket, r.krbtgtKey);
  const k = { etype: 18, key: r.krbtgtKey };
  return [...verifyPac(ticketPacBytes(part)!, k, k).groupSids].sort();
}

function asReq(r: TestRealm, password: string, nowMs: number, nonce: number) {
  const key = { etype: 18, key: r.key("alice", password, 18) };
  return {
    key,
    bytes: buildAsReq({ realm: REALM, cname: alice, etypes: [18], key, nowMs, nonce }),
  };
}

/** alice's TGT from `r`'s KDC at its clock (password alice-pw). */
function tgtOf(r: TestRealm, nonce: number): Creds {
  const q = asReq(r, "alice-pw", r.clock.now, nonce);
  return expectCreds(
    readReply(r.kdc.handle(q.bytes, "udp").reply!, q.key, KeyUsage.AS_REP_ENC_PART),
  );
}

/** alice's TGS-REQ for host/server1.pkd.test with `tgt`. */
function tgsReq(tgt: Creds, nowMs: number, nonce: number): Uint8Array {
  return buildTgsReq({
    realm: REALM,
    tgt,
    cname: alice,
    sname: server1,
    etypes: [18],
    nowMs,
    nonce,
  });
}

/** The credentials of a TGS-REP sealed to `tgt`'s session key. */
function tgsCreds(reply: Uint8Array, tgt: Creds): Creds {
  return expectCreds(readReply(reply, tgt.sessionKey, KeyUsage.TGS_REP_ENC_PART_SESSION_KEY));
}

describe("KDC caches never hide a change (the next request sees it)", () => {
  it("MS-PAC §2.5: a group change shows in the very next AS exchange's TGT", () => {
    const r = createTestRealm();
    assert.ok(tgtGroups(r, tgtOf(r, 1)).includes(sid(1105)));
    r.db.setGroups("alice", [1109]);
    const groups = tgtGroups(r, tgtOf(r, 2));
    assert.ok(groups.includes(sid(1109)));
    assert.ok(!groups.includes(sid(1105)));
  });

  it("MS-PAC §2.5, §2.7: a PAC layout reused for an unchanged account has the new logon time and ClientId, byte for byte as freshly built and signed", () => {
    const warm = createTestRealm();
    const tgtPac = (r: TestRealm, nonce: number) => {
      const c = tgtOf(r, nonce);
      return { c, pac: ticketPacBytes(openServiceTicket(c.ticket, r.krbtgtKey))! };
    };
    const first = tgtPac(warm, 1);
    warm.clock.now += 61_000;
    const reused = tgtPac(warm, 2);
    const cold = createTestRealm();
    cold.clock.now = warm.clock.now;
    // The whole signed PAC: a TGT's signatures cover only the PAC (no ticket signature).
    assert.deepEqual(reused.pac, tgtPac(cold, 3).pac);
    assert.notDeepEqual(reused.pac, first.pac);
    const k = { etype: 18, key: warm.krbtgtKey };
    const part = openServiceTicket(reused.c.ticket, warm.krbtgtKey);
    const pac = verifyPac(ticketPacBytes(part)!, k, k);
    const authtime = filetimeFromMs(part.authtime.getTime());
    assert.equal(pac.logonInfo.logonTime, authtime);
    const raw = decodePacContainer(reused.pac).find((b) => b.type === PAC_TYPE.CLIENT_INFO)!.data;
    assert.equal(new DataView(raw.buffer, raw.byteOffset).getBigUint64(0, true), authtime);
  });

  it("RFC 4120 §3.1.5: a client key change applies to the next AS-REQ (old key PREAUTH_FAILED)", () => {
    const r = createTestRealm();
    const first = asReq(r, "alice-pw", r.clock.now, 1);
    expectCreds(
      readReply(r.kdc.handle(first.bytes, "udp").reply!, first.key, KeyUsage.AS_REP_ENC_PART),
    );
    r.db.put({ name: "alice", password: "new-pw", rid: 1104, groups: [1105] });
    const old = asReq(r, "alice-pw", r.clock.now, 2);
    assert.equal(
      expectError(r.kdc.handle(old.bytes, "udp").reply!).errorCode,
      E.KDC_ERR_PREAUTH_FAILED,
    );
    const fresh = asReq(r, "new-pw", r.clock.now, 3);
    expectCreds(
      readReply(r.kdc.handle(fresh.bytes, "udp").reply!, fresh.key, KeyUsage.AS_REP_ENC_PART),
    );
  });

  it("RFC 4120 §3.3.3: a service key change applies to the next TGS-REQ's ticket", () => {
    const r = createTestRealm();
    const tgt = tgtOf(r, 1);
    const ticketFor = (nonce: number) =>
      tgsCreds(r.kdc.handle(tgsReq(tgt, r.clock.now + nonce * 1000, nonce), "udp").reply!, tgt)
        .ticket;
    openServiceTicket(ticketFor(1), r.key("SERVER1$", "server1-pw", 18));
    const aliases = ["host/server1.pkd.test"];
    r.db.put({ name: "SERVER1$", password: "rotated-pw", rid: 1107, aliases, kvno: 2 });
    const t = ticketFor(2);
    assert.equal(t.encPart.kvno, 2);
    openServiceTicket(t, r.key("SERVER1$", "rotated-pw", 18));
    assert.throws(() => openServiceTicket(t, r.key("SERVER1$", "server1-pw", 18)));
  });

  it("RFC 4120 §3.3.3: a TGT kept decrypted is still checked per request: disabled client, expiry", () => {
    const r = createTestRealm();
    const key = { etype: 18, key: r.key("alice", "alice-pw", 18) };
    // A 2-minute TGT: it expires (plus the 5-minute skew) while the 10-minute cache holds it.
    const asBytes = buildAsReq({
      realm: REALM,
      cname: alice,
      etypes: [18],
      key,
      nowMs: r.clock.now,
      tillMs: r.clock.now + 2 * 60_000,
    });
    const tgt = expectCreds(
      readReply(r.kdc.handle(asBytes, "udp").reply!, key, KeyUsage.AS_REP_ENC_PART),
    );
    const tgs = (nonce: number) => r.kdc.handle(tgsReq(tgt, r.clock.now, nonce), "udp").reply!;
    const ok = (b: Uint8Array) => tgsCreds(b, tgt);
    ok(tgs(1));
    r.db.setEnabled("alice", false);
    assert.equal(expectError(tgs(2)).errorCode, E.KDC_ERR_CLIENT_REVOKED);
    r.db.setEnabled("alice", true);
    r.clock.now += 1000;
    ok(tgs(3));
    r.clock.now += 8 * 60_000;
    assert.equal(expectError(tgs(4)).errorCode, E.KRB_AP_ERR_TKT_EXPIRED);
  });

  it("RFC 4120 §3.3.2: a TGT that ends like a cached one but differs elsewhere is decrypted again (BAD_INTEGRITY)", () => {
    const r = createTestRealm();
    const tgt = tgtOf(r, 1);
    const tgs = (c: Creds, nonce: number) =>
      r.kdc.handle(tgsReq(c, r.clock.now, nonce), "udp").reply!;
    tgsCreds(tgs(tgt, 1), tgt);
    const cipher = Uint8Array.from(tgt.ticket.encPart.cipher);
    cipher[20]! ^= 1; // the cache's lookup key (length and last 16 bytes) is unchanged
    const forged = {
      ...tgt,
      ticket: { ...tgt.ticket, encPart: { ...tgt.ticket.encPart, cipher } },
    };
    assert.equal(expectError(tgs(forged, 2)).errorCode, E.KRB_AP_ERR_BAD_INTEGRITY);
  });

  it("MS-PAC §2.8: service tickets from one TGT (PAC layout kept with it) each carry their own server, KDC, ticket and full PAC signatures", () => {
    const r = createTestRealm();
    const tgt = tgtOf(r, 1);
    const serviceKey = { etype: 18, key: r.key("SERVER1$", "server1-pw", 18) };
    const kdcKey = { etype: 18, key: r.krbtgtKey };
    const pacs = [1, 2, 3].map((nonce) => {
      r.clock.now += 1000; // another starttime: another EncTicketPart to sign
      const c = tgsCreds(r.kdc.handle(tgsReq(tgt, r.clock.now, nonce), "udp").reply!, tgt);
      const part = openServiceTicket(c.ticket, serviceKey.key);
      const bytes = ticketPacBytes(part)!;
      const v = verifyPac(bytes, serviceKey, kdcKey, { ticket: ticketWithZeroedPac(part) });
      assert.deepEqual(v.verified, { server: true, kdc: true, extendedKdc: true, ticket: true });
      assert.ok(v.groupSids.includes(sid(1105)));
      return Buffer.from(bytes).toString("hex");
    });
    assert.equal(new Set(pacs).size, 3, "each ticket's PAC has its own signatures");
  });

  it("RFC 3961 §5.1: the derived-key cache notices a key object whose bytes changed in place", () => {
    const deps = {
      randomBytes: (n: number) => new Uint8Array(n),
      derivedKeys: createDerivedKeyCache(),
    };
    const e = getEnctype(18, deps);
    const key = getEnctype(18).randomToKey(new Uint8Array(32).fill(1));
    const before = e.checksum(key, 17, Uint8Array.of(1, 2, 3));
    key.fill(2);
    const changed = e.checksum(key, 17, Uint8Array.of(1, 2, 3));
    assert.notDeepEqual(changed, before);
    assert.deepEqual(changed, getEnctype(18).checksum(key, 17, Uint8Array.of(1, 2, 3)));
  });
});

describe("KDC with worker threads (createKdcServer workers: 2)", () => {
  let r: TestRealm;
  let server: KdcServer;
  let port = 0;
  const aliceKey = () => ({ etype: 18, key: r.key("alice", "alice-pw", 18) });
  const login = async (nonce: number): Promise<Creds> => {
    const q = asReq(r, "alice-pw", Date.now(), nonce);
    return expectCreds(readReply(await sendUdp(port, q.bytes), q.key, KeyUsage.AS_REP_ENC_PART));
  };
  const tgsNow = (tgt: Creds, nonce: number) => tgsReq(tgt, Date.now(), nonce);

  before(async () => {
    r = createTestRealm();
    server = createKdcServer({
      database: r.db,
      realm: REALM,
      krbtgtKeys: [{ etype: 18, kvno: 1, key: r.krbtgtKey }],
      listen: { address: "127.0.0.1", port: 0 },
      workers: 2,
    });
    assert.equal(server.workers, 2);
    port = (await server.start()).port;
  });
  after(async () => {
    await server?.stop();
  });

  it("§3.1: AS over UDP and TCP; a group change in the main thread's database shows in the next TGT", async () => {
    assert.ok(tgtGroups(r, await login(1)).includes(sid(1105)));
    r.db.setGroups("alice", [1110]);
    const q = asReq(r, "alice-pw", Date.now(), 2);
    const c = expectCreds(readReply(await sendTcp(port, q.bytes), q.key, KeyUsage.AS_REP_ENC_PART));
    assert.deepEqual(
      tgtGroups(r, c).filter((s) => s.endsWith("-1110") || s.endsWith("-1105")),
      [sid(1110)],
    );
    r.db.setGroups("alice", [1105, "S-1-18-1"]);
  });

  it("§3.2.3: one authenticator in two requests computed on two workers at once: one ticket, one KRB_AP_ERR_REPEAT", async () => {
    const tgt = await login(3);
    const req = tgsNow(tgt, 7);
    // The same body and authenticator with one more PA-DATA: other bytes, no lookaside hit.
    const decoded = decodeTgsReq(req);
    const replayed = encodeTgsReq({
      ...decoded,
      padata: [
        ...decoded.padata!,
        {
          padataType: PA_TYPE.PA_PAC_REQUEST,
          padataValue: encodePaPacRequest({ includePac: true }),
        },
      ],
    });
    const replies = await Promise.all([sendUdp(port, req), sendUdp(port, replayed)]);
    const kinds = replies.map((b) =>
      readReply(b, tgt.sessionKey, KeyUsage.TGS_REP_ENC_PART_SESSION_KEY),
    );
    const errors = kinds.filter((k) => "error" in k).map((k) => expectError(k).errorCode);
    assert.deepEqual(errors, [E.KRB_AP_ERR_REPEAT]);
    assert.ok((server.counters().errors.KRB_AP_ERR_REPEAT ?? 0) >= 1);
  });

  it("§3.2.3: the same TGS-REQ bytes twice at once get the same reply (a retransmission, not a replay)", async () => {
    const tgt = await login(4);
    const req = tgsNow(tgt, 9);
    const hits = server.counters().lookasideHits;
    const [a, b] = await Promise.all([sendUdp(port, req), sendUdp(port, req)]);
    assert.deepEqual(a, b);
    tgsCreds(a, tgt);
    assert.equal(server.counters().lookasideHits, hits + 1);
  });

  it("§7.2.2: replies on one TCP connection come back in request order", async () => {
    const tgt = await login(5);
    const reqs = [
      asReq(r, "alice-pw", Date.now(), 11).bytes,
      tgsNow(tgt, 12),
      asReq(r, "alice-pw", Date.now(), 13).bytes,
    ];
    const out = await sendTcpMany(port, reqs);
    assert.equal(out.length, 3);
    expectCreds(readReply(out[0]!, aliceKey(), KeyUsage.AS_REP_ENC_PART));
    tgsCreds(out[1]!, tgt);
    expectCreds(readReply(out[2]!, aliceKey(), KeyUsage.AS_REP_ENC_PART));
  });
});

describe("TCP reply order around a refused record (RFC 4120 §7.2.2)", () => {
  for (const workers of [0, 2]) {
    it(`workers: ${workers}: a request then a refused length in one write: its reply, then KRB_ERR_FIELD_TOOLONG, then close`, async () => {
      const r = createTestRealm();
      const server = createKdcServer({
        database: r.db,
        realm: REALM,
        krbtgtKeys: [{ etype: 18, kvno: 1, key: r.krbtgtKey }],
        listen: { address: "127.0.0.1", port: 0 },
        maxTcpRecordBytes: 4096,
        workers,
      });
      const { port } = await server.start();
      try {
        const q = asReq(r, "alice-pw", Date.now(), 1);
        const head = Buffer.alloc(4);
        head.writeUInt32BE(100_000, 0);
        const rec = Buffer.alloc(4 + q.bytes.length);
        rec.writeUInt32BE(q.bytes.length, 0);
        rec.set(q.bytes, 4);
        const out = await new Promise<Buffer>((resolve) => {
          const chunks: Buffer[] = [];
          const s = net.connect(port, "127.0.0.1", () => s.write(Buffer.concat([rec, head])));
          const timer = setTimeout(() => s.destroy(), 5000);
          s.on("data", (d) => chunks.push(d));
          s.on("error", () => undefined);
          s.on("close", () => {
            clearTimeout(timer);
            resolve(Buffer.concat(chunks));
          });
        });
        const first = out.readUInt32BE(0);
        const reply = new Uint8Array(out.subarray(4, 4 + first));
        expectCreds(readReply(reply, q.key, KeyUsage.AS_REP_ENC_PART));
        const second = new Uint8Array(out.subarray(8 + first));
        assert.equal(expectError(second).errorCode, E.KRB_ERR_FIELD_TOOLONG);
      } finally {
        await server.stop();
      }
    });
  }
});

describe("postern kdc --workers: bad input", () => {
  it("a worker count that is not 0..64 is a usage error (exit 2) naming the option", () => {
    for (const bad of ["-1", "x", "65"]) {
      const r = runBin(["kdc", "--db", "/nonexistent.json", "--port", "0", "--workers", bad]);
      assert.equal(r.code, 2, r.err);
      assert.match(r.err, /--workers/);
      assert.doesNotMatch(r.err, /\n\s+at /);
    }
  });
});
