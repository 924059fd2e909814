/**
 * The group path with postern's own KDC (src/kerberos/kdc, on loopback UDP): the machine
 * account XP$ is in the group "trusted" (RID 1108); our client logs in with its password
 * and gets a ticket for host/server1.bigfirm.test; IKE_AUTH with the Kerberos method runs
 * between two engines (fake network); server1's IKE SA carries the PAC's SIDs (server, KDC
 * and ticket signatures checked with the krbtgt key) and bypassAuthorization admits it.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { localKdcClient } from "../helpers/kdc-client.js";
import { bypassAuthorization } from "../../src/firewall/authorize.js";
import { defaultSettings } from "../../src/firewall/model.js";
import { serviceTicketOf } from "../../src/ike/kerberos-auth.js";
import { getEnctype } from "../../src/kerberos/crypto/index.js";
import { adSalt, createMemoryDatabase } from "../../src/kerberos/kdc/database.js";
import { createKdcServer, type KdcServer } from "../../src/kerberos/kdc/server.js";
import { NAME_TYPE, parsePrincipal } from "../../src/kerberos/principal.js";
import { B, settle } from "../ike/helpers.js";
import { krbPair } from "./setup.js";

const REALM = "BIGFIRM.TEST";
const SID = "S-1-5-21-71-72-73";
const TRUSTED = `${SID}-1108`;
const krbtgt = getEnctype(18).generateKey();
const serverKey = getEnctype(18).stringToKey("server1-pw", adSalt(REALM, "SERVER1$"));
const SERVER1 = parsePrincipal(
  `host/server1.bigfirm.test@${REALM}`,
  undefined,
  NAME_TYPE.NT_SRV_HST,
);

describe("IKEv2 Kerberos AUTH with tickets from postern's KDC (MS-PAC groups)", () => {
  let server: KdcServer;
  let port = 0;
  before(async () => {
    server = createKdcServer({
      database: createMemoryDatabase({
        realm: REALM,
        domainSid: SID,
        enctypes: [18, 17],
        principals: [
          {
            name: "XP$",
            password: "xp-pw",
            rid: 1110,
            groups: [1108],
            aliases: ["host/xp.bigfirm.test"],
          },
          {
            name: "SERVER1$",
            password: "server1-pw",
            rid: 1107,
            aliases: ["host/server1.bigfirm.test"],
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

  it("MS-PAC LOGON_INFO: xp's group 'trusted' reaches server1's IKE SA and the bypass decision", async () => {
    const client = localKdcClient(port);
    const xp = parsePrincipal(`XP$@${REALM}`);
    const { tgt } = await client.login({
      client: xp,
      keys: { kind: "password", password: "xp-pw" },
    });
    const cred = await client.getServiceTicket(tgt, SERVER1);
    const { a, b } = krbPair({
      getServiceTicket: () => serviceTicketOf(cred),
      keytab: {
        entries: [
          { principal: SERVER1, timestamp: 0, kvno: 1, key: { keytype: 18, keyvalue: serverKey } },
        ],
      },
      kdcKey: { etype: 18, key: krbtgt },
    });
    a.engine.initiate(`to-${B}`);
    await settle();
    assert.deepEqual(a.states, ["established"], a.logs.join("\n"));
    assert.deepEqual(b.states, ["established"], b.logs.join("\n"));
    const id = b.engine.sas()[0]!.identity!;
    assert.equal(id.principal, `XP$@${REALM}`);
    assert.equal(id.userSid, `${SID}-1110`);
    assert.ok(id.groupSids?.includes(TRUSTED), id.groupSids?.join(" "));
    const settings = { ...defaultSettings(), bypass: [{ sid: TRUSTED, name: "trusted" }] };
    assert.equal(bypassAuthorization(settings, [id.userSid!, ...(id.groupSids ?? [])]), TRUSTED);
  });
});
