/**
 * Run inside the Samba test's network namespace (`ip netns exec NS node samba-login.js
 * KRB5_CONFIG KEYTAB PRINCIPAL`): logs in with our client over a recording transport and
 * prints `{ "protos": ["udp", "tcp", ...], "clientEtype": 18 }`, so the test can see the
 * KRB_ERR_RESPONSE_TOO_BIG -> TCP path against Samba's KDC.
 */
import { randomBytes } from "../../src/crypto/primitives.js";
import { createKerberosClient } from "../../src/kerberos/client/index.js";
import { kdcsOf, readKrb5Config } from "../../src/kerberos/config.js";
import { readKeytabFile } from "../../src/kerberos/files/keytab.js";
import { parsePrincipal } from "../../src/kerberos/principal.js";
import { createKdcTransport, createNodeKdcIo, type KdcIo } from "../../src/kerberos/transport.js";

/** Logs in and prints what happened; nothing when imported or run without arguments. */
async function main(conf: string, keytab: string, principal: string): Promise<void> {
  const config = readKrb5Config(conf);
  const real = createNodeKdcIo();
  const protos: string[] = [];
  const io: KdcIo = {
    async exchange(proto, kdc, req, t) {
      protos.push(proto);
      return real.exchange(proto, kdc, req, t);
    },
  };
  const client = createKerberosClient({
    transport: createKdcTransport({ io, kdcsOf: (r) => kdcsOf(config, r) }),
    now: () => Date.now(),
    randomBytes,
  });
  const r = await client.login({
    client: parsePrincipal(principal, config.libdefaults.default_realm),
    keys: { kind: "keytab", keytab: readKeytabFile(keytab) },
  });
  process.stdout.write(`${JSON.stringify({ protos, clientEtype: r.clientEtype })}\n`);
}

// The test runner also loads every .js under dist/test: without arguments this is a no-op.
const [conf, keytab, principal] = process.argv.slice(2);
if (conf && keytab && principal) await main(conf, keytab, principal);
