/**
 * The Group Policy scope of this Active Directory member, read from the DC as the machine
 * itself (its TGT from the keytab, LDAP sealed with Kerberos), as a Windows computer reads
 * it at boot and on refresh: its own object and tokenGroups, the domain and its OUs with
 * their gPLink and gPOptions, and the GPOs' flags and DACLs. src/gpipsec/scope.ts decides.
 */
import { PosternError } from "../errors.js";
import { policiesContainer } from "../gpipsec/gpo.js";
import {
  computeScope,
  type GpoObject,
  type GpoScope,
  type Som,
  somChain,
} from "../gpipsec/scope.js";
import { decodeSid } from "../gpipsec/secdesc.js";
import { berInteger, berSequence } from "../ldap/ber.js";
import {
  connectLdap,
  domainToDn,
  escapeFilterValue,
  firstText,
  type LdapConnection,
} from "../ldap/client.js";
import { type MachineIdentity, machineCcachePath } from "./machine-keys.js";
import { machineTgt } from "./machine-tgt.js";

/**
 * LDAP_SERVER_SD_FLAGS_OID: ask for owner, group and DACL only. Without it AD asks for the
 * SACL too, which needs a privilege the machine lacks, and returns no descriptor at all.
 */
const SD_FLAGS = {
  type: "1.2.840.113556.1.4.801",
  critical: true,
  value: berSequence([berInteger(7)]),
};

export interface MemberScope extends GpoScope {
  computerDn: string;
  /** The SIDs the security filtering saw: the computer's and its groups' (tokenGroups). */
  token: string[];
  /** Every GPO read, by GUID: the applier reads their objects and files. */
  gpos: Map<string, GpoObject & { dn: string; fileSysPath: string }>;
}

/** Opens a sealed LDAP connection to the member's DC with the machine's own TGT. */
export async function machineLdap(home: string, id: MachineIdentity): Promise<LdapConnection> {
  await machineTgt(home, id);
  return connectLdap({
    host: id.dc.host,
    dcName: id.dc.hostName ?? id.dc.host,
    credentials: { kind: "ccache", ccache: machineCcachePath(home) },
    ...(id.dc.kdcPort ? { kdc: { host: id.dc.host, port: id.dc.kdcPort } } : {}),
  });
}

const attr = (e: { attributes: Map<string, Buffer[]> }, name: string) =>
  e.attributes.get(name.toLowerCase()) ?? [];

/** Reads and computes the member's scope over an open connection. */
export async function readMemberScope(
  conn: LdapConnection,
  id: MachineIdentity,
): Promise<MemberScope> {
  const domainDn = domainToDn(id.domain);
  const found = await conn.search({
    base: domainDn,
    scope: "sub",
    filter: `(&(objectClass=computer)(sAMAccountName=${escapeFilterValue(id.sam)}))`,
    attributes: ["objectSid"],
  });
  const computer = found[0];
  if (!computer) throw new PosternError("gpo", `no computer object ${id.sam} in ${domainDn}`);
  // tokenGroups is constructed: only a base search returns it.
  const [withGroups] = await conn.search({
    base: computer.dn,
    scope: "base",
    filter: "(objectClass=*)",
    attributes: ["tokenGroups"],
  });
  const token = [
    id.sid,
    ...attr(withGroups ?? computer, "tokenGroups").map((b) => decodeSid(b, 0).sid),
  ];
  const soms: Som[] = [];
  for (const dn of somChain(computer.dn, domainDn)) {
    const [e] = await conn.search({
      base: dn,
      scope: "base",
      filter: "(objectClass=*)",
      attributes: ["gPLink", "gPOptions"],
    });
    soms.push({
      dn,
      gpLink: e ? (firstText(e, "gPLink") ?? "") : "",
      gpOptions: Number(e ? (firstText(e, "gPOptions") ?? 0) : 0),
    });
  }
  const entries = await conn.search({
    base: policiesContainer(domainDn),
    scope: "one",
    filter: "(objectClass=groupPolicyContainer)",
    attributes: ["cn", "displayName", "flags", "nTSecurityDescriptor", "gPCFileSysPath"],
    controls: [SD_FLAGS],
  });
  const gpos: MemberScope["gpos"] = new Map();
  for (const e of entries) {
    const guid = (firstText(e, "cn") ?? "").replace(/[{}]/g, "").toLowerCase();
    const sd = attr(e, "nTSecurityDescriptor")[0];
    // A GPO whose descriptor the machine may not read (no READ_CONTROL) cannot apply to it:
    // an empty DACL says so to the access check.
    gpos.set(guid, {
      guid,
      dn: e.dn,
      name: firstText(e, "displayName") ?? `{${guid}}`,
      flags: Number(firstText(e, "flags") ?? 0),
      securityDescriptor: sd ?? EMPTY_DACL_SD,
      fileSysPath: firstText(e, "gPCFileSysPath") ?? "",
    });
  }
  return { ...computeScope(soms, gpos, token), computerDn: computer.dn, token, gpos };
}

/** A descriptor with a present, empty DACL: nothing granted. */
const EMPTY_DACL_SD = (() => {
  const b = Buffer.alloc(28);
  b[0] = 1;
  b.writeUInt16LE(0x8004, 2);
  b.writeUInt32LE(20, 16);
  b[20] = 2;
  b.writeUInt16LE(8, 22);
  return b;
})();
