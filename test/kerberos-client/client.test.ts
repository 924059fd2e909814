/**
 * The client's pure core and shell against a scripted KDC (fake-kdc.ts) behind the fake
 * transport: pre-authentication with the KDC's salt and s2kparams, clock skew, typed
 * errors, the TGS exchange, AP-REQ/AP-REP, and the acceptor reading groups from the PAC.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { randomBytes } from "../../src/crypto/primitives.js";
import { PosternError } from "../../src/errors.js";
import { acceptApReq, buildApRep, createReplayCache } from "../../src/kerberos/acceptor/index.js";
import {
  buildApReq,
  createKerberosClient,
  KdcError,
  memoryHints,
  parseEnctype,
  parseEnctypeList,
  verifyApRep,
} from "../../src/kerberos/client/index.js";
import { findTgt, newCcache, offsetFromHeader } from "../../src/kerberos/client/cache.js";
import { getEnctype, paramsFromIterations } from "../../src/kerberos/crypto/index.js";
import { decodeTicket, encodeKrbError } from "../../src/kerberos/messages/index.js";
import { NAME_TYPE, parsePrincipal } from "../../src/kerberos/principal.js";
import { createFakeKdcIo, createKdcTransport } from "../../src/kerberos/transport.js";
import { createFakeKdc } from "./fake-kdc.js";

const REALM = "FAKE.TEST";
const SALT = "FAKE.TESThostws01.fake.test";
const e18 = getEnctype(18);
const e20 = getEnctype(20);

function setup(kdcNow: () => number, userEtype = 18) {
  const params = paramsFromIterations(userEtype === 18 ? 4096 : 32768);
  const userKey = getEnctype(userEtype).stringToKey("pw-ws01", SALT, params);
  const svcKey = e20.generateKey();
  const tgsKey = e18.generateKey();
  const kdc = createFakeKdc({
    realm: REALM,
    now: kdcNow,
    accounts: {
      [`krbtgt/${REALM}`]: { etype: 18, key: tgsKey, kvno: 1 },
      "host/ws01.fake.test": {
        etype: userEtype,
        key: userKey,
        kvno: 3,
        salt: SALT,
        s2kparams: params,
        rid: 1104,
        groupRids: [1105],
      },
      "host/svc.fake.test": { etype: 20, key: svcKey, kvno: 7 },
    },
  });
  const transport = createKdcTransport({
    io: kdc.io,
    kdcsOf: () => [{ host: "127.0.0.1", port: 88 }],
  });
  return { kdc, transport, svcKey, tgsKey };
}

const ws01 = parsePrincipal("host/ws01.fake.test@FAKE.TEST");
const svc = parsePrincipal("host/svc.fake.test@FAKE.TEST", undefined, NAME_TYPE.NT_SRV_HST);

describe("Kerberos client against a scripted KDC", () => {
  it("RFC 4120 §5.2.7.5: PREAUTH_REQUIRED -> ETYPE-INFO2 salt (not the default) -> PA-ENC-TIMESTAMP", async () => {
    for (const etype of [18, 20]) {
      const { kdc, transport } = setup(() => Date.now(), etype);
      const c = createKerberosClient({ transport, now: () => Date.now(), randomBytes });
      const r = await c.login({ client: ws01, keys: { kind: "password", password: "pw-ws01" } });
      assert.equal(r.clientEtype, etype);
      assert.deepEqual(kdc.received, ["AS-REQ", "AS-REQ+ENC-TIMESTAMP"]);
      assert.equal(r.tgt.server.name.nameString.join("/"), `krbtgt/${REALM}`);
      assert.equal(r.timeOffsetMs, 0);
    }
  });

  it("a second login sends PA-ENC-TIMESTAMP at once with the salt the first one learnt (one round trip)", async () => {
    const { kdc, transport } = setup(() => Date.now(), 20);
    const c = createKerberosClient({ transport, now: () => Date.now(), randomBytes });
    const pw = { kind: "password", password: "pw-ws01" } as const;
    await c.login({ client: ws01, keys: pw });
    const r = await c.login({ client: ws01, keys: pw });
    assert.equal(r.clientEtype, 20);
    assert.deepEqual(kdc.received, ["AS-REQ", "AS-REQ+ENC-TIMESTAMP", "AS-REQ+ENC-TIMESTAMP"]);
  });

  it("a keytab's key pre-authenticates the first AS-REQ (no salt needed)", async () => {
    const { kdc, transport } = setup(() => Date.now());
    const key = getEnctype(18).stringToKey("pw-ws01", SALT, paramsFromIterations(4096));
    const keytab = {
      entries: [{ principal: ws01, timestamp: 0, kvno: 3, key: { keytype: 18, keyvalue: key } }],
    };
    const c = createKerberosClient({ transport, now: () => Date.now(), randomBytes });
    const r = await c.login({ client: ws01, keys: { kind: "keytab", keytab } });
    assert.equal(r.clientEtype, 18);
    assert.deepEqual(kdc.received, ["AS-REQ+ENC-TIMESTAMP"]);
  });

  it("a stale hint (old salt, or an enctype the KDC dropped) falls back to PREAUTH_REQUIRED's ETYPE-INFO2", async () => {
    for (const stale of [
      { etype: 18, salt: "FAKE.TESTold-name" },
      { etype: 17, salt: SALT },
    ]) {
      const { kdc, transport } = setup(() => Date.now());
      const hints = memoryHints();
      hints.set("host/ws01.fake.test@FAKE.TEST", stale);
      const c = createKerberosClient({
        transport,
        now: () => Date.now(),
        randomBytes,
        preauthHints: hints,
      });
      const r = await c.login({ client: ws01, keys: { kind: "password", password: "pw-ws01" } });
      assert.equal(r.clientEtype, 18);
      // the guess, refused; the request without pre-authentication; the KDC's own salt
      assert.deepEqual(kdc.received, ["AS-REQ+ENC-TIMESTAMP", "AS-REQ", "AS-REQ+ENC-TIMESTAMP"]);
      assert.deepEqual(hints.get("host/ws01.fake.test@FAKE.TEST")?.salt, SALT);
    }
  });

  it("RFC 4120 §3.1.5: a wrong password is KDC_ERR_PREAUTH_FAILED in one line", async () => {
    const { transport } = setup(() => Date.now());
    const c = createKerberosClient({ transport, now: () => Date.now(), randomBytes });
    await assert.rejects(
      c.login({ client: ws01, keys: { kind: "password", password: "nope" } }),
      (e: unknown) =>
        e instanceof KdcError &&
        e.errorCode === 24 &&
        e.message ===
          "KDC says: KDC_ERR_PREAUTH_FAILED (24) for host/ws01.fake.test@FAKE.TEST: Pre-authentication failed (wrong password or key)",
    );
    await assert.rejects(
      c.login({
        client: parsePrincipal("nobody@FAKE.TEST"),
        keys: { kind: "password", password: "x" },
      }),
      /KDC says: KDC_ERR_C_PRINCIPAL_UNKNOWN \(6\) for nobody@FAKE\.TEST/,
    );
  });

  it("RFC 4120 §3.1.5: KRB_AP_ERR_SKEW -> adjust by the KDC's stime, retry once; the offset goes to the ccache", async () => {
    const kdcNow = () => Date.now() - 2 * 3600_000; // the KDC is two hours behind us
    const { kdc, transport } = setup(kdcNow);
    const c = createKerberosClient({ transport, now: () => Date.now(), randomBytes });
    const r = await c.login({ client: ws01, keys: { kind: "password", password: "pw-ws01" } });
    assert.deepEqual(kdc.received, ["AS-REQ", "AS-REQ+ENC-TIMESTAMP", "AS-REQ+ENC-TIMESTAMP"]);
    assert.ok(Math.abs(r.timeOffsetMs + 2 * 3600_000) < 5000);
    const cc = newCcache(ws01, r.tgt, r.timeOffsetMs);
    assert.ok(Math.abs(offsetFromHeader(cc) - r.timeOffsetMs) < 1000);
    // a later TGS with the offset from the cache needs no retry
    const c2 = createKerberosClient({
      transport,
      now: () => Date.now(),
      randomBytes,
      timeOffsetMs: offsetFromHeader(cc),
    });
    await c2.getServiceTicket(findTgt(cc, kdcNow(), "test"), svc);
    assert.equal(kdc.received.at(-1), "TGS-REQ");
    assert.equal(kdc.received.length, 4);
  });

  it("a skew that persists is reported after one retry, not looped on", async () => {
    const io = createFakeKdcIo(() =>
      encodeKrbError({
        stime: new Date(Math.floor(Date.now() / 1000) * 1000 - 3600_000),
        susec: 0,
        errorCode: 37,
        realm: REALM,
        sname: { nameType: 2, nameString: ["krbtgt", REALM] },
      }),
    );
    const transport = createKdcTransport({ io, kdcsOf: () => [{ host: "127.0.0.1", port: 88 }] });
    const c = createKerberosClient({ transport, now: () => Date.now(), randomBytes });
    await assert.rejects(
      c.login({ client: ws01, keys: { kind: "password", password: "pw-ws01" } }),
      (e: unknown) =>
        e instanceof KdcError && e.errorCode === 37 && /Clock skew too great/.test(e.message),
    );
    assert.equal(io.calls.length, 2);
  });

  it("RFC 4120 §3.3: TGS exchange, then AP-REQ with subkey and mutual-required; acceptor reads the PAC groups", async () => {
    const { transport, svcKey, tgsKey } = setup(() => Date.now());
    const c = createKerberosClient({ transport, now: () => Date.now(), randomBytes });
    const { tgt } = await c.login({
      client: ws01,
      keys: { kind: "password", password: "pw-ws01" },
    });
    const cred = await c.getServiceTicket(tgt, svc);
    assert.equal(decodeTicket(cred.ticket).encPart.kvno, 7);
    assert.equal(cred.key.keytype, 18, "session key of the TGT's enctype");
    const built = buildApReq({
      ticket: decodeTicket(cred.ticket),
      sessionKey: cred.key,
      client: cred.client,
      nowMs: Date.now(),
      randomBytes,
      mutualRequired: true,
    });
    const keytab = {
      entries: [{ principal: svc, timestamp: 0, kvno: 7, key: { keytype: 20, keyvalue: svcKey } }],
    };
    const acc = acceptApReq(
      {
        keytab,
        now: () => Date.now(),
        replayCache: createReplayCache({ now: () => Date.now() }),
        service: svc,
        kdcKey: { etype: 18, key: tgsKey },
      },
      built.bytes,
    );
    assert.deepEqual(acc.subkey, built.subkey);
    assert.equal(acc.pac?.verified.kdc, true);
    const id = acc.pac?.identity;
    assert.ok(id, "LOGON_INFO present");
    assert.equal(id.userSid, "S-1-5-21-1-2-3-1104");
    assert.deepEqual(id.groupSids, ["S-1-5-21-1-2-3-515", "S-1-5-21-1-2-3-1105"]);
    const part = verifyApRep(buildApRep(acc, { randomBytes }), cred.key, built.authenticator);
    assert.equal(part.ctime.getTime(), built.authenticator.ctime.getTime());
    // the PAC's KDC signature does not verify with another KDC key
    assert.throws(
      () =>
        acceptApReq(
          {
            keytab,
            now: () => Date.now(),
            replayCache: createReplayCache({ now: () => Date.now() }),
            kdcKey: { etype: 18, key: e18.generateKey() },
          },
          built.bytes,
        ),
      /PAC KDC signature does not verify/,
    );
  });

  it("mutated KDC replies (PREAUTH_REQUIRED, AS-REP, TGS-REP) end in a typed error, never a crash", async () => {
    const { kdc } = setup(() => Date.now());
    const replies: Uint8Array[] = [];
    const recording = createFakeKdcIo(async (p, k, req) => {
      const r = await kdc.io.exchange(p, k, req, 1000);
      replies.push(r);
      return r;
    });
    const t0 = createKdcTransport({
      io: recording,
      kdcsOf: () => [{ host: "127.0.0.1", port: 88 }],
    });
    const c0 = createKerberosClient({ transport: t0, now: () => Date.now(), randomBytes });
    const { tgt } = await c0.login({
      client: ws01,
      keys: { kind: "password", password: "pw-ws01" },
    });
    await c0.getServiceTicket(tgt, svc);
    assert.equal(replies.length, 3);
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 2 }),
        fc.nat(),
        fc.integer({ min: 0, max: 255 }),
        fc.boolean(),
        async (which, pos, value, cut) => {
          const orig = replies[which]!;
          const at = pos % orig.length;
          const bad = cut ? orig.slice(0, at) : Uint8Array.from(orig);
          if (!cut) bad[at] = value;
          let n = 0;
          const io = createFakeKdcIo(() => {
            const i = n++;
            if (which === 2) return bad;
            return i === which ? bad : (replies[i] ?? bad);
          });
          const tr = createKdcTransport({ io, kdcsOf: () => [{ host: "127.0.0.1", port: 88 }] });
          const c = createKerberosClient({ transport: tr, now: () => Date.now(), randomBytes });
          try {
            if (which === 2) await c.getServiceTicket(tgt, svc);
            else await c.login({ client: ws01, keys: { kind: "password", password: "pw-ws01" } });
          } catch (e) {
            assert.ok(e instanceof PosternError, `${(e as Error).name}: ${(e as Error).message}`);
            assert.equal((e as Error).message.includes("\n"), false);
          }
        },
      ),
      { numRuns: 150 },
    );
  });

  it("enctype names as krb5.conf writes them; RC4 and DES refused", () => {
    assert.deepEqual(parseEnctypeList("aes256-cts aes128-cts rc4-hmac des3-cbc-sha1"), [18, 17]);
    assert.deepEqual(parseEnctypeList("DEFAULT -aes128-sha2"), [18, 17, 20]);
    assert.deepEqual(parseEnctypeList(undefined), [18, 17, 20, 19]);
    assert.equal(parseEnctype("aes256-cts-hmac-sha384-192"), 20);
    assert.throws(() => parseEnctype("rc4-hmac"), /unknown|not supported/);
    assert.throws(() => parseEnctype("23"), /enctype 23 \(rc4-hmac\) is not supported/);
  });

  it("a keytab without AES keys for the principal is one clear line", async () => {
    const { transport } = setup(() => Date.now());
    const c = createKerberosClient({ transport, now: () => Date.now(), randomBytes });
    await assert.rejects(
      c.login({ client: ws01, keys: { kind: "keytab", keytab: { entries: [] }, name: "FILE:/x" } }),
      /keytab FILE:\/x has no AES key for host\/ws01\.fake\.test@FAKE\.TEST/,
    );
  });

  it("RFC 4120 §3.2.5: an AP-REP that does not echo our authenticator fails mutual authentication", () => {
    const key = { keytype: 18, keyvalue: e18.generateKey() };
    const ticket = {
      realm: REALM,
      sname: svc.name,
      encPart: { etype: 18, kvno: 1, cipher: new Uint8Array(40) },
    };
    const a = buildApReq({
      ticket,
      sessionKey: key,
      client: ws01,
      nowMs: Date.now(),
      randomBytes,
      mutualRequired: true,
    });
    const b = buildApReq({
      ticket,
      sessionKey: key,
      client: ws01,
      nowMs: Date.now() + 1234,
      randomBytes,
    });
    const ctx = { authenticator: b.authenticator, sessionKey: key } as Parameters<
      typeof buildApRep
    >[0];
    const rep = buildApRep(ctx, { randomBytes });
    assert.throws(() => verifyApRep(rep, key, a.authenticator), /does not echo our authenticator/);
    const other = { keytype: 18, keyvalue: e18.generateKey() };
    assert.throws(
      () => verifyApRep(rep, other, b.authenticator),
      /does not decrypt with the session key/,
    );
    assert.equal(verifyApRep(rep, key, b.authenticator).cusec, b.authenticator.cusec);
  });
});
