/**
 * Fuzz targets of the Kerberos exchanges, where the parsers meet keys:
 * - kdc: requests on port 88 into the KDC core (`kdc.handle`, what the UDP and TCP
 *   listeners call), over a test realm. Seeds: our AS-REQ and TGS-REQ and MIT's messages.
 *   Raw and DER-aware mutations, and TGS-REQs whose mutated body is authentic (the
 *   authenticator's checksum computed over the mutated body, the authenticator itself
 *   DER-mutated before it is encrypted with the TGT session key), so the TGS exchange past
 *   the checksum sees them. Contract: never throws, never an "internal" drop, and every
 *   reply is a KRB-ERROR, AS-REP or TGS-REP.
 * - ap-req: AP-REQs (IKE's Kerberos AUTH, the API's Negotiate) into the acceptor with the
 *   service's keytab. Seeds: a real service ticket from the KDC (with its signed PAC). The
 *   ticket's EncTicketPart and the Authenticator are DER-mutated in plaintext and then
 *   encrypted with the right keys, so the acceptor's checks past decryption (times, names,
 *   PAC, subkey, checksum) see them; plus raw mutations of the whole AP-REQ. Contract: an
 *   AcceptorError or an accepted context.
 */
import { buildApReq } from "../src/kerberos/client/ap-req.js";
import { getEnctype, KeyUsage } from "../src/kerberos/crypto/index.js";
import { acceptApReq, createReplayCache } from "../src/kerberos/acceptor/index.js";
import { derApplication, derFields, derInteger, derSequence } from "../src/asn1/writer.js";
import {
  decodeKrbMessage,
  encodeApReq,
  encodeAuthenticator,
  encodeKdcReqBody,
  encodePaData,
  type KdcReqBody,
  PA_TYPE,
} from "../src/kerberos/messages/index.js";
import { NAME_TYPE } from "../src/kerberos/principal.js";
import { fixtureBytes, loadFixtures } from "../test/kerberos-codec/fixtures.js";
import {
  buildAsReq,
  buildTgsReq,
  type Creds,
  expectCreds,
  principal,
  readReply,
} from "../test/kerberos-kdc/client.js";
import { createTestRealm, REALM, T0 } from "../test/kerberos-kdc/realm.js";
import { mutateBytes, mutateDer, type Rng } from "./fuzz-mutate.js";
import { ContractViolation, type FuzzInstance } from "./fuzz-target.js";

const fixedRandom = (n: number) => new Uint8Array(n).fill(0x42);

/** A realm, alice's TGT and a service ticket for host/server1. */
function realmWithTickets() {
  const realm = createTestRealm({ randomBytes: fixedRandom });
  const aliceKey = { etype: 18, key: realm.key("alice", "alice-pw", 18) };
  const asReq = buildAsReq({
    realm: REALM,
    cname: principal("alice"),
    etypes: [18],
    key: aliceKey,
    nowMs: T0,
  });
  const tgt = expectCreds(
    readReply(
      realm.kdc.handle(asReq, "tcp").reply as Uint8Array,
      aliceKey,
      KeyUsage.AS_REP_ENC_PART,
    ),
  );
  const sname = { ...principal("host", "server1.pkd.test"), nameType: NAME_TYPE.NT_SRV_HST };
  const tgsReq = buildTgsReq({
    realm: REALM,
    tgt,
    cname: principal("alice"),
    sname,
    etypes: [18],
    nowMs: T0,
  });
  const svc = expectCreds(
    readReply(
      realm.kdc.handle(tgsReq, "tcp").reply as Uint8Array,
      tgt.sessionKey,
      KeyUsage.TGS_REP_ENC_PART_SESSION_KEY,
    ),
  );
  return { realm, asReq, tgt, tgsReq, svc, sname };
}

/** A TGS-REQ around raw body bytes: the authenticator's checksum covers exactly those bytes. */
function tgsReqAround(
  tgt: Creds,
  body: Uint8Array,
  mutateAuth: ((a: Uint8Array) => Uint8Array) | null,
): Uint8Array {
  const e = getEnctype(tgt.sessionKey.etype);
  const cksum = e.checksum(tgt.sessionKey.key, KeyUsage.TGS_REQ_AUTH_CKSUM, body);
  let auth = encodeAuthenticator({
    crealm: REALM,
    cname: principal("alice"),
    cksum: { cksumtype: e.checksumType, checksum: cksum },
    cusec: 0,
    ctime: new Date(T0),
  });
  if (mutateAuth) auth = mutateAuth(auth);
  const apReq = encodeApReq({
    apOptions: 0,
    ticket: tgt.ticket,
    authenticator: {
      etype: tgt.sessionKey.etype,
      cipher: e.encrypt(tgt.sessionKey.key, KeyUsage.TGS_REQ_AUTH, auth),
    },
  });
  const padata = derSequence([
    encodePaData({ padataType: PA_TYPE.PA_TGS_REQ, padataValue: apReq }),
  ]);
  return derApplication(
    12,
    derFields([
      [1, derInteger(5)],
      [2, derInteger(12)],
      [3, padata],
      [4, body],
    ]),
  );
}

