/**
 * Interop with MIT Kerberos 1.20's KDC, narrated:
 *   1. a throw-away realm, a user, and one service per AES enctype (17, 18, 19, 20)
 *   2. MIT's kinit and kvno fetch a service ticket for each into a ccache
 *   3. we decrypt each ticket's EncTicketPart with the service key (key usage 2) and verify
 *      the PAC MIT put in it: server, KDC and ticket signatures (service and krbtgt keys)
 *   4. the other way round, for each enctype: krbtgt gets a key of that enctype, we open the
 *      user's TGT with it, encrypt it again with our AES code (fresh confounder), and ask
 *      MIT's kvno for a service ticket with it: MIT's KDC must decrypt and accept it. Under
 *      a wrong key it refuses.
 *      (MIT 1.20 with its db2 back end builds a fresh PAC for each ticket and ignores the
 *      TGT's, so MIT cannot be made to check a PAC we sign; our KDC's tests do that.)
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
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
  checkClientInfo,
  decodePac,
  findBuffer,
  findSignature,
  PacError,
  verifyPacSignatures,
} from "../../src/kerberos/pac/index.js";
import { hex } from "./load-vectors.js";
import { readCcacheTickets, replaceCcacheTicket } from "./mini-ccache.js";
import { ctx, parseDer } from "./mini-der.js";
import { keytabKeys, type MitRealm, startMitRealm } from "./mit-realm.js";
import { openTicket, ticketEtype } from "./mit-ticket.js";

const ETYPES = [17, 18, 19, 20];
const svc = (etype: number) => `svc${etype}/host.mit.test`;

describe("MIT krb5kdc service tickets: our AES decryption, MIT's PAC signatures", () => {
  let realm: MitRealm;
  const keys = new Map<string, string>();
  const tickets = new Map<string, Uint8Array>();
  const key = (principal: string, etype: number) =>
    hex(keys.get(`${principal}@${realm.realm} ${getEnctype(etype).name}`)!);
  const ccache = () => path.join(realm.dir, "ccache");

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
    for (const t of readCcacheTickets(fs.readFileSync(ccache()))) tickets.set(t.server, t.ticket);
  });
  after(() => realm?.stop());

  for (const etype of ETYPES) {
    const name = `${getEnctype(etype).name} (${etype})`;
    it(`${name}: MIT's ticket decrypts with our key usage 2; a wrong usage is refused`, () => {
      const der = tickets.get(`${svc(etype)}@${realm.realm}`)!;
      const o = openTicket(der, key(svc(etype), etype));
      assert.equal(o.etype, etype);
      assert.equal(o.encTicketPart.tag, 0x63, "EncTicketPart is [APPLICATION 3]");
      const cipher = ctx(ctx(parseDer(der).children![0]!, 3)!.children![0]!, 2)!.children![0]!
        .value;
      assert.throws(
        () => getEnctype(etype).decrypt(key(svc(etype), etype), KeyUsage.AS_REP_ENC_PART, cipher),
        (e: unknown) => e instanceof KerberosCryptoError && e.code === "integrity",
      );
    });

    it(`${name}: MIT's PAC verifies (server, KDC and ticket signatures)`, () => {
      const o = openTicket(tickets.get(`${svc(etype)}@${realm.realm}`)!, key(svc(etype), etype));
      const pac = decodePac(o.pac);
      const kdcEtype = getChecksumType(findSignature(pac, 7)!.signatureType).etype;
      const r = verifyPacSignatures(
        o.pac,
        { etype, key: key(svc(etype), etype) },
        { etype: kdcEtype, key: key(`krbtgt/${realm.realm}`, kdcEtype) },
        { ticket: o.placeholder() },
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
      // CLIENT_INFO matches the ticket's authtime ([5] KerberosTime "YYYYMMDDHHMMSSZ").
      const t = new TextDecoder().decode(
        ctx(o.encTicketPart.children![0]!, 5)!.children![0]!.value,
      );
      const authTimeMs = Date.parse(
        `${t.slice(0, 4)}-${t.slice(4, 6)}-${t.slice(6, 8)}T${t.slice(8, 10)}:${t.slice(10, 12)}:${t.slice(12, 14)}Z`,
      );
      checkClientInfo(pac, { name: "user", authTimeMs });
      // One changed byte in the PAC's client name breaks the server signature.
      const ci = pac.buffers.findIndex((b) => b.kind === "client-info");
      const off = new DataView(o.pac.buffer, o.pac.byteOffset).getUint32(16 + 16 * ci, true);
      const m = Uint8Array.from(o.pac);
      m[off + 10]! ^= 0x01;
      assert.throws(
        () => verifyPacSignatures(m, { etype, key: key(svc(etype), etype) }),
        (e: unknown) => e instanceof PacError && e.code === "pac-bad-signature",
      );
    });
  }
});

describe("MIT krb5kdc accepts TGTs encrypted by our code", () => {
  let realm: MitRealm;
  const tgtName = () => `krbtgt/${realm.realm}@${realm.realm}`;
  const ccache = () => path.join(realm.dir, "ccache");
  const kt = (name: string) => path.join(realm.dir, name);

  before(async () => {
    realm = await startMitRealm();
    realm.kadmin("addprinc -randkey user");
    realm.kadmin(`ktadd -k ${kt("user.keytab")} user`);
    realm.kadmin("addprinc -randkey -e aes256-cts-hmac-sha1-96:normal svc18/host.mit.test");
  });
  after(() => realm?.stop());

  /**
   * Gives krbtgt a single key of `etype` (MIT issues and accepts TGTs only under its first
   * krbtgt key), gets a TGT, opens it with that key and encrypts it again ourselves, under
   * that key or under a wrong one, back into the ccache.
   */
  function reencryptTgt(etype: number, wrongKey: boolean): void {
    const e = getEnctype(etype);
    realm.kadmin(`cpw -randkey -e ${e.name}:normal ${tgtName()}`);
    const file = kt(`tgt-${etype}-${wrongKey}.keytab`);
    realm.kadmin(`ktadd -k ${file} -norandkey ${tgtName()}`);
    const tgtKey = hex(keytabKeys(realm, file).find((k) => k.enctype === e.name)!.key);
    realm.run("kdestroy", []);
    realm.run("kinit", ["-k", "-t", kt("user.keytab"), "user"]);
    const cc = fs.readFileSync(ccache());
    const tgt = readCcacheTickets(cc).find((t) => t.server === tgtName())!;
    assert.equal(ticketEtype(tgt.ticket), etype, "MIT encrypted the TGT under the new krbtgt key");
    const o = openTicket(tgt.ticket, tgtKey);
    const k = wrongKey ? e.generateKey() : tgtKey;
    fs.writeFileSync(ccache(), replaceCcacheTicket(cc, tgtName(), o.reseal({ key: k })));
  }

  function kvno(): { status: number | null; stderr: string } {
    const r = spawnSync("kvno", [`svc18/host.mit.test@${realm.realm}`], {
      env: realm.env,
      encoding: "utf8",
      timeout: 20000,
    });
    return { status: r.status, stderr: r.stderr };
  }

  for (const etype of ETYPES) {
    it(`${getEnctype(etype).name} (${etype}): a TGT we re-encrypted gets a service ticket from MIT's KDC`, () => {
      reencryptTgt(etype, false);
      const r = kvno();
      assert.equal(r.status, 0, r.stderr);
      const names = readCcacheTickets(fs.readFileSync(ccache())).map((t) => t.server);
      assert.ok(names.includes(`svc18/host.mit.test@${realm.realm}`));
    });
  }

  it("a TGT encrypted under the wrong key is refused by MIT's KDC", () => {
    reencryptTgt(18, true);
    const r = kvno();
    assert.notEqual(r.status, 0, "kvno must fail");
    assert.match(r.stderr, /integrity|modified/i);
  });
});
