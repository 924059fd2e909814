/**
 * Key choice (RFC 4120 §3.1.3, §3.3.3): the reply key is the client's key in the first
 * etype of the request that the client has; the session key is the first requested etype
 * the KDC issues and the service holds; a ticket is sealed with the service's first key.
 */
import { isSupportedEnctype } from "../crypto/index.js";
import type { PrincipalKey } from "./database.js";
import { kdcError } from "./errors.js";

/** The principal's key for the first etype in `preference` that it has. */
export function keyForRequest(
  keys: readonly PrincipalKey[],
  preference: readonly number[],
): PrincipalKey | undefined {
  for (const etype of preference) {
    if (!isSupportedEnctype(etype)) continue;
    const k = keys.find((x) => x.etype === etype);
    if (k) return k;
  }
  return undefined;
}

/** The key a ticket for this service is sealed with (its first supported key). */
export function ticketKey(keys: readonly PrincipalKey[], who: string): PrincipalKey {
  const k = keys.find((x) => isSupportedEnctype(x.etype));
  if (!k) throw kdcError("KDC_ERR_ETYPE_NOSUPP", `${who} has no key of a supported enctype`);
  return k;
}

/** The key matching an EncryptedData's etype (and kvno, when the sender named one). */
export function keyFor(
  keys: readonly PrincipalKey[],
  etype: number,
  kvno: number | undefined,
): PrincipalKey | undefined {
  return keys.find((k) => k.etype === etype && (kvno === undefined || k.kvno === kvno));
}

/** Session key etype: first of the client's list that we issue and the service has. */
export function sessionEnctype(
  requested: readonly number[],
  issued: readonly number[],
  serviceKeys: readonly PrincipalKey[],
): number {
  for (const etype of requested) {
    if (issued.includes(etype) && serviceKeys.some((k) => k.etype === etype)) return etype;
  }
  for (const etype of requested) if (issued.includes(etype)) return etype;
  throw kdcError(
    "KDC_ERR_ETYPE_NOSUPP",
    `none of the requested enctypes [${requested.join(", ")}] is supported (use 17, 18, 19 or 20)`,
  );
}
