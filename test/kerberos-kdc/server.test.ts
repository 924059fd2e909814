/**
 * The KDC's network shell (RFC 4120 §7.2): UDP and TCP on loopback, TCP record framing and
 * its limits, garbage that is dropped while the server keeps answering, counters; and the
 * `postern kdc` runner's bad input.
 */
import assert from "node:assert/strict";
import * as dgram from "node:dgram";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { KeyUsage } from "../../src/kerberos/crypto/index.js";
import { getEnctype } from "../../src/kerberos/crypto/index.js";
import { adSalt, createMemoryDatabase } from "../../src/kerberos/kdc/database.js";
import { kdcStarter } from "../../src/kerberos/kdc/dc-seam.js";
import { createKdc } from "../../src/kerberos/kdc/kdc.js";
import { createKdcServer, type KdcServer } from "../../src/kerberos/kdc/server.js";
import { decodeKrbMessage, KRB_ERROR_CODE as E } from "../../src/kerberos/messages/index.js";
import { runBin } from "../helpers/cli.js";
import { sendTcp, sendUdp } from "../kerberos-codec/kdc-proxy.js";
import {
  buildAsReq,
  expectCreds,
  expectError,
  openServiceTicket,
  principal,
  readReply,
} from "./client.js";
import { fixtureBytes, loadFixtures } from "../kerberos-codec/fixtures.js";
import { mutate, rng } from "./mutate.js";
import { createTestRealm, REALM } from "./realm.js";

const frame = (msg: Uint8Array) => {
  const b = Buffer.alloc(4 + msg.length);
  b.writeUInt32BE(msg.length, 0);
  b.set(msg, 4);
  return b;
};

/** Sends raw bytes over TCP and collects what comes back until the server closes or 2 s pass. */
function tcpRaw(port: number, data: Buffer): Promise<Buffer> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const s = net.connect(port, "127.0.0.1", () => s.write(data));
    const timer = setTimeout(() => s.destroy(), 2000);
    s.on("data", (d) => chunks.push(d));
    s.on("error", () => undefined);
    s.on("close", () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks));
    });
  });
}

