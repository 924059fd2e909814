/**
 * Group and computer names <-> SIDs on an Active Directory member, over LDAP as the machine
 * itself (its TGT, SASL GSSAPI, sealed): `netsh firewall set bypass group="BIGFIRM\trusted"`.
 *   name:  [DOMAIN\]sAMAccountName; DOMAIN, when given, must be the domain's NetBIOS name
 *          (nETBIOSName of its crossRef) or its DNS name; a group or a computer (NAME$);
 *   sid:   (objectSid=<the SID's bytes, \XX-escaped>).
 * One connection per lookup: a netsh command resolves one or two names.
 */
import { FirewallError } from "../firewall/errors.js";
import { sidFromBytes, sidToBytes } from "../kerberos/pac/sid.js";
import {
  connectLdap,
  escapeFilterValue,
  firstText,
  type LdapConnection,
  type LdapEntry,
} from "../ldap/client.js";
import type { MachineIdentity } from "./machine-keys.js";
import { machineTgt } from "./machine-tgt.js";

async function asMachine<T>(
  home: string,
  id: MachineIdentity,
  f: (ldap: LdapConnection, base: string) => Promise<T>,
): Promise<T> {
  const tgt = await machineTgt(home, id);
  const ldap = await connectLdap({
    host: id.dc.host,
    dcName: id.dc.hostName ?? id.dc.host,
    credentials: { kind: "tgt", tgt },
  });
  try {
    const root = await ldap.rootDse();
    return await f(ldap, firstText(root, "defaultNamingContext") ?? "");
  } finally {
    await ldap.close();
  }
}

/** The domain's NetBIOS name, from its crossRef under CN=Partitions. */
async function netbiosName(ldap: LdapConnection, base: string): Promise<string | undefined> {
  const root = await ldap.rootDse();
  const config = firstText(root, "configurationNamingContext");
  if (!config) return undefined;
  const [x] = await ldap.search({
    base: `CN=Partitions,${config}`,
    scope: "one",
    filter: `(&(objectClass=crossRef)(nCName=${escapeFilterValue(base)}))`,
    attributes: ["nETBIOSName"],
  });
  return x ? firstText(x, "nETBIOSName") : undefined;
}

const sidOf = (e: LdapEntry) => {
  const v = e.attributes.get("objectsid")?.[0];
  return v ? sidFromBytes(v).sid : undefined;
};

/** SID of a group or computer named `[DOMAIN\]name`; FirewallError when there is none. */
export function adNameToSid(home: string, id: MachineIdentity, who: string): Promise<string> {
  const slash = who.indexOf("\\");
  const prefix = slash >= 0 ? who.slice(0, slash) : undefined;
  const name = slash >= 0 ? who.slice(slash + 1) : who;
  return asMachine(home, id, async (ldap, base) => {
    if (prefix !== undefined && prefix.toLowerCase() !== id.domain.toLowerCase()) {
      const nb = await netbiosName(ldap, base);
      if (!nb || nb.toLowerCase() !== prefix.toLowerCase())
        throw new FirewallError(
          "unknown-principal",
          `'${who}': ${prefix} is not this machine's domain (${nb ?? "?"}, ${id.domain}); other domains are not searched`,
        );
    }
    const [e] = await ldap.search({
      base,
      scope: "sub",
      filter: `(&(|(objectClass=group)(objectClass=computer))(sAMAccountName=${escapeFilterValue(name)}))`,
      attributes: ["objectSid"],
    });
    const sid = e && sidOf(e);
    if (!sid)
      throw new FirewallError(
        "unknown-principal",
        `no group or computer '${name}' in ${id.domain} (asked the DC ${id.dc.hostName ?? id.dc.host} over LDAP)`,
      );
    return sid;
  });
}

/** sAMAccountName of the object with this SID, or undefined. */
export function adSidToName(
  home: string,
  id: MachineIdentity,
  sid: string,
): Promise<string | undefined> {
  return asMachine(home, id, async (ldap, base) => {
    const [e] = await ldap.search({
      base,
      scope: "sub",
      filter: `(objectSid=${escapeFilterValue(sidToBytes(sid))})`,
      attributes: ["sAMAccountName"],
    });
    return e ? firstText(e, "sAMAccountName") : undefined;
  });
}
