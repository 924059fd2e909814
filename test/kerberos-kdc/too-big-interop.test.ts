/**
 * RFC 4120 §7.2.1 with a real client: our KDC answers a UDP request whose reply would exceed
 * its limit with KRB_ERR_RESPONSE_TOO_BIG, and MIT kinit retries over TCP and succeeds.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { getEnctype } from "../../src/kerberos/crypto/index.js";
import { createMemoryDatabase } from "../../src/kerberos/kdc/database.js";
import { createKdcServer, type KdcServer } from "../../src/kerberos/kdc/server.js";
import { freePort, haveMit } from "../kerberos-codec/mit-realm.js";
import { mitConfig, ok } from "./runner.js";

const REALM = "PKD.TEST";

describe("RFC 4120 §7.2.1: KRB_ERR_RESPONSE_TOO_BIG, then MIT kinit retries over TCP", {
  skip: !haveMit() && "MIT Kerberos tools missing",
}, () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pkd-big-"));
  let server: KdcServer;
  before(async () => {
    const port = await freePort();
    server = createKdcServer({
      database: createMemoryDatabase({
        realm: REALM,
        domainSid: "S-1-5-21-91-92-93",
        enctypes: [18],
        principals: [
          { name: "alice", password: "alice-pw", rid: 1104, groups: [1105, 1106, 1107] },
        ],
      }),
      realm: REALM,
      krbtgtKeys: [{ etype: 18, kvno: 1, key: getEnctype(18).generateKey() }],
      listen: { address: "127.0.0.1", port },
      maxUdpReplyBytes: 600,
    });
    await server.start();
    fs.writeFileSync(path.join(dir, "krb5.conf"), mitConfig(REALM, port, [18]));
  });
  after(async () => {
    await server?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("kinit gets its TGT; the KDC counted RESPONSE_TOO_BIG and a TCP connection", async () => {
    const env = {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      HOME: dir,
      KRB5_CONFIG: path.join(dir, "krb5.conf"),
      KRB5CCNAME: `FILE:${path.join(dir, "cc")}`,
      KRB5_TRACE: path.join(dir, "trace"),
    };
    await ok("kinit", [`alice@${REALM}`], env, "alice-pw\n");
    const trace = fs.readFileSync(path.join(dir, "trace"), "utf8");
    assert.match(trace, /Sending initial UDP request/);
    assert.match(trace, /Initiating TCP connection/);
    const c = server.counters();
    assert.equal(c.errors.KRB_ERR_RESPONSE_TOO_BIG, 1);
    assert.equal(c.tcpConnections, 1);
  });
});
