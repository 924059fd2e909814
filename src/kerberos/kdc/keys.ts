/**
 * Key lookup (RFC 4120 §3.1.3, §3.3.3): the reply key is the client's key in the first
 * etype of the request that the client has; a ticket's key is found by its etype and kvno.
 * Which etypes tickets and session keys use: etype-choice.ts.
 */
import { isSupportedEnctype } from "../crypto/index.js";
import type { PrincipalKey } from "./database.js";

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

/** The key matching an EncryptedData's etype (and kvno, when the sender named one). */
export function keyFor(
  keys: readonly PrincipalKey[],
  etype: number,
  kvno: number | undefined,
): PrincipalKey | undefined {
  return keys.find((k) => k.etype === etype && (kvno === undefined || k.kvno === kvno));
}
