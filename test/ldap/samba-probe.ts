/**
 * Run inside the Samba LDAP test's namespace (`ip netns exec NS node samba-probe.js DC_IP
 * DC_FQDN PASSWORD MARKER`): our LDAP client, through a TCP relay on 127.0.0.1 that records
 * every byte, binds as Administrator (SASL GSSAPI, sealed), reads the rootDSE, searches with
 * pages of 2, adds, modifies and deletes a contact whose description is MARKER, and tries a
 * wrong password. Prints one JSON line; the relay's bytes go to the test as base64 so it can
 * search them for the password and MARKER. Without arguments it does nothing (node --test).
 */
import * as net from "node:net";
import { connectLdap, firstText, LdapError } from "../../src/ldap/client.js";
import { childDn, escapeFilterValue } from "../../src/ldap/client.js";

/** A relay 127.0.0.1:port -> target:389 that keeps both directions' bytes. */
function relay(target: string): Promise<{ port: number; bytes: Buffer[]; close(): void }> {
  const bytes: Buffer[] = [];
  const server = net.createServer((c) => {
    const up = net.connect({ host: target, port: 389 });
    c.on("data", (b) => bytes.push(b));
    up.on("data", (b) => bytes.push(b));
    c.pipe(up);
    up.pipe(c);
    c.on("error", () => up.destroy());
    up.on("error", () => c.destroy());
  });
  return new Promise((resolve) => {
    server.listen(0, "127.0.0.1", () => {
      const port = (server.address() as net.AddressInfo).port;
      resolve({ port, bytes, close: () => server.close() });
    });
  });
}

async function main(dcIp: string, dcName: string, password: string, marker: string) {
  const r = await relay(dcIp);
  const out: Record<string, unknown> = {};
  let pagesSent = 0;
  const ldap = await connectLdap({
    host: "127.0.0.1",
    port: r.port,
    dcName,
    kdc: { host: dcIp },
    credentials: { kind: "password", principal: "Administrator", password },
    onWire: (dir) => {
      if (dir === "out") pagesSent++;
    },
  });
  out.boundAs = ldap.boundAs.name.nameString.join("/");
  const root = await ldap.rootDse();
  const base = firstText(root, "defaultNamingContext") ?? "";
  out.base = base;
  out.dnsHostName = firstText(root, "dnsHostName");

  const before = pagesSent;
  const users = await ldap.search({
    base,
    scope: "sub",
    filter: "(&(objectClass=user)(sAMAccountName=*))",
    attributes: ["sAMAccountName"],
    pageSize: 2,
  });
  out.pagedRequests = pagesSent - before;
  out.users = users.map((e) => firstText(e, "sAMAccountName")).sort();
  const unpaged = await ldap.search({
    base,
    scope: "sub",
    filter: "(&(objectClass=user)(sAMAccountName=*))",
    attributes: ["sAMAccountName"],
    pageSize: 0,
  });
  out.unpagedCount = unpaged.length;

  const name = "postern (ldap) test*";
  const dn = childDn("CN", name, `CN=Users,${base}`);
  await ldap.add(dn, { objectClass: ["contact"], description: [marker] });
  await ldap.modify(dn, [{ op: "replace", type: "description", values: [`${marker}-2`] }]);
  const found = await ldap.search({
    base,
    scope: "sub",
    filter: `(cn=${escapeFilterValue(name)})`,
    attributes: ["description"],
  });
  out.added = found.map((e) => ({ dn: e.dn, description: firstText(e, "description") }));
  try {
    await ldap.add(dn, { objectClass: ["contact"] });
  } catch (e) {
    out.addTwice = { code: (e as LdapError).resultCode, message: (e as Error).message };
  }
  await ldap.delete(dn);
  out.afterDelete = (
    await ldap.search({ base, scope: "sub", filter: `(cn=${escapeFilterValue(name)})` })
  ).length;
  try {
    await ldap.search({ base: `CN=nothere,${base}`, scope: "base", filter: "(objectClass=*)" });
  } catch (e) {
    out.noSuchObject = { code: (e as LdapError).resultCode, message: (e as Error).message };
  }
  await ldap.close();

  try {
    await connectLdap({
      host: dcIp,
      dcName,
      credentials: { kind: "password", principal: "Administrator", password: `${password}x` },
    });
    out.wrongPassword = "accepted";
  } catch (e) {
    out.wrongPassword = {
      ldap: e instanceof LdapError,
      code: (e as LdapError).resultCode,
      message: (e as Error).message,
    };
  }
  r.close();
  out.wire = Buffer.concat(r.bytes).toString("base64");
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

const [dcIp, dcName, password, marker] = process.argv.slice(2);
if (dcIp && dcName && password && marker) {
  main(dcIp, dcName, password, marker).catch((e) => {
    process.stderr.write(`${(e as Error).stack}\n`);
    process.exit(1);
  });
}