describe("KDC server on loopback (RFC 4120 §7.2.1 UDP, §7.2.2 TCP)", () => {
  const realm = createTestRealm();
  let server: KdcServer;
  let port = 0;
  const aliceKey = { etype: 18, key: realm.key("alice", "alice-pw", 18) };
  const asReq = () =>
    buildAsReq({
      realm: REALM,
      cname: principal("alice"),
      etypes: [18],
      key: aliceKey,
      nowMs: Date.now(),
    });

  before(async () => {
    server = createKdcServer({
      database: realm.db,
      realm: REALM,
      krbtgtKeys: [{ etype: 18, kvno: 1, key: realm.krbtgtKey }],
      listen: { address: "127.0.0.1", port: 0 },
      maxTcpRecordBytes: 4096,
      idleTimeoutMs: 300,
    });
    port = (await server.start()).port;
  });
  after(async () => {
    await server?.stop();
  });

  it("§7.2.1: an AS-REQ over UDP gets a TGT (the reply fits the default 1465-byte limit)", async () => {
    const reply = await sendUdp(port, asReq());
    expectCreds(readReply(reply, aliceKey, KeyUsage.AS_REP_ENC_PART));
  });

  it("§7.2.2: two length-prefixed requests in one TCP write get two replies on the same connection", async () => {
    const out = await tcpRaw(port, Buffer.concat([frame(asReq()), frame(asReq())]));
    const first = out.readUInt32BE(0);
    const second = out.readUInt32BE(4 + first);
    assert.equal(out.length, 8 + first + second);
    for (const msg of [out.subarray(4, 4 + first), out.subarray(8 + first)])
      expectCreds(readReply(new Uint8Array(msg), aliceKey, KeyUsage.AS_REP_ENC_PART));
  });

  it("§7.2.2: a record longer than the limit, or with the reserved high bit, gets KRB_ERR_FIELD_TOOLONG and the connection closes", async () => {
    for (const len of [100_000, 0x80000010]) {
      const head = Buffer.alloc(4);
      head.writeUInt32BE(len >>> 0, 0);
      const out = await tcpRaw(port, head);
      assert.equal(expectError(new Uint8Array(out.subarray(4))).errorCode, E.KRB_ERR_FIELD_TOOLONG);
    }
    const c = server.counters();
    assert.equal(c.tcpRejected["record-too-long"], 1);
    assert.equal(c.tcpRejected["extension-bit"], 1);
  });

  it("an idle TCP connection with half a record is closed after the idle timeout", async () => {
    const out = await tcpRaw(port, Buffer.from([0, 0, 1, 0, 0x6a]));
    assert.equal(out.length, 0);
    assert.ok((server.counters().tcpRejected["idle-timeout"] ?? 0) >= 1);
  });

  it("garbage datagrams are dropped and counted; the server still answers over UDP and TCP", async () => {
    const s = dgram.createSocket("udp4");
    for (let i = 0; i < 50; i++) s.send(Buffer.from([i, 1, 2, 3, 0xff]), port, "127.0.0.1");
    await new Promise((r) => setTimeout(r, 100));
    s.close();
    expectCreds(readReply(await sendUdp(port, asReq()), aliceKey, KeyUsage.AS_REP_ENC_PART));
    expectCreds(readReply(await sendTcp(port, asReq()), aliceKey, KeyUsage.AS_REP_ENC_PART));
    const c = server.counters();
    assert.ok((c.drops["not-kerberos"] ?? 0) >= 40, JSON.stringify(c.drops));
    assert.ok((c.requests["AS-REQ"] ?? 0) >= 5);
  });

  it("1,000 mutated real MIT messages over UDP, then the server still answers", async () => {
    const seeds = [asReq(), ...loadFixtures().map(fixtureBytes)];
    const r = rng(0xbad);
    const s = dgram.createSocket("udp4");
    for (let i = 0; i < 1000; i++) {
      s.send(mutate(seeds[i % seeds.length]!, r), port, "127.0.0.1");
      if (i % 100 === 99) await new Promise((res) => setTimeout(res, 20));
    }
    await new Promise((res) => setTimeout(res, 200));
    s.close();
    expectCreds(readReply(await sendUdp(port, asReq()), aliceKey, KeyUsage.AS_REP_ENC_PART));
    assert.equal(server.counters().drops.internal ?? 0, 0);
  });

  it("§7.2.1 and no amplification: a KRB-ERROR over UDP above maxUdpAmplification times the request becomes RESPONSE_TOO_BIG (or nothing); an authenticated AS-REP is not bounded so", async () => {
    const tight = createKdcServer({
      database: realm.db,
      realm: REALM,
      krbtgtKeys: [{ etype: 18, kvno: 1, key: realm.krbtgtKey }],
      listen: { address: "127.0.0.1", port: 0 },
      maxUdpAmplification: 1,
    });
    const p = (await tight.start()).port;
    try {
      const noPreauth = buildAsReq({
        realm: REALM,
        cname: principal("alice"),
        etypes: [18, 17],
        nowMs: Date.now(),
      });
      // Over TCP the same request gets PREAUTH_REQUIRED (larger than the request) ...
      const viaTcp = expectError(await sendTcp(p, noPreauth));
      assert.equal(viaTcp.errorCode, E.KDC_ERR_PREAUTH_REQUIRED);
      // ... over UDP, RESPONSE_TOO_BIG no larger than the request.
      const rep = await sendUdp(p, noPreauth);
      assert.ok(rep.length <= noPreauth.length, `${rep.length} > ${noPreauth.length}`);
      assert.equal(expectError(rep).errorCode, E.KRB_ERR_RESPONSE_TOO_BIG);
      // A pre-authenticated AS-REQ still gets its AS-REP over UDP.
      expectCreds(readReply(await sendUdp(p, asReq()), aliceKey, KeyUsage.AS_REP_ENC_PART));
      assert.equal(tight.counters().udpAmplificationRefused, 1);
    } finally {
      await tight.stop();
    }
  });

  it("counters: requests by type and errors by code name", async () => {
    const bad = buildAsReq({
      realm: REALM,
      cname: principal("mallory"),
      etypes: [18],
      nowMs: Date.now(),
    });
    const m = decodeKrbMessage(await sendUdp(port, bad));
    assert.equal(m.type, "KRB-ERROR");
    assert.ok((server.counters().errors.KDC_ERR_C_PRINCIPAL_UNKNOWN ?? 0) >= 1);
  });
});

