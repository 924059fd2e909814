/**
 * Which enctypes an account's tickets and session keys use, as an AD DC chooses them
 * ([MS-KILE] §3.3.5.2 "Encryption types", §2.2.7 "Supported Encryption Types Bit Flags"):
 *
 *   - the ticket's enc-part: the strongest enctype the TARGET account supports
 *     (msDS-SupportedEncryptionTypes) and has a key for; a TGT's is krbtgt's;
 *   - the session key: the first enctype of the client's request list that the KDC issues
 *     and the target supports (RFC 4120 §3.1.3 "the KDC chooses ... from the list in the
 *     etype field"), else KDC_ERR_ETYPE_NOSUPP.
 *
 * The attribute's bits: 0x8 aes128-cts-hmac-sha1-96 (17), 0x10 aes256-cts-hmac-sha1-96 (18)
 * as [MS-KILE] §2.2.7; AD has no bits for RFC 8009's enctypes, so postern uses two bits
 * that [MS-KILE] leaves unassigned: 0x40 aes128-cts-hmac-sha256-128 (19) and 0x80
 * aes256-cts-hmac-sha384-192 (20). An account without the attribute gets AD's default for
 * computers, 0x18 (AES only; RC4 and DES are not implemented here).
 */
import { isSupportedEnctype } from "../crypto/index.js";
import type { PrincipalKey } from "./database.js";
import { kdcError } from "./errors.js";

export const ENCTYPE_BIT: Readonly<Record<number, number>> = {
  17: 0x8,
  18: 0x10,
  19: 0x40,
  20: 0x80,
};

/** AD's default msDS-SupportedEncryptionTypes for an account that has none: AES-SHA1. */
export const DEFAULT_SUPPORTED_ENCTYPES = 0x18;

/** Strongest first: 256-bit keys before 128-bit ones, RFC 8009 before RFC 3962 at a size. */
const STRENGTH = [20, 18, 19, 17] as const;

/** The mask of a list of enctypes (unknown ones ignored). */
export function enctypeMask(etypes: readonly number[]): number {
  let m = 0;
  for (const e of etypes) m |= ENCTYPE_BIT[e] ?? 0;
  return m;
}

/** The enctypes a mask names, strongest first. */
export function enctypesOf(mask: number): number[] {
  return STRENGTH.filter((e) => (mask & (ENCTYPE_BIT[e] ?? 0)) !== 0);
}

/**
 * The enctypes an account can be the target of, strongest first: those its attribute
 * allows and it holds a key for. An account holding no key of an allowed type (a database
 * with RFC 8009 keys only and no attribute, e.g. a `postern kdc --db` file) falls back to
 * the keys it has, so it stays usable.
 */
export function accountEnctypes(keys: readonly PrincipalKey[], supported?: number): number[] {
  const has = (e: number) => keys.some((k) => k.etype === e);
  const allowed = enctypesOf(supported ?? DEFAULT_SUPPORTED_ENCTYPES).filter(has);
  if (allowed.length > 0) return allowed;
  return STRENGTH.filter((e) => has(e) && isSupportedEnctype(e));
}

/** The key that seals a ticket for a target whose usable enctypes are `etypes`. */
export function targetKey(
  keys: readonly PrincipalKey[],
  etypes: readonly number[],
  who: string,
): PrincipalKey {
  const etype = etypes[0];
  const k = etype === undefined ? undefined : keys.find((x) => x.etype === etype);
  if (!k) throw kdcError("KDC_ERR_ETYPE_NOSUPP", `${who} has no key of a supported enctype`);
  return k;
}

/** The session key's enctype: first of the client's list that the KDC issues and the target supports. */
export function sessionEnctype(
  requested: readonly number[],
  issued: readonly number[],
  target: readonly number[],
): number {
  for (const etype of requested) if (issued.includes(etype) && target.includes(etype)) return etype;
  throw kdcError(
    "KDC_ERR_ETYPE_NOSUPP",
    `no requested enctype [${requested.join(", ")}] is one the target supports [${target.join(", ")}]`,
  );
}
