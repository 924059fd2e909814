/**
 * Interop with MIT Kerberos 1.20's KDC, narrated:
 *   1. a throw-away realm, a user, and one service per AES enctype (17, 18, 19, 20)
 *   2. MIT's kinit and kvno fetch a service ticket for each into a ccache
 *   3. we decrypt each ticket's EncTicketPart with the service key (key usage 2)
 *   4. we verify the PAC that MIT's KDC put in it: server, KDC and ticket signatures (and
 *      the extended KDC signature when present), using the service key and the krbtgt key
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import {
  getChecksumType,
  getEnctype,
  KerberosCryptoError,
  KeyUsage,
} from "../../src/kerberos/crypto/index.js";
import {
  decodePac,
  findBuffer,
  findSignature,
  PacError,
  verifyPacSignatures,
} from "../../src/kerberos/pac/index.js";
import { hex } from "./load-vectors.js";
import { readCcacheTickets } from "./mini-ccache.js";
import { ctx, type Der, derInt, encodeDer, parseDer } from "./mini-der.js";
import { keytabKeys, type MitRealm, startMitRealm } from "./mit-realm.js";

const ETYPES = [17, 18, 19, 20];
const svc = (etype: number) => `svc${etype}/host.mit.test`;

interface Opened {
  etype: number;
  encTicketPart: Der;
  pac: Uint8Array;
  /** The EncTicketPart DER with the PAC's ad-data replaced by one zero byte (MS-PAC 2.8.2). */
  placeholder: Uint8Array;
}

/** AD-IF-RELEVANT (1) elements of EncTicketPart's authorization-data [10]. */
function ifRelevant(enc: Der): Der[] {
  const ad = ctx(enc.children![0]!, 10)!.children![0]!;
  return ad.children!.filter((e) => derInt(ctx(e, 0)!.children![0]!) === 1);
}

/** AuthorizationData { { ad-type 128 (AD-WIN2K-PAC), ad-data 0x00 } } (MIT's placeholder). */
const PLACEHOLDER_AD: Der = parseDer(hex("300d300ba00402020080a103040100"));