describe("the DC's startKdc seam (kdcStarter)", () => {
  it("serves the realm with krbtgt keys read from the directory as krbtgt/REALM", async () => {
    const krbtgt = getEnctype(18).generateKey();
    const db = createMemoryDatabase({
      realm: REALM,
      domainSid: "S-1-5-21-7-8-9",
      enctypes: [18],
      principals: [
        { name: "alice", password: "alice-pw", rid: 1104 },
        { name: `krbtgt/${REALM}`, keys: [{ etype: 18, kvno: 3, key: krbtgt }], rid: 502 },
      ],
    });
    const lines: string[] = [];
    const kdc = await kdcStarter({ realm: REALM })({
      principals: db,
      host: "127.0.0.1",
      port: 0,
      log: (l) => lines.push(l),
    });
    try {
      const port = Number(/127\.0\.0\.1:(\d+)/.exec(lines[0] ?? "")?.[1]);
      const key = {
        etype: 18,
        key: getEnctype(18).stringToKey("alice-pw", adSalt(REALM, "alice")),
      };
      const req = buildAsReq({
        realm: REALM,
        cname: principal("alice"),
        etypes: [18],
        key,
        nowMs: Date.now(),
      });
      const c = expectCreds(readReply(await sendUdp(port, req), key, KeyUsage.AS_REP_ENC_PART));
      assert.equal(c.ticket.encPart.kvno, 3);
      openServiceTicket(c.ticket, krbtgt);
    } finally {
      await kdc.close();
    }
    assert.match(lines.at(-1) ?? "", /kdc: stopped/);
  });

  it("without krbtgt keys anywhere, creating the KDC fails with one line", () => {
    const db = createMemoryDatabase({ realm: REALM, domainSid: "S-1-5-21-7-8-9", principals: [] });
    assert.throws(() => createKdc({ database: db, realm: REALM }), /no krbtgt\/PKD\.TEST keys/);
  });
});

describe("postern kdc: bad input", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pkd-cli-"));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("a missing --db is a usage error (exit 2); a broken file is one line naming the problem (exit 1)", () => {
    const u = runBin(["kdc", "--port", "0"]);
    assert.equal(u.code, 2);
    assert.match(u.err, /--db FILE\.json is required/);
    const file = path.join(dir, "db.json");
    fs.writeFileSync(
      file,
      JSON.stringify({
        realm: "X.TEST",
        domainSid: "S-1-5-21-1",
        krbtgtPassword: "k",
        principals: [],
      }),
    );
    const r = runBin(["kdc", "--db", file, "--port", "0"]);
    assert.equal(r.code, 1);
    assert.equal(r.err.trim().split("\n").length, 1, r.err);
    assert.match(r.err, /domainSid/);
    assert.doesNotMatch(r.err, /\n\s+at /);
    fs.writeFileSync(
      file,
      JSON.stringify({
        realm: "X.TEST",
        domainSid: "S-1-5-21-1-2-3",
        enctypes: [23],
        krbtgtPassword: "k",
        principals: [],
      }),
    );
    const rc4 = runBin(["kdc", "--db", file, "--port", "0"]);
    assert.equal(rc4.code, 1);
    assert.match(rc4.err, /rc4-hmac\) is not supported/);
    fs.writeFileSync(
      file,
      JSON.stringify({
        realm: "X.TEST",
        domainSid: "S-1-5-21-1-2-3",
        krbtgtPassword: "k",
        principals: [],
      }),
    );
    const busy = runBin(["kdc", "--db", file, "--address", "203.0.113.9", "--port", "0"]);
    assert.equal(busy.code, 1);
    assert.match(busy.err, /cannot listen on 203\.0\.113\.9:0 \(EADDRNOTAVAIL\)/);
  });
});