export function createKdcTarget(): FuzzInstance {
  const { realm, asReq, tgt, tgsReq, sname } = realmWithTickets();
  const mit = loadFixtures().map(fixtureBytes);
  const seeds = [asReq, tgsReq, ...mit];
  const body: KdcReqBody = {
    kdcOptions: 0x40810000,
    realm: REALM,
    sname,
    till: new Date(T0 + 86400_000),
    rtime: new Date(T0 + 7 * 86400_000),
    nonce: 54321,
    etype: [18, 17, 20],
  };
  const bodyBytes = encodeKdcReqBody(body);
  return {
    typedErrors: false,
    generate(r: Rng) {
      const mode = r.int(4);
      if (mode === 0) return mutateBytes(r.pick(seeds), r, seeds);
      if (mode === 1) return mutateDer(r.pick(seeds), r, seeds);
      const mutAuth = mode === 3 ? (a: Uint8Array) => mutateDer(a, r) : null;
      const b = r.chance(0.8) ? mutateDer(bodyBytes, r, seeds) : bodyBytes;
      return tgsReqAround(tgt, b, mutAuth);
    },
    run(input) {
      const out = realm.kdc.handle(
        input as Uint8Array,
        (input as Uint8Array).length % 2 ? "udp" : "tcp",
      );
      if (out.drop === "internal")
        throw new ContractViolation("the KDC core failed internally (an unexpected exception)");
      if (!out.reply) return "rejected";
      const m = decodeKrbMessage(out.reply);
      if (m.type !== "KRB-ERROR" && m.type !== "AS-REP" && m.type !== "TGS-REP")
        throw new ContractViolation(`the KDC answered with ${m.type}`);
      return m.type === "KRB-ERROR" ? "rejected" : "accepted";
    },
  };
}

export function createApReqTarget(): FuzzInstance {
  const { realm, svc, sname } = realmWithTickets();
  const svcKey = realm.key("SERVER1$", "server1-pw", 18);
  const e = getEnctype(18);
  const ticketPlain = e.decrypt(svcKey, KeyUsage.KDC_REP_TICKET, svc.ticket.encPart.cipher);
  const server = { realm: REALM, name: sname };
  const keytab = {
    entries: [
      {
        principal: server,
        timestamp: 0,
        kvno: svc.ticket.encPart.kvno ?? 1,
        key: { keytype: 18, keyvalue: svcKey },
      },
    ],
  };
  const sessionKey = { keytype: svc.sessionKey.etype, keyvalue: svc.sessionKey.key };
  const built = buildApReq({
    ticket: svc.ticket,
    sessionKey,
    client: { realm: REALM, name: principal("alice") },
    nowMs: T0,
    randomBytes: fixedRandom,
  });
  const authPlain = encodeAuthenticator(built.authenticator);
  const seeds = [ticketPlain, authPlain];
  const now = { ms: T0 };
  const deps = {
    keytab,
    now: () => now.ms,
    replayCache: createReplayCache({ now: () => now.ms }),
    service: server,
    kdcKey: { etype: 18, key: realm.krbtgtKey },
  };
  return {
    generate(r) {
      if (r.chance(0.2)) return mutateBytes(built.bytes, r);
      const t = r.chance(0.5) ? mutateDer(ticketPlain, r, seeds) : ticketPlain;
      // a fresh cusec: the replay cache sees a new authenticator unless a mutation repeats one
      const fresh = encodeAuthenticator({ ...built.authenticator, cusec: r.int(1_000_000) });
      const a = r.chance(0.6) ? mutateDer(fresh, r, seeds) : fresh;
      const ticket = {
        ...svc.ticket,
        encPart: { ...svc.ticket.encPart, cipher: e.encrypt(svcKey, KeyUsage.KDC_REP_TICKET, t) },
      };
      return encodeApReq({
        ...built.apReq,
        ticket,
        authenticator: {
          etype: 18,
          cipher: e.encrypt(sessionKey.keyvalue, KeyUsage.AP_REQ_AUTH, a),
        },
      });
    },
    run(input) {
      acceptApReq(deps, input as Uint8Array);
      return "accepted";
    },
  };
}
