/**
 * The seam the KDC consumes: the directory seen as a Kerberos principal database.
 *
 * Names looked up (without the realm; the realm must be the domain's, any case):
 *   `NAME$`            a computer's account name (sAMAccountName)
 *   `host/NAME`, `host/name.domain`, `ldap/dc.domain`   a registered SPN (any case)
 *   `krbtgt/REALM`, `krbtgt`                             the ticket-granting service
 *   `Administrator`    a user by account name
 * The entry carries the long-term keys, the account SID, the primary group RID and the
 * expanded (nested) group SIDs that the PAC's LOGON_INFO lists, plus the enabled flag
 * (the KDC refuses disabled clients). Unknown names give null.
 */
import { readDelegation } from "./delegation.js";
import type { Directory } from "./directory.js";
import { createGroupExpander } from "./expand.js";
import type { AccountKey } from "./keys.js";
import { accountSid, RID } from "./sids.js";

export interface PrincipalEntry {
  /** The canonical name: `NAME$`, `krbtgt/REALM` or `Administrator`. */
  name: string;
  keys: AccountKey[];
  accountSid: string;
  primaryGroupRid: number;
  /** Every group SID of the principal, primary group first, nested groups expanded. */
  groupSids: string[];
  enabled: boolean;
  /** msDS-AllowedToDelegateTo (delegation.ts), when set. */
  allowedToDelegateTo?: string[];
  /** TRUSTED_TO_AUTH_FOR_DELEGATION, when set. */
  trustedToAuthForDelegation?: boolean;
  /** msDS-AllowedToActOnBehalfOfOtherIdentity (RBCD): SIDs that may delegate to it, when set. */
  allowedToActOnBehalfOf?: string[];
  /** msDS-SupportedEncryptionTypes; absent: the KDC's default (0x18). */
  supportedEnctypes?: number;
}

export interface PrincipalDatabase {
  lookup(principalName: string, realm: string): PrincipalEntry | null;
}

interface Row {
  rid: number;
  kind: string;
  sam: string;
  enabled: number;
  primary_group_rid: number | null;
  supported_enctypes: number | null;
}

export function createPrincipalDatabase(dir: Directory): PrincipalDatabase {
  const realm = dir.domain().realm;
  const bySam = dir.stmt(
    "SELECT rid, kind, sam, enabled, primary_group_rid, supported_enctypes FROM objects WHERE sam = ? AND kind != 'group'",
  );
  const bySpn = dir.stmt(
    "SELECT o.rid, o.kind, o.sam, o.enabled, o.primary_group_rid, o.supported_enctypes FROM spns s JOIN objects o ON o.rid = s.rid WHERE s.spn = ?",
  );
  const byRid = dir.stmt(
    "SELECT rid, kind, sam, enabled, primary_group_rid, supported_enctypes FROM objects WHERE rid = ?",
  );
  const groups = createGroupExpander(dir);
  const keysOf = dir.stmt("SELECT etype, kvno, key FROM keys WHERE rid = ? ORDER BY etype DESC");

  function find(name: string): Row | undefined {
    const slash = name.indexOf("/");
    if (slash < 0) {
      if (name.toLowerCase() === "krbtgt") return byRid.get(RID.krbtgt) as Row | undefined;
      return bySam.get(name) as Row | undefined;
    }
    const service = name.slice(0, slash).toLowerCase();
    if (service === "krbtgt") {
      return name.slice(slash + 1).toUpperCase() === realm
        ? (byRid.get(RID.krbtgt) as Row | undefined)
        : undefined;
    }
    return bySpn.get(name) as Row | undefined;
  }

  // One read transaction per lookup: the queries share one snapshot, and SQLite's per-
  // statement read-lock cost in WAL mode is paid once instead of four times.
  const read = dir.db.transaction((principalName: string): PrincipalEntry | null => {
    const row = find(principalName);
    if (!row) return null;
    const sid = dir.domainSid();
    const keys = (keysOf.all(row.rid) as { etype: number; kvno: number; key: Buffer }[]).map(
      (k) => ({ etype: k.etype, kvno: k.kvno, key: new Uint8Array(k.key) }),
    );
    const delegation = readDelegation(dir, row.rid);
    return {
      ...(delegation.allowedToDelegateTo.length
        ? { allowedToDelegateTo: delegation.allowedToDelegateTo }
        : {}),
      ...(delegation.trustedToAuthForDelegation ? { trustedToAuthForDelegation: true } : {}),
      ...(delegation.allowedToActOnBehalfOf.length
        ? { allowedToActOnBehalfOf: delegation.allowedToActOnBehalfOf }
        : {}),
      name: row.kind === "krbtgt" ? `krbtgt/${realm}` : row.sam,
      keys,
      accountSid: accountSid(sid, row.rid),
      primaryGroupRid: row.primary_group_rid ?? RID.domainUsers,
      groupSids: groups.expand(row.rid, row.primary_group_rid).map((r) => `${sid}-${r}`),
      enabled: row.enabled === 1,
      ...(row.supported_enctypes === null ? {} : { supportedEnctypes: row.supported_enctypes }),
    };
  });

  return {
    lookup(principalName, principalRealm) {
      if (principalRealm.toUpperCase() !== realm) return null;
      return read(principalName);
    },
  };
}
