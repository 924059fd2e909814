/**
 * Which GPOs apply to a computer, as Windows Server 2003 computes it (the computer half of
 * [MS-GPOL] 3.2.5.1: GPO list creation and filtering). Pure: the caller reads the directory.
 *
 * - Containers (SOMs): the domain, then the computer's OUs from the top down (sites and
 *   the local GPO are not read).
 * - A container's gPLink lists its links `[LDAP://<gpo dn>;<flags>]`; flag 1 = link disabled
 *   (skipped), 2 = enforced. Links apply in the order of the string: the last is link order
 *   1 in the Group Policy Management Console and applies last, so it wins.
 * - gPOptions 1 (block inheritance) on a container drops the non-enforced links of every
 *   container above it; enforced links pass through.
 * - Enforced links apply after every non-enforced one, the lowest container's first, so an
 *   enforced link higher up wins over everything below it.
 * - A GPO whose flags disable its computer half (2, or 3 = all) does not apply.
 * - Security filtering: the GPO's DACL must grant the computer's token (its SID, its groups
 *   as tokenGroups gives them, Everyone and Authenticated Users) Read and the extended right
 *   Apply Group Policy; a deny ACE met first (Windows puts them first) refuses.
 * - A GPO linked twice applies once, at its last place in the order.
 */
import { accessCheck, decodeDacl, RIGHT_DS_READ_PROPERTY } from "./secdesc.js";
import { GpipsecError } from "./objects.js";

export const APPLY_GROUP_POLICY = "edacfd8f-ffb3-11d1-b41d-00a0c968f939";
/** Well-known SIDs every computer's token holds, which tokenGroups does not list. */
export const EVERYONE = "S-1-1-0";
export const AUTHENTICATED_USERS = "S-1-5-11";

export const LINK_DISABLED = 1;
export const LINK_ENFORCED = 2;
export const BLOCK_INHERITANCE = 1;
/** The GPO's `flags`: bit 1 disables its user half, bit 2 its computer half. */
export const GPO_COMPUTER_DISABLED = 2;

export interface GpLink {
  /** The GPO's DN as the link writes it. */
  dn: string;
  /** The GPO's GUID, lower case without braces. */
  guid: string;
  flags: number;
}

/** A domain or OU on the way down to the computer. */
export interface Som {
  dn: string;
  gpLink: string;
  gpOptions: number;
}

export interface GpoObject {
  guid: string;
  name: string;
  /** The GPO's `flags` attribute. */
  flags: number;
  /** nTSecurityDescriptor, binary; only its DACL is read. */
  securityDescriptor: Buffer;
}

export interface AppliedGpo {
  guid: string;
  name: string;
  som: string;
  enforced: boolean;
}

export type FilterReason =
  | "link disabled"
  | "blocked by inheritance"
  | "computer settings disabled"
  | "denied by security filtering"
  | "not readable (no Read permission)"
  | "not found";

export interface FilteredGpo {
  guid: string;
  name: string;
  som: string;
  reason: FilterReason;
  /** The detail behind the reason, e.g. the SID a deny ACE names. */
  detail?: string;
}

export interface GpoScope {
  /** In application order: the last one wins where two set the same value. */
  applied: AppliedGpo[];
  filtered: FilteredGpo[];
}

