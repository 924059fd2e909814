/**
 * Run inside the Samba test's network namespace (`ip netns exec NS node samba-login.js
 * KRB5_CONFIG KEYS PRINCIPAL [STALE_SALT]`): logs in with our client over a recording
 * transport and prints `{ "protos": ["udp", "tcp", ...], "clientEtype": 18, "logins": [...] }`,
 * so the test can see the KRB_ERR_RESPONSE_TOO_BIG -> TCP path against Samba's KDC and how
 * many AS-REQs each login sent. KEYS is a keytab file (one login) or `password:PW` (two
 * logins with one client: the second uses the salt the first learnt); STALE_SALT plants a
 * wrong remembered salt before the first.
 */
import { randomBytes } from "../../src/crypto/primitives.js";
import {
  createKerberosClient,
  type KeySource,
  memoryHints,
} from "../../src/kerberos/client/index.js";
import { kdcsOf, readKrb5Config } from "../../src/kerberos/config.js";
import { readKeytabFile } from "../../src/kerberos/files/keytab.js";
import { formatPrincipal, parsePrincipal } from "../../src/kerberos/principal.js";
import { createKdcTransport, createNodeKdcIo, type KdcIo } from "../../src/kerberos/transport.js";

interface Login {
  protos: string[];
  messages: number;
  clientEtype: number;
}

/** Logs in and prints what happened; nothing when imported or run without arguments. */
async function main(conf: string, keys: string, principal: string, stale?: string): Promise<void> {
  const config = readKrb5Config(conf);
  const real = createNodeKdcIo();
  let now: Login = { protos: [], messages: 0, clientEtype: 0 };
  const io: KdcIo = {
    async exchange(proto, kdc, req, t) {
      now.protos.push(proto);
      return real.exchange(proto, kdc, req, t);
    },
  };
  const transport = createKdcTransport({ io, kdcsOf: (r) => kdcsOf(config, r) });
  const hints = memoryHints();
  const client = createKerberosClient({
    transport: {
      send(realm, req) {
        now.messages++;
        return transport.send(realm, req);
      },
    },
    now: () => Date.now(),
    randomBytes,
    preauthHints: hints,
  });
  const who = parsePrincipal(principal, config.libdefaults.default_realm);
  const source: KeySource = keys.startsWith("password:")
    ? { kind: "password", password: keys.slice("password:".length) }
    : { kind: "keytab", keytab: readKeytabFile(keys) };
  if (stale) hints.set(formatPrincipal(who), { etype: 18, salt: stale });
  const logins: Login[] = [];
  for (let i = 0; i < (source.kind === "password" ? 2 : 1); i++) {
    now = { protos: [], messages: 0, clientEtype: 0 };
    now.clientEtype = (await client.login({ client: who, keys: source })).clientEtype;
    logins.push(now);
  }
  const first = logins[0] as Login;
  process.stdout.write(
    `${JSON.stringify({ protos: first.protos, clientEtype: first.clientEtype, logins })}\n`,
  );
}

// The test runner also loads every .js under dist/test: without arguments this is a no-op.
const [conf, keys, principal, stale] = process.argv.slice(2);
if (conf && keys && principal) await main(conf, keys, principal, stale);
