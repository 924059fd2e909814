/**
 * Run inside the Samba test's network namespace (`ip netns exec NS node samba-srv-probe.js
 * DNS_IP DOMAIN PRINCIPAL PASSWORD`): asks Samba's DNS on DNS_IP:53 for the domain's SRV
 * records with the member's resolver, logs in through the KDCs they name (no KDC address
 * given), and prints what it found as one JSON line.
 */
import { randomBytes } from "../../src/crypto/primitives.js";
import { createKerberosClient } from "../../src/kerberos/client/index.js";
import { parsePrincipal } from "../../src/kerberos/principal.js";
import { createNodeKdcIo } from "../../src/kerberos/transport.js";
import { createLocatingTransport, locateDcs, locateKdcs } from "../../src/member/kdc-locator.js";
import { createDomainResolver } from "../../src/member/resolver.js";
import { kerberosSrvNames } from "../../src/member/srv.js";

async function main(dns: string, domain: string, principal: string, password: string) {
  const resolver = createDomainResolver({ servers: [{ host: dns, port: 53 }] });
  const names = kerberosSrvNames(domain);
  const udp = await resolver.lookupSrv(names.udp);
  const tcp = await resolver.lookupSrv(names.tcp);
  const dcs = await locateDcs(resolver, domain);
  const configured = { host: "192.0.2.1", port: 1 };
  const where = await locateKdcs({ resolver, domain, configured });
  const show = (ts: typeof udp) =>
    ts.map((t) => `${t.priority} ${t.weight} ${t.port} ${t.target} ${t.addresses.join(",")}`);
  const found = { udp: show(udp), tcp: show(tcp), dcs: show(dcs), where };
  if (where.source !== "srv") {
    process.stdout.write(`${JSON.stringify(found)}\n`);
    return;
  }
  const attempts: string[] = [];
  const client = createKerberosClient({
    transport: createLocatingTransport({
      io: createNodeKdcIo(),
      locate: () => locateKdcs({ resolver, domain, configured }),
      onAttempt: (proto, kdc, outcome) =>
        attempts.push(`${proto} ${kdc.host}:${kdc.port} ${outcome}`),
    }),
    now: Date.now,
    randomBytes,
  });
  const realm = domain.toUpperCase();
  const r = await client.login({
    client: parsePrincipal(principal, realm),
    keys: { kind: "password", password },
  });
  const tgt = r.tgt.server.name.nameString.join("/");
  process.stdout.write(`${JSON.stringify({ ...found, attempts, tgt })}\n`);
}

// The test runner also loads every .js under dist/test: without arguments this is a no-op.
const [dns, domain, principal, password] = process.argv.slice(2);
if (dns && domain && principal && password) await main(dns, domain, principal, password);
