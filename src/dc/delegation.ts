/**
 * Kerberos delegation settings of an account, as AD keeps them on the account object:
 *
 *   msDS-AllowedToDelegateTo              the SPNs it may get tickets to in a user's name
 *                                         (S4U2Proxy, constrained delegation)
 *   TRUSTED_TO_AUTH_FOR_DELEGATION (UAC)  "use any authentication protocol": its S4U2Self
 *                                         tickets are forwardable (protocol transition)
 *
 * One row per account that has either (table `delegation`, schema 3); the KDC reads them
 * through principals.ts at every lookup, so a change applies to the next request.
 */
import type { Directory } from "./directory.js";
import { DirectoryError } from "./errors.js";
import { getObject } from "./objects.js";

export interface DelegationInfo {
  account: string;
  allowedToDelegateTo: string[];
  trustedToAuthForDelegation: boolean;
}

export interface DelegationChange {
  /** Replaces the list (an empty list clears it). */
  allowedToDelegateTo?: string[];
  trustedToAuthForDelegation?: boolean;
}

interface Row {
  allowed_to: string;
  trusted_to_auth: number;
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

/** The delegation settings of the account `rid` (none: empty list, not trusted). */
export function readDelegation(dir: Directory, rid: number): Omit<DelegationInfo, "account"> {
  const row = dir
    .stmt("SELECT allowed_to, trusted_to_auth FROM delegation WHERE rid = ?")
    .get(rid) as Row | undefined;
  return {
    allowedToDelegateTo: row ? (JSON.parse(row.allowed_to) as string[]) : [],
    trustedToAuthForDelegation: row?.trusted_to_auth === 1,
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

export function showDelegation(dir: Directory, name: string): DelegationInfo {
  const row = account(dir, name);
  return { account: row.sam, ...readDelegation(dir, row.rid) };
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
  const old = readDelegation(dir, row.rid);
  const next = {
    allowedToDelegateTo: spns ? [...new Set(spns)] : old.allowedToDelegateTo,
    trustedToAuthForDelegation: change.trustedToAuthForDelegation ?? old.trustedToAuthForDelegation,
  };
  const detail = `allowedToDelegateTo=${next.allowedToDelegateTo.join(",") || "-"} trustedToAuth=${next.trustedToAuthForDelegation}`;
  dir.change(
    actor,
    "account.delegation",
    row.sam,
    () => {
      if (next.allowedToDelegateTo.length === 0 && !next.trustedToAuthForDelegation) {
        dir.stmt("DELETE FROM delegation WHERE rid = ?").run(row.rid);
      } else {
        dir
          .stmt(
            "INSERT OR REPLACE INTO delegation (rid, allowed_to, trusted_to_auth) VALUES (?, ?, ?)",
          )
          .run(
            row.rid,
            JSON.stringify(next.allowedToDelegateTo),
            next.trustedToAuthForDelegation ? 1 : 0,
          );
      }
      dir.stmt("UPDATE objects SET changed_at = ? WHERE rid = ?").run(dir.now(), row.rid);
    },
    detail,
  );
  return { account: row.sam, ...next };
}
