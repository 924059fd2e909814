/**
 * The acceptor (RFC 4120 §3.2.3) on tickets made here with a known service key: every
 * refusal has its KRB-ERROR code; the replay cache is bounded with an injected clock;
 * mutated AP-REQs only ever raise AcceptorError.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { randomBytes } from "../../src/crypto/primitives.js";
import {
  AcceptorError,
  acceptApReq,
  buildApError,
  createReplayCache,
} from "../../src/kerberos/acceptor/index.js";
import { buildApReq } from "../../src/kerberos/client/index.js";
import { createDerivedKeyCache, getEnctype, KeyUsage } from "../../src/kerberos/crypto/index.js";
import type { Keytab } from "../../src/kerberos/files/keytab.js";
import {
  decodeKrbError,
  type EncTicketPart,
  encodeEncTicketPart,
  TICKET_FLAGS,
} from "../../src/kerberos/messages/index.js";
import { NAME_TYPE, parsePrincipal } from "../../src/kerberos/principal.js";
import { makeServiceTicket } from "../ike-kerberos/tickets.js";

const e18 = getEnctype(18);
const SVC = parsePrincipal("host/svc.fake.test@FAKE.TEST", undefined, NAME_TYPE.NT_SRV_HST);
const CLIENT = parsePrincipal("alice@FAKE.TEST");
const T0 = Date.UTC(2026, 10, 27, 8, 0, 0);

function fixture(o: { start?: number; end?: number; flags?: number; kvno?: number } = {}) {
  const svcKey = e18.generateKey();
  const sessionKey = { keytype: 18, keyvalue: e18.generateKey() };
  const part: EncTicketPart = {
    flags: o.flags ?? TICKET_FLAGS.forwardable,
    key: sessionKey,
    crealm: CLIENT.realm,
    cname: CLIENT.name,
    transited: { trType: 1, contents: new Uint8Array(0) },
    authtime: new Date(o.start ?? T0 - 60_000),
    endtime: new Date(o.end ?? T0 + 3600_000),
  };
  const ticket = {
    realm: SVC.realm,
    sname: SVC.name,
    encPart: {
      etype: 18,
      kvno: o.kvno ?? 4,
      cipher: e18.encrypt(svcKey, KeyUsage.KDC_REP_TICKET, encodeEncTicketPart(part)),
    },
  };
  const keytab: Keytab = {
    entries: [{ principal: SVC, timestamp: 0, kvno: 4, key: { keytype: 18, keyvalue: svcKey } }],
  };
  const apReq = (nowMs = T0, client = CLIENT) =>
    buildApReq({ ticket, sessionKey, client, nowMs, randomBytes }).bytes;
  return { keytab, apReq, svcKey };
}

function deps(keytab: Keytab, now = () => T0) {
  return { keytab, now, replayCache: createReplayCache({ now }) };
}

function refuses(f: () => unknown, code: string, krb: number) {
  assert.throws(f, (e: unknown) => {
    assert.ok(e instanceof AcceptorError, String(e));
    assert.equal(e.code, code, e.message);
    assert.equal(e.krbErrorCode, krb);
    assert.equal(e.message.includes("\n"), false);
    return true;
  });
}

describe("acceptor: AP-REQ checks (RFC 4120 §3.2.3)", () => {
  it("accepts a good AP-REQ and names the client", () => {
    const f = fixture();
    const acc = acceptApReq(deps(f.keytab), f.apReq());
    assert.equal(acc.client.name.nameString[0], "alice");
    assert.equal(acc.pac, undefined);
  });

  it("ticket expired (32), not yet valid (33), invalid flag (33)", () => {
    const old = fixture({ start: T0 - 7200_000, end: T0 - 600_000 });
    refuses(() => acceptApReq(deps(old.keytab), old.apReq()), "ticket-expired", 32);
    const future = fixture({ start: T0 + 3600_000, end: T0 + 7200_000 });
    refuses(() => acceptApReq(deps(future.keytab), future.apReq()), "ticket-not-yet-valid", 33);
    const invalid = fixture({ flags: TICKET_FLAGS.invalid });
    refuses(() => acceptApReq(deps(invalid.keytab), invalid.apReq()), "ticket-not-yet-valid", 33);
  });

  it("5-minute skew: 4 minutes passes, 6 minutes is KRB_AP_ERR_SKEW (37)", () => {
    const f = fixture();
    acceptApReq(deps(f.keytab), f.apReq(T0 + 4 * 60_000));
    refuses(() => acceptApReq(deps(f.keytab), f.apReq(T0 - 6 * 60_000)), "skew", 37);
  });

  it("another service (35), no key for the enctype (45), wrong kvno (44), wrong key (31)", () => {
    const f = fixture();
    const other = parsePrincipal("host/other.fake.test@FAKE.TEST");
    refuses(() => acceptApReq({ ...deps(f.keytab), service: other }, f.apReq()), "not-us", 35);
    const no17: Keytab = {
      entries: f.keytab.entries.map((e) => ({
        ...e,
        key: { ...e.key, keytype: 17, keyvalue: new Uint8Array(16) },
      })),
    };
    refuses(() => acceptApReq(deps(no17), f.apReq()), "no-key", 45);
    const kvno9 = fixture({ kvno: 9 });
    refuses(() => acceptApReq(deps(kvno9.keytab), kvno9.apReq()), "bad-kvno", 44);
    const wrong: Keytab = {
      entries: f.keytab.entries.map((e) => ({
        ...e,
        key: { ...e.key, keyvalue: e18.generateKey() },
      })),
    };
    refuses(() => acceptApReq(deps(wrong), f.apReq()), "bad-integrity", 31);
  });

  it("authenticator from another client than the ticket's is BADMATCH (36)", () => {
    const f = fixture();
    refuses(
      () => acceptApReq(deps(f.keytab), f.apReq(T0, parsePrincipal("mallory@FAKE.TEST"))),
      "bad-match",
      36,
    );
  });

  it("replay (34), and the refusal as a KRB-ERROR to send back", () => {
    const f = fixture();
    const d = deps(f.keytab);
    const bytes = f.apReq();
    acceptApReq(d, bytes);
    try {
      acceptApReq(d, bytes);
      assert.fail("replay accepted");
    } catch (e) {
      assert.ok(e instanceof AcceptorError && e.code === "replay");
      const err = decodeKrbError(buildApError(e, SVC, T0));
      assert.equal(err.errorCode, 34);
      assert.match(err.eText ?? "", /already used/);
    }
  });

  it("replay cache: bounded, entries expire on the injected clock", () => {
    let now = T0;
    const rc = createReplayCache({ now: () => now, maxEntries: 3 });
    assert.equal(rc.checkAndStore("a", T0 + 1000), true);
    assert.equal(rc.checkAndStore("a", T0 + 1000), false);
    rc.checkAndStore("b", T0 + 1000);
    rc.checkAndStore("c", T0 + 1000);
    rc.checkAndStore("d", T0 + 1000);
    assert.equal(rc.size, 3);
    assert.equal(rc.evicted, 1);
    now = T0 + 2000;
    assert.equal(rc.checkAndStore("e", T0 + 5000), true);
    assert.equal(rc.size, 1, "expired entries swept when full");
    assert.equal(rc.checkAndStore("b", T0 + 5000), true, "an expired entry no longer blocks");
  });

  it("mutated AP-REQs: only AcceptorError escapes, never a crash", () => {
    const f = fixture();
    const good = f.apReq();
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: good.length - 1 }),
        fc.integer({ min: 0, max: 255 }),
        fc.boolean(),
        (at, v, cut) => {
          const m = cut ? good.slice(0, at) : Uint8Array.from(good);
          if (!cut) m[at] = v;
          try {
            acceptApReq(deps(f.keytab), m);
          } catch (e) {
            assert.ok(e instanceof AcceptorError, `${(e as Error).name}: ${(e as Error).message}`);
          }
        },
      ),
      { numRuns: 400 },
    );
  });
});

describe("acceptor: the PAC with a derived-key cache for the long-term keys (an IKE responder's)", () => {
  const DOMAIN = "S-1-5-21-1-2-3";
  it("each ticket's own SIDs, read from one check; a wrong KDC key is still refused after the cache is warm", () => {
    const svcKey = { etype: 18, key: e18.generateKey(), kvno: 4 };
    const kdcKey = { etype: 18, key: e18.generateKey(), kvno: 1 };
    const keytab: Keytab = {
      entries: [
        { principal: SVC, timestamp: 0, kvno: 4, key: { keytype: 18, keyvalue: svcKey.key } },
      ],
    };
    const crypto = {
      randomBytes,
      derivedKeys: createDerivedKeyCache(16),
      instances: new Map(),
    };
    const apReq = (userRid: number, groupRids: number[]) => {
      const t = makeServiceTicket({
        client: CLIENT,
        service: SVC,
        serviceKey: svcKey,
        pac: { kdcKey, domainSid: DOMAIN, userRid, groupRids },
        startMs: T0 - 60_000,
        endMs: T0 + 3600_000,
      });
      return buildApReq({ ...t, nowMs: T0, randomBytes }).bytes;
    };
    const d = { ...deps(keytab), kdcKey: { etype: 18, key: kdcKey.key }, crypto };
    const a = acceptApReq(d, apReq(1001, [513, 1104]));
    const b = acceptApReq(d, apReq(1002, [513, 1105]));
    assert.equal(a.pac?.identity?.userSid, `${DOMAIN}-1001`);
    assert.ok(a.pac?.identity?.groupSids.includes(`${DOMAIN}-1104`));
    assert.equal(b.pac?.identity?.userSid, `${DOMAIN}-1002`);
    assert.ok(b.pac?.identity?.groupSids.includes(`${DOMAIN}-1105`));
    assert.equal(b.pac?.identity?.groupSids.includes(`${DOMAIN}-1104`), false);
    assert.equal(b.pac?.verified.kdc, true);
    const wrongKdc = { ...d, kdcKey: { etype: 18, key: e18.generateKey() } };
    refuses(() => acceptApReq(wrongKdc, apReq(1003, [513])), "pac-invalid", 31);
  });
});
