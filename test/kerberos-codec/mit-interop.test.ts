/**
 * Interop with real MIT Kerberos 1.20 (Debian krb5-kdc, krb5-user, krb5-admin-server):
 * a throw-away realm, MIT's own keytab and ccache read by us, ours read by MIT's klist and
 * used by MIT's kinit/kvno, and real AS/TGS messages captured through a loopback proxy and
 * decoded (and re-encoded byte for byte). With PKC_WRITE_FIXTURES=1 the captured messages
 * are saved to fixtures/mit-1.20.json (see fixtures/README.md).
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import {
  cacheConfigEntries,
  isCacheConfigEntry,
  makeCacheConfigEntry,
  parseCcache,
  readCcacheFile,
  serializeCcache,
  writeCcacheFile,
} from "../../src/kerberos/files/ccache.js";
import {
  parseKeytab,
  readKeytabFile,
  serializeKeytab,
  writeKeytabFile,
} from "../../src/kerberos/files/keytab.js";
import {
  decodeApReq,
  decodeAsRep,
  decodeAsReq,
  decodeEtypeInfo2,
  decodeKrbError,
  decodeKrbMessage,
  decodeMethodData,
  decodePaEncTimestamp,
  decodeTgsRep,
  decodeTgsReq,
  decodeTicket,
  encodeAsReq,
  encodeTicket,
  findPaData,
  KDC_OPTIONS,
  KRB_ERROR_CODE,
  kdcReqBodyBytes,
  PA_TYPE,
} from "../../src/kerberos/messages/index.js";
import { formatPrincipal } from "../../src/kerberos/principal.js";
import { type Captured, type KdcProxy, sendTcp, sendUdp, startKdcProxy } from "./kdc-proxy.js";
import { createMitRealm, freePort, haveMit, type MitRealm } from "./mit-realm.js";
import { encodeFixture, FIXTURE_FILE, type FixtureMessage, reencode } from "./fixtures.js";

const SERVICE = "host/server.mit.test";
const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

describe("MIT Kerberos 1.20 interop: keytab, ccache and captured messages", {
  skip: haveMit()
    ? false
    : "skipped: MIT Kerberos tools (krb5-kdc, krb5-user, krb5-admin-server) missing",
}, () => {
  let realm: MitRealm;
  let proxy: KdcProxy;
  let clientEnv: NodeJS.ProcessEnv;

  before(async () => {
    realm = await createMitRealm("interop");
    realm.ok("kadmin.local", ["-q", "addprinc -pw alice-password alice"]);
    realm.ok("kadmin.local", ["-q", `addprinc -randkey ${SERVICE}`]);
    realm.ok("kadmin.local", ["-q", `ktadd -k ${realm.dir}/mit.keytab ${SERVICE}`]);
    await realm.startKdc();
    proxy = await startKdcProxy(await freePort(), realm.port);
    const conf = path.join(realm.dir, "krb5-proxy.conf");
    realm.writeClientConfig(conf, `127.0.0.1:${proxy.port}`);
    clientEnv = { KRB5_CONFIG: conf, KRB5CCNAME: `FILE:${realm.dir}/mit.ccache` };
    await realm.okAsync("kinit", ["alice"], { input: "alice-password\n", env: clientEnv });
    await realm.okAsync("kvno", [SERVICE], { env: clientEnv });
  });

  const extra: Uint8Array[] = [];

  after(async () => {
    if (process.env.PKC_WRITE_FIXTURES === "1" && proxy)
      writeFixtures(proxy.captured, extra, realm.dir);
    await proxy?.close();
    realm?.stop();
  });

  it("reads MIT's keytab v2: entries, kvnos, enctypes 17/18/19/20 and keys as klist -K shows", () => {
    const bytes = fs.readFileSync(`${realm.dir}/mit.keytab`);
    const kt = parseKeytab(bytes);
    assert.deepEqual(
      kt.entries.map((e) => [formatPrincipal(e.principal), e.kvno, e.key.keytype]).sort(),
      [18, 17, 20, 19].map((t) => [`${SERVICE}@MIT.TEST`, 2, t]).sort(),
    );
    const listed = realm.ok("klist", ["-k", "-e", "-K", `${realm.dir}/mit.keytab`]);
    for (const e of kt.entries)
      assert.ok(listed.includes(`0x${hex(e.key.keyvalue)}`), "key bytes match klist -K");
    assert.deepEqual(Buffer.from(serializeKeytab(kt)), bytes, "re-serialised byte for byte");
  });

  it("MIT klist -k -e reads a keytab we wrote (32-bit kvno trailer), and kinit -k uses it", () => {
    const mit = readKeytabFile(`FILE:${realm.dir}/mit.keytab`);
    const ours = `${realm.dir}/ours.keytab`;
    const extra = {
      principal: { realm: "MIT.TEST", name: { nameType: 1, nameString: ["kvno", "trailer"] } },
      timestamp: 1_700_000_000,
      kvno: 300,
      key: { keytype: 17, keyvalue: new Uint8Array(16).fill(7) },
    };
    writeKeytabFile(ours, {
      entries: [...mit.entries.map((e) => ({ ...e, timestamp: 1_700_000_000 })), extra],
    });
    assert.equal(fs.statSync(ours).mode & 0o777, 0o600);
    const listed = realm.ok("klist", ["-k", "-e", ours]);
    for (const name of [
      "aes256-cts-hmac-sha1-96",
      "aes128-cts-hmac-sha1-96",
      "aes256-cts-hmac-sha384-192",
      "aes128-cts-hmac-sha256-128",
    ]) {
      assert.match(listed, new RegExp(`2 .*${SERVICE}@MIT.TEST \\(${name}\\)`));
    }
    assert.match(listed, /300 .*kvno\/trailer@MIT.TEST \(aes128-cts-hmac-sha1-96\)/);
    realm.ok("kinit", ["-k", "-t", ours, SERVICE], {
      env: { KRB5CCNAME: `FILE:${realm.dir}/kt.ccache` },
    });
    assert.equal(
      readCcacheFile(`${realm.dir}/kt.ccache`).defaultPrincipal.name.nameString.join("/"),
      SERVICE,
    );
  });

  it("reads the ccache v4 MIT kinit and kvno wrote: principal, tickets, session keys, times, X-CACHECONF", () => {
    const bytes = fs.readFileSync(`${realm.dir}/mit.ccache`);
    const cc = parseCcache(bytes);
    assert.equal(formatPrincipal(cc.defaultPrincipal), "alice@MIT.TEST");
    // header tag 1: KDC clock minus ours; same host, so within a second
    assert.ok(cc.timeOffset && Math.abs(cc.timeOffset.seconds) <= 1, JSON.stringify(cc.timeOffset));
    const creds = cc.credentials.filter((c) => !isCacheConfigEntry(c));
    assert.deepEqual(
      creds.map((c) => formatPrincipal(c.server)),
      ["krbtgt/MIT.TEST@MIT.TEST", `${SERVICE}@MIT.TEST`],
    );
    for (const c of creds) {
      assert.equal(c.key.keytype, 18, "aes256-cts-hmac-sha1-96 session key");
      assert.equal(c.key.keyvalue.length, 32);
      assert.equal(c.endtime - c.authtime, 10 * 3600, "max_life 10h");
      const t = decodeTicket(c.ticket);
      assert.equal(formatPrincipal({ realm: t.realm, name: t.sname }), formatPrincipal(c.server));
      assert.equal(t.encPart.etype, 18);
      assert.deepEqual(
        Buffer.from(encodeTicket(t)),
        Buffer.from(c.ticket),
        "ticket re-encodes byte for byte",
      );
    }
    assert.equal(creds[1]!.authtime, creds[0]!.authtime, "service ticket keeps the TGT's authtime");
    const conf = cacheConfigEntries(cc).map((e) => [e.key, Buffer.from(e.value).toString()]);
    assert.ok(
      conf.some(([k, v]) => k === "pa_type" && v === "2"),
      `pa_type=2 (encrypted timestamp) in ${JSON.stringify(conf)}`,
    );
    assert.deepEqual(Buffer.from(serializeCcache(cc)), bytes, "re-serialised byte for byte");
  });

  it("MIT klist -e / -C reads a ccache we wrote (with an X-CACHECONF entry), and MIT kvno gets a service ticket with our copy of its TGT", () => {
    const mit = readCcacheFile(`${realm.dir}/mit.ccache`);
    const tgt = mit.credentials.find((c) => c.server.name.nameString[0] === "krbtgt")!;
    const ours = `${realm.dir}/ours.ccache`;
    writeCcacheFile(ours, {
      timeOffset: { seconds: 0, microseconds: 0 },
      defaultPrincipal: mit.defaultPrincipal,
      credentials: [
        makeCacheConfigEntry(
          mit.defaultPrincipal,
          "pa_type",
          new TextEncoder().encode("2"),
          tgt.server,
        ),
        { ...tgt, ticket: encodeTicket(decodeTicket(tgt.ticket)) },
      ],
    });
    assert.equal(fs.statSync(ours).mode & 0o777, 0o600);
    const listed = realm.ok("klist", ["-e", "-c", ours]);
    assert.match(listed, /Default principal: alice@MIT.TEST/);
    assert.match(listed, /krbtgt\/MIT.TEST@MIT.TEST/);
    assert.match(listed, /Etype \(skey, tkt\): aes256-cts-hmac-sha1-96, aes256-cts-hmac-sha1-96/);
    assert.match(
      realm.ok("klist", ["-C", "-c", ours]),
      /config: pa_type\(krbtgt\/MIT.TEST@MIT.TEST\) = 2/,
    );
    realm.ok("kvno", [SERVICE], { env: { KRB5CCNAME: `FILE:${ours}` } });
    const after = readCcacheFile(ours);
    assert.ok(after.credentials.some((c) => formatPrincipal(c.server) === `${SERVICE}@MIT.TEST`));
  });

  it("decodes the real AS/TGS exchange captured from MIT kinit and kvno (RFC 4120 §5.4, §5.9.1)", () => {
    const msgs = proxy.captured;
    const asReqs = msgs.filter((m) => decodeKrbMessage(m.request).type === "AS-REQ");
    assert.equal(asReqs.length, 2, "AS-REQ without, then with, pre-authentication");
    const first = decodeAsReq(asReqs[0]!.request);
    assert.deepEqual(first.reqBody.cname?.nameString, ["alice"]);
    assert.deepEqual(first.reqBody.sname?.nameString, ["krbtgt", "MIT.TEST"]);
    for (const e of [17, 18, 19, 20])
      assert.ok(first.reqBody.etype.includes(e), `etype ${e} offered`);
    const err = decodeKrbError(asReqs[0]!.reply);
    assert.equal(err.errorCode, KRB_ERROR_CODE.KDC_ERR_PREAUTH_REQUIRED);
    const info = decodeEtypeInfo2(
      findPaData(decodeMethodData(err.eData!), PA_TYPE.PA_ETYPE_INFO2)!.padataValue,
    );
    assert.equal(info[0]!.etype, 18);
    assert.equal(info[0]!.salt, "MIT.TESTalice");

    const second = decodeAsReq(asReqs[1]!.request);
    const ts = decodePaEncTimestamp(
      findPaData(second.padata, PA_TYPE.PA_ENC_TIMESTAMP)!.padataValue,
    );
    assert.equal(ts.etype, 18);
    const rep = decodeAsRep(asReqs[1]!.reply);
    assert.deepEqual(rep.cname.nameString, ["alice"]);
    assert.deepEqual(rep.ticket.sname.nameString, ["krbtgt", "MIT.TEST"]);
    assert.equal(rep.encPart.etype, 18);

    const tgs = msgs.find((m) => decodeKrbMessage(m.request).type === "TGS-REQ")!;
    const tgsReq = decodeTgsReq(tgs.request);
    assert.deepEqual(tgsReq.reqBody.sname?.nameString, SERVICE.split("/"));
    const apReq = decodeApReq(findPaData(tgsReq.padata, PA_TYPE.PA_TGS_REQ)!.padataValue);
    assert.deepEqual(
      encodeTicket(apReq.ticket),
      encodeTicket(rep.ticket),
      "PA-TGS-REQ carries the TGT",
    );
    assert.equal(apReq.authenticator.etype, 18);
    assert.ok(kdcReqBodyBytes(tgs.request).length > 0);
    const tgsRep = decodeTgsRep(tgs.reply);
    assert.deepEqual(tgsRep.ticket.sname.nameString, SERVICE.split("/"));
    assert.equal(tgsRep.ticket.encPart.kvno, 2);

    for (const m of msgs) {
      assert.equal(hex(reencode(m.request)), hex(m.request), "request re-encodes byte for byte");
      assert.equal(hex(reencode(m.reply)), hex(m.reply), "reply re-encodes byte for byte");
    }
  });

  it("MIT krb5kdc answers AS-REQs we send: the captured one, and ours (PREAUTH_REQUIRED, C_PRINCIPAL_UNKNOWN)", async () => {
    const captured = proxy.captured.find(
      (m) => decodeKrbMessage(m.request).type === "AS-REQ",
    )!.request;
    const viaUdp = decodeKrbError(await sendUdp(realm.port, captured));
    assert.equal(viaUdp.errorCode, KRB_ERROR_CODE.KDC_ERR_PREAUTH_REQUIRED);

    const req = decodeAsReq(captured);
    const ours = {
      reqBody: {
        ...req.reqBody,
        kdcOptions: KDC_OPTIONS.forwardable | KDC_OPTIONS.renewableOk,
        nonce: 0x12345678,
        etype: [17, 18],
      },
    };
    const viaTcp = decodeKrbError(await sendTcp(realm.port, encodeAsReq(ours)));
    assert.equal(viaTcp.errorCode, KRB_ERROR_CODE.KDC_ERR_PREAUTH_REQUIRED);
    const entries = decodeEtypeInfo2(
      findPaData(decodeMethodData(viaTcp.eData!), PA_TYPE.PA_ETYPE_INFO2)!.padataValue,
    );
    assert.equal(entries[0]!.etype, 17, "MIT follows the preference order of our etype list");
    assert.equal(entries[0]!.salt, "MIT.TESTalice");

    const nobody = encodeAsReq({
      reqBody: { ...ours.reqBody, cname: { nameType: 1, nameString: ["nobody"] } },
    });
    const unknown = decodeKrbError(await sendUdp(realm.port, nobody));
    assert.equal(unknown.errorCode, KRB_ERROR_CODE.KDC_ERR_C_PRINCIPAL_UNKNOWN);
    assert.deepEqual(unknown.cname?.nameString, ["nobody"]);
    extra.push(await sendUdp(realm.port, nobody));
  });
});

function writeFixtures(msgs: Captured[], extra: Uint8Array[], dir: string): void {
  const out: FixtureMessage[] = [];
  const seen = new Set<string>();
  for (const m of [...msgs, ...extra.map((e) => ({ request: e, reply: e }))]) {
    for (const bytes of [m.request, m.reply]) {
      const f = encodeFixture(bytes);
      if (!seen.has(f.name)) {
        seen.add(f.name);
        out.push(f);
      }
    }
  }
  const apReq = decodeTgsReq(
    msgs.find((m) => decodeKrbMessage(m.request).type === "TGS-REQ")!.request,
  );
  const ap = findPaData(apReq.padata, PA_TYPE.PA_TGS_REQ)!.padataValue;
  out.push({ name: "ap-req-in-pa-tgs-req", type: "AP-REQ", hex: hex(ap) });
  fs.writeFileSync(
    FIXTURE_FILE,
    `${JSON.stringify(
      {
        source: "MIT Kerberos 1.20.1 (Debian 12) kinit/kvno against krb5kdc, captured on loopback",
        messages: out,
        files: {
          keytab: hex(fs.readFileSync(`${dir}/mit.keytab`)),
          ccache: hex(fs.readFileSync(`${dir}/mit.ccache`)),
        },
      },
      null,
      2,
    )}\n`,
  );
}
