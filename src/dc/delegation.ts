/**
 * Kerberos delegation settings of an account, as AD keeps them on the account object:
 *
 *   msDS-AllowedToDelegateTo              the SPNs it may get tickets to in a user's name
 *                                         (S4U2Proxy, constrained delegation)
 *   TRUSTED_TO_AUTH_FOR_DELEGATION (UAC)  "use any authentication protocol": its S4U2Self
 *                                         tickets are forwardable (protocol transition)
 *   msDS-AllowedToActOnBehalfOfOtherIdentity
 *                                         who may delegate *to* this account (resource-based
 *                                         constrained delegation): the SIDs of accounts or
 *                                         groups, as the allow entries of AD's security
 *                                         descriptor name them
 *
 * One row per account that has any (table `delegation`, schemas 3 and 6); the KDC reads them
 * through principals.ts at every lookup, so a change applies to the next request. RBCD
 * entries are stored as SIDs, as AD stores them: a principal deleted later leaves a SID that
 * matches no one (a new object never gets its RID again, sids.ts).
 */
import type { Directory } from "./directory.js";
import { DirectoryError } from "./errors.js";
import { getObject, objectByRid, sidOf } from "./objects.js";
import { ridOf } from "./sids.js";

/** What the directory stores for an account (what the KDC reads). */
export interface DelegationSettings {
  allowedToDelegateTo: string[];
  trustedToAuthForDelegation: boolean;
  /** msDS-AllowedToActOnBehalfOfOtherIdentity: SIDs of accounts or groups. */
  allowedToActOnBehalfOf: string[];
}

/** What `show` and `set` answer: the settings, each RBCD SID with its name if it has one. */
export interface DelegationInfo extends Omit<DelegationSettings, "allowedToActOnBehalfOf"> {
  account: string;
  allowedToActOnBehalfOf: { sid: string; name?: string }[];
}

export interface DelegationChange {
  /** Replaces the list (an empty list clears it). */
  allowedToDelegateTo?: string[];
  trustedToAuthForDelegation?: boolean;
  /** Replaces the RBCD list: account or group names, or SIDs (an empty list clears it). */
  allowedToActOnBehalfOf?: string[];
}

interface Row {
  allowed_to: string;
  trusted_to_auth: number;
  allowed_to_act: string;
}

/** A service principal name as msDS-AllowedToDelegateTo holds it: service/host[:port][/name]. */
function checkSpn(spn: string): string {
  if (!/^[A-Za-z0-9._-]+\/[A-Za-z0-9._:-]+(\/[A-Za-z0-9._-]+)?$/.test(spn))
    throw new DirectoryError(
      "dc.invalid-name",
      `'${spn}' is not a service principal name (service/host)`,
    );
  return spn;
}

const SID = /^S-1(-\d{1,10}){1,15}$/;

/**
 * The SID an RBCD entry names: a SID as given (one of this domain must name an existing
 * account or group), or the SID of the account or group of that name.
 */
function principalSid(dir: Directory, who: string): string {
  if (/^S-/i.test(who)) {
    const sid = who.toUpperCase();
    if (!SID.test(sid)) throw new DirectoryError("dc.invalid-name", `'${who}' is not a SID`);
    const rid = ridOf(dir.domainSid(), sid);
    if (rid !== null && !objectByRid(dir, rid))
      throw new DirectoryError("dc.not-found", `no account or group has the SID ${sid}`);
    return sid;
  }
  const row = getObject(dir, who);
  if (row.kind === "krbtgt")
    throw new DirectoryError("dc.invalid-name", `'${row.sam}' cannot be granted delegation`);
  return sidOf(dir, row.rid);
}

/** The delegation settings of the account `rid` (none: empty lists, not trusted). */
export function readDelegation(dir: Directory, rid: number): DelegationSettings {
  const row = dir
    .stmt("SELECT allowed_to, trusted_to_auth, allowed_to_act FROM delegation WHERE rid = ?")
    .get(rid) as Row | undefined;
  return {
    allowedToDelegateTo: row ? (JSON.parse(row.allowed_to) as string[]) : [],
    trustedToAuthForDelegation: row?.trusted_to_auth === 1,
    allowedToActOnBehalfOf: row ? (JSON.parse(row.allowed_to_act) as string[]) : [],
  };
}

function account(dir: Directory, name: string) {
  const row = getObject(dir, name);
  if (row.kind !== "computer" && row.kind !== "user")
    throw new DirectoryError(
      "dc.invalid-name",
      `'${row.sam}' is a ${row.kind}: delegation is set on accounts`,
    );
  return row;
}

/** The settings with the account's name and each RBCD SID's account or group name. */
function info(dir: Directory, sam: string, d: DelegationSettings): DelegationInfo {
  return {
    account: sam,
    ...d,
    allowedToActOnBehalfOf: d.allowedToActOnBehalfOf.map((sid) => {
      const rid = ridOf(dir.domainSid(), sid);
      const name = rid === null ? undefined : objectByRid(dir, rid)?.sam;
      return name === undefined ? { sid } : { sid, name };
    }),
  };
}

export function showDelegation(dir: Directory, name: string): DelegationInfo {
  const row = account(dir, name);
  return info(dir, row.sam, readDelegation(dir, row.rid));
}

/** Changes what is given, keeps the rest; one audit row with the new settings. */
export function setDelegation(
  dir: Directory,
  actor: string,
  name: string,
  change: DelegationChange,
): DelegationInfo {
  const row = account(dir, name);
  const spns = change.allowedToDelegateTo?.map(checkSpn);
  const sids = change.allowedToActOnBehalfOf?.map((w) => principalSid(dir, w));
  const old = readDelegation(dir, row.rid);
  const next: DelegationSettings = {
    allowedToDelegateTo: spns ? [...new Set(spns)] : old.allowedToDelegateTo,
    trustedToAuthForDelegation: change.trustedToAuthForDelegation ?? old.trustedToAuthForDelegation,
    allowedToActOnBehalfOf: sids ? [...new Set(sids)] : old.allowedToActOnBehalfOf,
  };
  const detail = `allowedToDelegateTo=${next.allowedToDelegateTo.join(",") || "-"} trustedToAuth=${next.trustedToAuthForDelegation} allowedToActOnBehalfOf=${next.allowedToActOnBehalfOf.join(",") || "-"}`;
  dir.change(
    actor,
    "account.delegation",
    row.sam,
    () => {
      if (
        next.allowedToDelegateTo.length === 0 &&
        !next.trustedToAuthForDelegation &&
        next.allowedToActOnBehalfOf.length === 0
      ) {
        dir.stmt("DELETE FROM delegation WHERE rid = ?").run(row.rid);
      } else {
        dir
          .stmt(
            "INSERT OR REPLACE INTO delegation (rid, allowed_to, trusted_to_auth, allowed_to_act) VALUES (?, ?, ?, ?)",
          )
          .run(
            row.rid,
            JSON.stringify(next.allowedToDelegateTo),
            next.trustedToAuthForDelegation ? 1 : 0,
            JSON.stringify(next.allowedToActOnBehalfOf),
          );
      }
      dir.stmt("UPDATE objects SET changed_at = ? WHERE rid = ?").run(dir.now(), row.rid);
    },
    detail,
  );
  return info(dir, row.sam, next);
}