const LINK_RE = /\[LDAP:\/\/([^;\]]+);(\d+)\]/giy;
const GUID_IN_DN = /^cn=\{([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\},/i;

/** The links of a gPLink value, in string order. A malformed value is refused whole. */
export function parseGpLink(text: string): GpLink[] {
  const s = text.trim();
  const out: GpLink[] = [];
  LINK_RE.lastIndex = 0;
  while (LINK_RE.lastIndex < s.length) {
    const at = LINK_RE.lastIndex;
    const m = LINK_RE.exec(s);
    if (!m)
      throw new GpipsecError(`gPLink: not [LDAP://<dn>;<flags>] at character ${at + 1} of '${s}'`);
    const dn = m[1] as string;
    const g = GUID_IN_DN.exec(dn);
    if (!g) throw new GpipsecError(`gPLink: '${dn}' does not name a GPO (cn={GUID},...)`);
    out.push({ dn, guid: (g[1] as string).toLowerCase(), flags: Number(m[2]) });
  }
  return out;
}

/** The computer's OUs and domain from the top down, given its DN and the domain's DN. */
export function somChain(computerDn: string, domainDn: string): string[] {
  const lower = computerDn.toLowerCase();
  if (!lower.endsWith(`,${domainDn.toLowerCase()}`)) {
    throw new GpipsecError(`${computerDn} is not in ${domainDn}`);
  }
  const rdns = computerDn.slice(0, computerDn.length - domainDn.length - 1).split(/(?<!\\),/);
  const chain = [domainDn];
  // rdns[0] is the computer itself; only OUs hold links (CN=Computers is a container).
  for (let i = rdns.length - 1; i >= 1; i--) {
    const dn = `${rdns.slice(i).join(",")},${domainDn}`;
    if (/^ou=/i.test(rdns[i] as string)) chain.push(dn);
  }
  return chain;
}

/**
 * The applied and filtered GPOs. `soms` from the domain down (somChain's order), `gpos` by
 * GUID, `token` the computer's SID and groups (Everyone and Authenticated Users are added).
 */
export function computeScope(
  soms: readonly Som[],
  gpos: ReadonlyMap<string, GpoObject>,
  token: Iterable<string>,
): GpoScope {
  const sids = new Set([...token, EVERYONE, AUTHENTICATED_USERS]);
  const filtered: FilteredGpo[] = [];
  const nameOf = (guid: string) => gpos.get(guid)?.name ?? `{${guid}}`;
  type Linked = { link: GpLink; som: string };
  let normal: Linked[] = [];
  const enforcedBySom: Linked[][] = [];
  for (const som of soms) {
    const links = parseGpLink(som.gpLink);
    if (som.gpOptions & BLOCK_INHERITANCE) {
      for (const l of normal) {
        filtered.push({
          guid: l.link.guid,
          name: nameOf(l.link.guid),
          som: l.som,
          reason: "blocked by inheritance",
          detail: som.dn,
        });
      }
      normal = [];
    }
    const enforced: Linked[] = [];
    for (const link of links) {
      if (link.flags & LINK_DISABLED) {
        filtered.push({
          guid: link.guid,
          name: nameOf(link.guid),
          som: som.dn,
          reason: "link disabled",
        });
      } else if (link.flags & LINK_ENFORCED) {
        enforced.push({ link, som: som.dn });
      } else {
        normal.push({ link, som: som.dn });
      }
    }
    enforcedBySom.push(enforced);
  }
  const order = [...normal, ...enforcedBySom.reverse().flat()];
  // A GPO linked more than once applies at its last place.
  const last = new Map(order.map((l, i) => [l.link.guid, i]));
  const applied: AppliedGpo[] = [];
  order.forEach((l, i) => {
    if (last.get(l.link.guid) !== i) return;
    const base = { guid: l.link.guid, name: nameOf(l.link.guid), som: l.som };
    const refused = verdict(gpos.get(l.link.guid), sids);
    if (refused) filtered.push({ ...base, ...refused });
    else applied.push({ ...base, enforced: (l.link.flags & LINK_ENFORCED) !== 0 });
  });
  return { applied, filtered };
}

/** Why a linked GPO does not apply to the token, or null when it does. */
function verdict(
  gpo: GpoObject | undefined,
  sids: ReadonlySet<string>,
): { reason: FilterReason; detail?: string } | null {
  if (!gpo) return { reason: "not found" };
  if (gpo.flags & GPO_COMPUTER_DISABLED) return { reason: "computer settings disabled" };
  const dacl = decodeDacl(gpo.securityDescriptor);
  const read = accessCheck(dacl, sids, { mask: RIGHT_DS_READ_PROPERTY });
  if (!read.granted) {
    return {
      reason: "not readable (no Read permission)",
      ...(read.deniedBy ? { detail: `Read denied to ${read.deniedBy}` } : {}),
    };
  }
  const apply = accessCheck(dacl, sids, { extendedRight: APPLY_GROUP_POLICY });
  if (apply.granted) return null;
  return {
    reason: "denied by security filtering",
    detail: apply.deniedBy
      ? `Apply Group Policy denied to ${apply.deniedBy}`
      : "no Apply Group Policy for the computer or its groups",
  };
}