describe("MIT krb5kdc tickets: AES decryption and PAC signatures", () => {
  let realm: MitRealm;
  const keys = new Map<string, string>();
  const tickets = new Map<string, Uint8Array>();

  before(async () => {
    realm = await startMitRealm();
    const kt = (name: string) => path.join(realm.dir, name);
    realm.kadmin("addprinc -randkey user");
    realm.kadmin(`ktadd -k ${kt("user.keytab")} user`);
    for (const etype of ETYPES) {
      const e = `${getEnctype(etype).name}:normal`;
      realm.kadmin(`addprinc -randkey -e ${e} ${svc(etype)}`);
      realm.kadmin(`ktadd -k ${kt("svc.keytab")} -e ${e} ${svc(etype)}`);
    }
    realm.kadmin(`ktadd -k ${kt("tgt.keytab")} -norandkey krbtgt/${realm.realm}`);
    for (const k of [
      ...keytabKeys(realm, kt("svc.keytab")),
      ...keytabKeys(realm, kt("tgt.keytab")),
    ]) {
      keys.set(`${k.principal} ${k.enctype}`, k.key);
    }
    realm.run("kinit", ["-k", "-t", kt("user.keytab"), "user"]);
    realm.run(
      "kvno",
      ETYPES.map((e) => `${svc(e)}@${realm.realm}`),
    );
    const cc = fs.readFileSync(path.join(realm.dir, "ccache"));
    for (const t of readCcacheTickets(cc)) tickets.set(t.server, t.ticket);
  });
  after(() => realm?.stop());

  function open(etype: number): Opened {
    const ticket = parseDer(tickets.get(`${svc(etype)}@${realm.realm}`)!);
    const encPart = ctx(ticket.children![0]!, 3)!.children![0]!;
    assert.equal(derInt(ctx(encPart, 0)!.children![0]!), etype, "ticket enctype");
    const cipher = ctx(encPart, 2)!.children![0]!.value;
    const e = getEnctype(etype);
    const key = hex(keys.get(`${svc(etype)}@${realm.realm} ${e.name}`)!);
    const plain = e.decrypt(key, KeyUsage.KDC_REP_TICKET, cipher);
    const encTicketPart = parseDer(plain);
    assert.deepEqual(encodeDer(encTicketPart), plain, "mini-der round trip");
    const adIfRelevant = ifRelevant(encTicketPart)[0]!;
    const inner = parseDer(ctx(adIfRelevant, 1)!.children![0]!.value);
    const pacAd = inner.children!.find((x) => derInt(ctx(x, 0)!.children![0]!) === 128)!;
    const pac = ctx(pacAd, 1)!.children![0]!.value;
    // Swap the PAC for a single zero byte and re-encode (what the KDC signed).
    const octets = ctx(adIfRelevant, 1)!.children![0]!;
    const saved = octets.value;
    octets.value = encodeDer(PLACEHOLDER_AD);
    const placeholder = encodeDer(encTicketPart);
    octets.value = saved;
    return { etype, encTicketPart, pac: Uint8Array.from(pac), placeholder };
  }

  for (const etype of ETYPES) {
    it(`${getEnctype(etype).name} (${etype}): MIT's ticket decrypts with our key usage 2 and a wrong usage is refused`, () => {
      const o = open(etype);
      assert.equal(o.encTicketPart.tag, 0x63, "EncTicketPart is [APPLICATION 3]");
      const ticket = parseDer(tickets.get(`${svc(etype)}@${realm.realm}`)!);
      const cipher = ctx(ctx(ticket.children![0]!, 3)!.children![0]!, 2)!.children![0]!.value;
      const key = hex(keys.get(`${svc(etype)}@${realm.realm} ${getEnctype(etype).name}`)!);
      assert.throws(
        () => getEnctype(etype).decrypt(key, KeyUsage.AS_REP_ENC_PART, cipher),
        (e: unknown) => e instanceof KerberosCryptoError && e.code === "integrity",
      );
    });

    it(`${getEnctype(etype).name} (${etype}): MIT's PAC verifies (server, KDC and ticket signatures)`, () => {
      const o = open(etype);
      const pac = decodePac(o.pac);
      const kdcSig = findSignature(pac, 7)!;
      const kdcEtype = getChecksumType(kdcSig.signatureType).etype;
      const tgtKey = hex(
        keys.get(`krbtgt/${realm.realm}@${realm.realm} ${getEnctype(kdcEtype).name}`)!,
      );
      const svcKey = hex(keys.get(`${svc(etype)}@${realm.realm} ${getEnctype(etype).name}`)!);
      const r = verifyPacSignatures(
        o.pac,
        { etype, key: svcKey },
        { etype: kdcEtype, key: tgtKey },
        { ticket: o.placeholder },
      );
      // MIT 1.20 signs the ticket but adds no extended KDC signature (19); checked when present.
      const extended = findSignature(pac, 19) !== undefined;
      assert.deepEqual(r.verified, {
        server: true,
        kdc: true,
        extendedKdc: extended,
        ticket: true,
      });
      assert.equal(findSignature(pac, 6)!.signatureType, getEnctype(etype).checksumType);
      assert.equal(findBuffer(pac, "client-info")?.value.name, "user");
      // One changed byte in the PAC's client name breaks the server signature.
      const m = Uint8Array.from(o.pac);
      const ci = decodePac(o.pac).buffers.findIndex((b) => b.kind === "client-info");
      assert.ok(ci >= 0);
      const off = new DataView(o.pac.buffer, o.pac.byteOffset).getUint32(16 + 16 * ci, true);
      m[off + 10]! ^= 0x01;
      assert.throws(
        () => verifyPacSignatures(m, { etype, key: svcKey }),
        (e: unknown) => e instanceof PacError && e.code === "pac-bad-signature",
      );
    });
  }
});
