/**
 * postern's own Kerberos client and acceptor (src/kerberos/client, acceptor) against our KDC
 * over real loopback sockets: login with a password, a service ticket for host/server1, an
 * AP-REQ the acceptor verifies with SERVER1$'s keytab and the krbtgt key, reading alice's
 * groups from the PAC (server, KDC and ticket signatures all checked).
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { randomBytes } from "../../src/crypto/primitives.js";
import { localKdcClient } from "../helpers/kdc-client.js";
import { acceptApReq, createReplayCache } from "../../src/kerberos/acceptor/index.js";
import { buildApReq, memoryHints } from "../../src/kerberos/client/index.js";
import { getEnctype } from "../../src/kerberos/crypto/index.js";
import { adSalt, createMemoryDatabase } from "../../src/kerberos/kdc/database.js";
import { createKdcServer, type KdcServer } from "../../src/kerberos/kdc/server.js";
import { decodeTicket } from "../../src/kerberos/messages/index.js";

const REALM = "PKD.TEST";
const SID = "S-1-5-21-61-62-63";
const krbtgt = getEnctype(18).generateKey();
const serverKey = getEnctype(18).stringToKey("server1-pw", adSalt(REALM, "SERVER1$"));

describe("postern's client and acceptor against our KDC (loopback UDP/TCP)", () => {
  let server: KdcServer;
  let port = 0;
  before(async () => {
    server = createKdcServer({
      database: createMemoryDatabase({
        realm: REALM,
        domainSid: SID,
        enctypes: [18, 17],
        principals: [
          { name: "alice", password: "alice-pw", rid: 1104, groups: [1105] },
          {
            name: "SERVER1$",
            password: "server1-pw",
            rid: 1107,
            aliases: ["host/server1.pkd.test"],
          },
        ],
      }),
      realm: REALM,
      krbtgtKeys: [{ etype: 18, kvno: 1, key: krbtgt }],
      listen: { address: "127.0.0.1", port: 0 },
    });
    port = (await server.start()).port;
  });
  after(async () => {
    await server?.stop();
  });

  it("login, service ticket, AP-REQ accepted; the PAC gives alice's SID and groups", async () => {
    const client = localKdcClient(port);
    const alice = { realm: REALM, name: { nameType: 1, nameString: ["alice"] } };
    const { tgt } = await client.login({
      client: alice,
      keys: { kind: "password", password: "alice-pw" },
    });
    const service = {
      realm: REALM,
      name: { nameType: 2, nameString: ["host", "server1.pkd.test"] },
    };
    const cred = await client.getServiceTicket(tgt, service);
    const ap = buildApReq({
      ticket: decodeTicket(cred.ticket),
      sessionKey: { keytype: cred.key.keytype, keyvalue: cred.key.keyvalue },
      client: alice,
      nowMs: Date.now(),
      randomBytes,
    });
    const accepted = acceptApReq(
      {
        keytab: {
          entries: [
            {
              principal: service,
              timestamp: 0,
              kvno: 1,
              key: { keytype: 18, keyvalue: serverKey },
            },
          ],
        },
        now: Date.now,
        replayCache: createReplayCache({ now: Date.now }),
        kdcKey: { etype: 18, key: krbtgt },
      },
      ap.bytes,
    );
    assert.deepEqual(accepted.client.name.nameString, ["alice"]);
    assert.deepEqual(accepted.pac?.verified, {
      server: true,
      kdc: true,
      extendedKdc: true,
      ticket: true,
    });
    assert.equal(accepted.pac?.identity?.userSid, `${SID}-1104`);
    assert.ok(accepted.pac?.identity?.groupSids.includes(`${SID}-1105`));
    const c = server.counters();
    assert.ok((c.requests["AS-REQ"] ?? 0) >= 2 && (c.requests["TGS-REQ"] ?? 0) >= 1);
  });

  it("one round trip: PA-ENC-TIMESTAMP in the first AS-REQ (keytab, or the salt of the last login); a stale salt falls back", async () => {
    const hints = memoryHints();
    const client = localKdcClient(port, { preauthHints: hints });
    const asReqs = () => server.counters().requests["AS-REQ"] ?? 0;
    const alice = { realm: REALM, name: { nameType: 1, nameString: ["alice"] } };
    const pw = { kind: "password", password: "alice-pw" } as const;
    await client.login({ client: alice, keys: pw });
    let n = asReqs();
    await client.login({ client: alice, keys: pw });
    assert.equal(asReqs() - n, 1, "alice's second login: one AS-REQ");
    const s1 = { realm: REALM, name: { nameType: 1, nameString: ["SERVER1$"] } };
    const keytab = {
      entries: [
        { principal: s1, timestamp: 0, kvno: 1, key: { keytype: 18, keyvalue: serverKey } },
      ],
    };
    n = asReqs();
    const r = await client.login({ client: s1, keys: { kind: "keytab", keytab } });
    assert.equal(r.clientEtype, 18);
    assert.equal(asReqs() - n, 1, "SERVER1$ with its keytab: one AS-REQ");
    // a salt of another name (an account renamed since): refused, then the KDC's ETYPE-INFO2
    hints.set("alice@PKD.TEST", { etype: 18, salt: `${REALM}bob` });
    n = asReqs();
    await client.login({ client: alice, keys: pw });
    assert.equal(asReqs() - n, 3, "guess refused, PREAUTH_REQUIRED, the KDC's salt");
    assert.equal(hints.get("alice@PKD.TEST")?.salt, `${REALM}alice`);
  });
});
