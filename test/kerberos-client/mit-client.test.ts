/**
 * Our client and acceptor against real MIT Kerberos 1.20 (krb5kdc, kinit, klist, kvno,
 * kadmin.local) in a throw-away realm on loopback (the realm helper of
 * test/kerberos-codec/mit-realm.ts):
 *   - `postern kinit` with a password and with a keytab, both enctype families;
 *   - `postern kvno host/...` (TGS exchange), checked against MIT kvno;
 *   - MIT `klist -e` reads our cache, our `klist` prints MIT's cache as MIT's klist does;
 *   - our acceptor accepts our client's AP-REQ for a service whose keytab kadmin.local
 *     exported, verifies MIT's PAC (server and KDC signatures), answers with an AP-REP;
 *     replay, skew and a wrong key are refused with the right KRB-ERROR codes;
 *   - the TCP path: udp_preference_limit = 1, and a KDC whose UDP replies are capped
 *     (kdc_max_dgram_reply_size) answering KRB_ERR_RESPONSE_TOO_BIG;
 *   - clock skew: a client an hour ahead is corrected by the KDC's KRB_AP_ERR_SKEW.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { randomBytes } from "../../src/crypto/primitives.js";
import {
  AcceptorError,
  acceptApReq,
  buildApRep,
  createReplayCache,
} from "../../src/kerberos/acceptor/index.js";
import { buildApReq, createKerberosClient, verifyApRep } from "../../src/kerberos/client/index.js";
import { readKrb5Config, kdcsOf } from "../../src/kerberos/config.js";
import { readCcacheFile } from "../../src/kerberos/files/ccache.js";
import { type Keytab, readKeytabFile } from "../../src/kerberos/files/keytab.js";
import { decodeTicket } from "../../src/kerberos/messages/ticket.js";
import { NAME_TYPE, parsePrincipal } from "../../src/kerberos/principal.js";
import {
  createKdcTransport,
  createNodeKdcIo,
  type KdcIo,
  type Protocol,
} from "../../src/kerberos/transport.js";
import { runBin } from "../helpers/cli.js";
import { createMitRealm, haveMit, type MitRealm } from "../kerberos-codec/mit-realm.js";

const SKIP = haveMit() ? false : "skipped: MIT Kerberos tools (krb5-kdc, krb5-user) missing";

function recordingIo(): KdcIo & { protos: { proto: Protocol; size: number }[] } {
  const real = createNodeKdcIo();
  const protos: { proto: Protocol; size: number }[] = [];
  return {
    protos,
    async exchange(proto, kdc, req, t) {
      const reply = await real.exchange(proto, kdc, req, t);
      protos.push({ proto, size: reply.length });
      return reply;
    },
  };
}

function clientFor(
  realm: MitRealm,
  opts: { io?: KdcIo; udpLimit?: number; now?: () => number } = {},
) {
  const config = readKrb5Config(realm.env.KRB5_CONFIG);
  return createKerberosClient({
    transport: createKdcTransport({
      io: opts.io ?? createNodeKdcIo(),
      kdcsOf: (r) => kdcsOf(config, r),
      udpPreferenceLimit: opts.udpLimit ?? 1465,
      timeoutMs: 5000,
    }),
    now: opts.now ?? (() => Date.now()),
    randomBytes,
  });
}

describe("MIT krb5kdc: postern kinit, kvno, klist and the acceptor", { skip: SKIP }, () => {
  let realm: MitRealm;
  let env: NodeJS.ProcessEnv;
  let ours: string;
  const file = (n: string) => path.join(realm.dir, n);
  const alice = () => parsePrincipal("alice@MIT.TEST");

  before(async () => {
    realm = await createMitRealm("pkl-client");
    const kadmin = (q: string) => realm.ok("kadmin.local", ["-q", q]);
    kadmin("addprinc -pw alice-secret alice");
    kadmin(
      'addprinc -e "aes256-cts-hmac-sha384-192:normal aes128-cts-hmac-sha256-128:normal" -pw carol-secret carol',
    );
    kadmin("addprinc -randkey host/svc.mit.test");
    kadmin(`ktadd -k ${path.join(realm.dir, "svc.keytab")} host/svc.mit.test`);
    kadmin("addprinc -randkey host/ws1.mit.test");
    kadmin(
      `ktadd -k ${path.join(realm.dir, "ws1.keytab")} -e aes256-cts-hmac-sha1-96:normal,aes128-cts-hmac-sha1-96:normal host/ws1.mit.test`,
    );
    kadmin("addprinc -randkey host/ws2.mit.test");
    kadmin(
      `ktadd -k ${path.join(realm.dir, "ws2.keytab")} -e aes256-cts-hmac-sha384-192:normal,aes128-cts-hmac-sha256-128:normal host/ws2.mit.test`,
    );
    kadmin(`ktadd -k ${path.join(realm.dir, "krbtgt.keytab")} -norandkey krbtgt/MIT.TEST`);
    await realm.startKdc();
    ours = `FILE:${path.join(realm.dir, "ours.cc")}`;
    env = { ...realm.env, KRB5CCNAME: ours };
  });
  after(() => realm?.stop());

  it("RFC 4120 §3.1: postern kinit with a password (aes-sha1); MIT klist -e reads our cache", () => {
    const r = runBin(["kinit", "alice"], { input: "alice-secret\n", env });
    assert.equal(r.code, 0, r.err);
    assert.equal(r.err, "");
    const mit = realm.ok("klist", ["-e", ours]);
    assert.match(mit, /Default principal: alice@MIT\.TEST/);
    assert.match(mit, /krbtgt\/MIT\.TEST@MIT\.TEST/);
    assert.match(mit, /Etype \(skey, tkt\): aes256-cts-hmac-sha1-96, aes256-cts-hmac-sha1-96/);
  });

  it("RFC 8009: postern kinit with a password whose keys are aes-sha2 only (ETYPE-INFO2 s2kparams)", async () => {
    const r = runBin(["kinit", "carol"], { input: "carol-secret\n", env });
    assert.equal(r.code, 0, r.err);
    assert.match(realm.ok("klist", [ours]), /Default principal: carol@MIT\.TEST/);
    const login = await clientFor(realm).login({
      client: parsePrincipal("carol@MIT.TEST"),
      keys: { kind: "password", password: "carol-secret" },
    });
    assert.equal(login.clientEtype, 20);
  });

  it("RFC 4120 §3.1.5: wrong password and unknown client are one clear line, exit 1", () => {
    const bad = runBin(["kinit", "alice"], { input: "wrong\n", env });
    assert.equal(bad.code, 1);
    assert.equal(bad.err.trim().split("\n").length, 1, bad.err);
    assert.match(bad.err, /KDC says: KDC_ERR_PREAUTH_FAILED \(24\) for alice@MIT\.TEST/);
    const none = runBin(["kinit", "nobody"], { input: "x\n", env });
    assert.equal(none.code, 1);
    assert.equal(
      none.err.trim(),
      "postern: KDC says: KDC_ERR_C_PRINCIPAL_UNKNOWN (6) for nobody@MIT.TEST: Client not found in Kerberos database (CLIENT_NOT_FOUND)",
    );
  });

  for (const [ws, etype] of [
    ["ws1", "aes256-cts-hmac-sha1-96"],
    ["ws2", "aes256-cts-hmac-sha384-192"],
  ] as const) {
    it(`RFC 4120 §3.1: postern kinit -k -t with a kadmin.local keytab (${etype})`, async () => {
      const r = runBin(["kinit", "-k", "-t", file(`${ws}.keytab`), `host/${ws}.mit.test`], { env });
      assert.equal(r.code, 0, r.err);
      const k = runBin(["klist", "-e"], { env });
      assert.equal(k.code, 0, k.err);
      assert.match(k.out, new RegExp(`Default principal: host/${ws}\\.mit\\.test@MIT\\.TEST`));
      const login = await clientFor(realm).login({
        client: parsePrincipal(`host/${ws}.mit.test@MIT.TEST`),
        keys: { kind: "keytab", keytab: readKeytabFile(file(`${ws}.keytab`)) },
      });
      assert.equal(login.clientEtype, etype === "aes256-cts-hmac-sha1-96" ? 18 : 20);
    });
  }

  it("one round trip: PA-ENC-TIMESTAMP in the first AS-REQ (keytab, or a password's salt from the last login); a new salt falls back", async () => {
    realm.ok("kadmin.local", ["-q", "addprinc -pw dave-secret dave"]);
    const io = recordingIo();
    const kc = clientFor(realm, { io });
    const dave = {
      client: parsePrincipal("dave@MIT.TEST"),
      keys: { kind: "password", password: "dave-secret" },
    } as const;
    await kc.login(dave);
    assert.equal(io.protos.length, 2, "first login: PREAUTH_REQUIRED, then the timestamp");
    await kc.login(dave);
    assert.equal(io.protos.length, 3, "second login: one message");
    const ws1 = await clientFor(realm, { io }).login({
      client: parsePrincipal("host/ws1.mit.test@MIT.TEST"),
      keys: { kind: "keytab", keytab: readKeytabFile(file("ws1.keytab")) },
    });
    assert.equal(ws1.clientEtype, 18);
    assert.equal(io.protos.length, 4, "a keytab's first login: one message");
    // the same password under another salt (as after a rename): MIT refuses the remembered
    // salt's timestamp (PREAUTH_FAILED), the client asks again and takes the KDC's salt
    realm.ok("kadmin.local", ["-q", "cpw -pw dave-secret -e aes256-cts-hmac-sha1-96:norealm dave"]);
    const again = await kc.login(dave);
    assert.equal(again.clientEtype, 18);
    assert.equal(io.protos.length, 7, "stale salt: guess refused, PREAUTH_REQUIRED, timestamp");
    await kc.login(dave);
    assert.equal(io.protos.length, 8, "and the new salt is remembered");
  });

  it("RFC 4120 §3.3: postern kvno gets a service ticket; MIT kvno agrees on the kvno", () => {
    assert.equal(runBin(["kinit", "alice"], { input: "alice-secret\n", env }).code, 0);
    const r = runBin(["kvno", "host/svc.mit.test"], { env });
    assert.equal(r.code, 0, r.err);
    assert.equal(r.out.trim(), "host/svc.mit.test@MIT.TEST: kvno = 2");
    const mit = realm.ok("klist", ["-e", ours]);
    assert.match(mit, /host\/svc\.mit\.test@MIT\.TEST/);
    assert.equal(realm.ok("kvno", ["-c", ours, "host/svc.mit.test"]).trim(), r.out.trim());
    const unknown = runBin(["kvno", "host/none.mit.test"], { env });
    assert.equal(unknown.code, 1);
    assert.match(
      unknown.err,
      /KDC_ERR_S_PRINCIPAL_UNKNOWN \(7\) for host\/none\.mit\.test@MIT\.TEST/,
    );
  });

  it("our klist prints MIT's cache line for line as MIT's klist -e does", () => {
    const mitCache = `FILE:${file("mit.cc")}`;
    const mitEnv = { KRB5CCNAME: mitCache };
    realm.ok("kinit", ["alice"], { input: "alice-secret\n", env: mitEnv });
    realm.ok("kvno", ["host/svc.mit.test"], { env: mitEnv });
    const theirs = realm.ok("klist", ["-e"], { env: mitEnv });
    const r = runBin(["klist", "-e"], { env: { ...env, KRB5CCNAME: mitCache } });
    assert.equal(r.code, 0, r.err);
    assert.equal(r.out, theirs);
    const j = runBin(["--json", "klist"], { env: { ...env, KRB5CCNAME: mitCache } });
    const doc = JSON.parse(j.out);
    assert.equal(doc.defaultPrincipal, "alice@MIT.TEST");
    assert.deepEqual(
      doc.credentials.map((c: { server: string }) => c.server),
      ["krbtgt/MIT.TEST@MIT.TEST", "host/svc.mit.test@MIT.TEST"],
    );
  });

  it("postern klist -k lists a keytab as MIT's klist -k -e does", () => {
    const theirs = realm.ok("klist", ["-k", "-e", file("svc.keytab")]);
    const r = runBin(["klist", "-k", "-e", file("svc.keytab")], { env });
    assert.equal(r.out, theirs);
  });

  describe("acceptor with the keytab kadmin.local exported", () => {
    let svcKeytab: Keytab;
    let krbtgt: Keytab;
    const svc = parsePrincipal("host/svc.mit.test@MIT.TEST", undefined, NAME_TYPE.NT_SRV_HST);

    async function apReq(now = Date.now()) {
      const kc = clientFor(realm);
      const { tgt } = await kc.login({
        client: alice(),
        keys: { kind: "password", password: "alice-secret" },
      });
      const cred = await kc.getServiceTicket(tgt, svc);
      const built = buildApReq({
        ticket: decodeTicket(cred.ticket),
        sessionKey: cred.key,
        client: cred.client,
        nowMs: now,
        randomBytes,
        mutualRequired: true,
      });
      return { cred, built };
    }

    before(() => {
      svcKeytab = readKeytabFile(file("svc.keytab"));
      krbtgt = readKeytabFile(file("krbtgt.keytab"));
    });

    it("RFC 4120 §3.2.3: accepts our AP-REQ, verifies MIT's PAC, AP-REP passes mutual auth", async () => {
      const { cred, built } = await apReq();
      const kdcKey = krbtgt.entries.find((e) => e.key.keytype === 18)!;
      const ticketEtype = decodeTicket(cred.ticket).encPart.etype;
      const acc = acceptApReq(
        {
          keytab: svcKeytab,
          now: () => Date.now(),
          replayCache: createReplayCache({ now: () => Date.now() }),
          service: svc,
          kdcKey: { etype: kdcKey.key.keytype, key: kdcKey.key.keyvalue },
        },
        built.bytes,
      );
      assert.equal(ticketEtype, 18);
      assert.equal(acc.client.name.nameString.join("/"), "alice");
      assert.deepEqual(acc.sessionKey.keyvalue, cred.key.keyvalue);
      assert.deepEqual(acc.subkey?.keyvalue, built.subkey?.keyvalue);
      assert.equal(acc.seqNumber, built.seqNumber);
      assert.equal(acc.mutualRequired, true);
      assert.ok(acc.pac, "MIT's KDC puts a PAC in every ticket");
      assert.equal(acc.pac.verified.server, true);
      assert.equal(acc.pac.verified.kdc, true);
      assert.deepEqual(acc.pac.verified, {
        server: true,
        kdc: true,
        extendedKdc: false,
        ticket: true,
      });
      assert.equal(acc.pac.identity, undefined, "MIT's PAC has no LOGON_INFO");
      const rep = buildApRep(acc, { randomBytes });
      const part = verifyApRep(rep, cred.key, built.authenticator);
      assert.equal(part.cusec, built.authenticator.cusec);
    });

    it("RFC 4120 §3.2.3: the same authenticator twice is KRB_AP_ERR_REPEAT (34)", async () => {
      const { built } = await apReq();
      const deps = {
        keytab: svcKeytab,
        now: () => Date.now(),
        replayCache: createReplayCache({ now: () => Date.now() }),
      };
      acceptApReq(deps, built.bytes);
      assert.throws(
        () => acceptApReq(deps, built.bytes),
        (e: unknown) => e instanceof AcceptorError && e.code === "replay" && e.krbErrorCode === 34,
      );
    });

    it("RFC 4120 §3.2.3: an authenticator 10 minutes off is KRB_AP_ERR_SKEW (37)", async () => {
      const { built } = await apReq();
      const later = () => Date.now() + 10 * 60_000;
      assert.throws(
        () =>
          acceptApReq(
            { keytab: svcKeytab, now: later, replayCache: createReplayCache({ now: later }) },
            built.bytes,
          ),
        (e: unknown) => e instanceof AcceptorError && e.code === "skew" && e.krbErrorCode === 37,
      );
    });

    it("RFC 4120 §3.2.3: a keytab with another key of the same kvno is BAD_INTEGRITY (31)", async () => {
      const { built } = await apReq();
      const wrong: Keytab = {
        entries: svcKeytab.entries.map((e) => ({
          ...e,
          key: { keytype: e.key.keytype, keyvalue: randomBytes(e.key.keyvalue.length) },
        })),
      };
      assert.throws(
        () =>
          acceptApReq(
            {
              keytab: wrong,
              now: () => Date.now(),
              replayCache: createReplayCache({ now: () => Date.now() }),
            },
            built.bytes,
          ),
        (e: unknown) =>
          e instanceof AcceptorError && e.code === "bad-integrity" && e.krbErrorCode === 31,
      );
    });
  });

  it("RFC 4120 §7.2.2: udp_preference_limit = 1 sends everything over TCP", async () => {
    const conf = file("tcp.conf");
    realm.writeClientConfig(conf, `127.0.0.1:${realm.port}`, " udp_preference_limit = 1\n");
    const r = runBin(["kinit", "alice"], {
      input: "alice-secret\n",
      env: { ...env, KRB5_CONFIG: conf },
    });
    assert.equal(r.code, 0, r.err);
    const io = recordingIo();
    const kc = clientFor(realm, { io, udpLimit: 1 });
    const { tgt } = await kc.login({
      client: alice(),
      keys: { kind: "password", password: "alice-secret" },
    });
    await kc.getServiceTicket(tgt, parsePrincipal("host/svc.mit.test@MIT.TEST"));
    assert.ok(io.protos.length >= 3);
    assert.ok(io.protos.every((p) => p.proto === "tcp"));
  });

  it("clock skew: a client an hour ahead is corrected by KRB_AP_ERR_SKEW and keeps the offset", async () => {
    const ahead = () => Date.now() + 3600_000;
    const kc = clientFor(realm, { now: ahead });
    const { tgt, timeOffsetMs } = await kc.login({
      client: alice(),
      keys: { kind: "password", password: "alice-secret" },
    });
    assert.ok(Math.abs(timeOffsetMs + 3600_000) < 60_000, `offset ${timeOffsetMs}`);
    const cred = await kc.getServiceTicket(tgt, parsePrincipal("host/svc.mit.test@MIT.TEST"));
    assert.equal(cred.server.name.nameString.join("/"), "host/svc.mit.test");
  });

  it("postern kdestroy removes the cache; klist then says there is none", () => {
    assert.equal(runBin(["kinit", "alice"], { input: "alice-secret\n", env }).code, 0);
    assert.equal(readCcacheFile(ours).credentials.length, 1);
    assert.equal(runBin(["kdestroy"], { env }).code, 0);
    assert.equal(fs.existsSync(ours.slice(5)), false);
    const k = runBin(["klist"], { env });
    assert.equal(k.code, 1);
    assert.match(k.err, /no credentials cache found/);
  });
});

describe("MIT krb5kdc with capped UDP replies: KRB_ERR_RESPONSE_TOO_BIG -> TCP", {
  skip: SKIP,
}, () => {
  let realm: MitRealm;
  before(async () => {
    realm = await createMitRealm("pkl-big");
    const kdcConf = realm.env.KRB5_KDC_PROFILE!;
    const text = fs.readFileSync(kdcConf, "utf8");
    fs.writeFileSync(
      kdcConf,
      text.replace("[kdcdefaults]\n", "[kdcdefaults]\n kdc_max_dgram_reply_size = 400\n"),
    );
    realm.ok("kadmin.local", ["-q", "addprinc -pw alice-secret alice"]);
    await realm.startKdc();
  });
  after(() => realm?.stop());

  it("RFC 4120 §7.2.1: the AS-REP comes over TCP after the KDC's error 52 over UDP", async () => {
    const io = recordingIo();
    const kc = clientFor(realm, { io });
    const { tgt } = await kc.login({
      client: parsePrincipal("alice@MIT.TEST"),
      keys: { kind: "password", password: "alice-secret" },
    });
    assert.equal(tgt.client.name.nameString[0], "alice");
    const tcp = io.protos.filter((p) => p.proto === "tcp");
    assert.ok(tcp.length >= 1, JSON.stringify(io.protos));
    assert.ok(tcp.every((p) => p.size > 400));
    assert.ok(io.protos.some((p) => p.proto === "udp"));
  });
});
