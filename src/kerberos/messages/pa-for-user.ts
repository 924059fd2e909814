/**
 * PA-FOR-USER (MS-SFU §2.2.1, padata-type 129): S4U2Self, a service asking the KDC for a
 * ticket to itself on behalf of a user. The checksum is HMAC-MD5 keyed with the TGS
 * session key (key usage 17, `KEY_USAGE.PA_FOR_USER_CKSUM`) over name-type (little-endian
 * Int32), the name components, the realm and auth-package, concatenated.
 *
 * ```
 * PA-FOR-USER ::= SEQUENCE {
 *         -- PA TYPE 129
 *         userName        [0] PrincipalName,
 *         userRealm       [1] Realm,
 *         cksum           [2] Checksum,
 *         auth-package    [3] KerberosString
 * }
 * ```
 */
import type { DerNode } from "../../asn1/der.js";
import { type Checksum, derChecksum, readChecksum } from "./checksum.js";
import {
  derPrincipalName,
  derRealm,
  type PrincipalName,
  readPrincipalName,
  readRealm,
} from "./principal-name.js";
import {
  decodeWith,
  derFields,
  derKerberosString,
  readKerberosString,
  SequenceReader,
} from "./primitives.js";

export interface PaForUser {
  userName: PrincipalName;
  userRealm: string;
  cksum: Checksum;
  authPackage: string;
}

export function readPaForUser(node: DerNode): PaForUser {
  const r = new SequenceReader(node);
  const userName = r.req(0, "userName", readPrincipalName);
  const userRealm = r.req(1, "userRealm", readRealm);
  const cksum = r.req(2, "cksum", readChecksum);
  const authPackage = r.req(3, "auth-package", readKerberosString);
  r.end();
  return { userName, userRealm, cksum, authPackage };
}

export function encodePaForUser(p: PaForUser): Uint8Array {
  return derFields([
    [0, derPrincipalName(p.userName)],
    [1, derRealm(p.userRealm)],
    [2, derChecksum(p.cksum)],
    [3, derKerberosString(p.authPackage)],
  ]);
}

export function decodePaForUser(bytes: Uint8Array): PaForUser {
  return decodeWith(bytes, "PA-FOR-USER", readPaForUser);
}

/** The bytes the PA-FOR-USER checksum covers (MS-SFU §2.2.1). */
export function paForUserChecksumInput(
  p: Pick<PaForUser, "userName" | "userRealm" | "authPackage">,
): Uint8Array {
  const enc = new TextEncoder();
  const parts = [
    Uint8Array.of(
      p.userName.nameType & 0xff,
      (p.userName.nameType >>> 8) & 0xff,
      (p.userName.nameType >>> 16) & 0xff,
      (p.userName.nameType >>> 24) & 0xff,
    ),
    ...p.userName.nameString.map((s) => enc.encode(s)),
    enc.encode(p.userRealm),
    enc.encode(p.authPackage),
  ];
  const out = new Uint8Array(parts.reduce((n, x) => n + x.length, 0));
  let off = 0;
  for (const x of parts) {
    out.set(x, off);
    off += x.length;
  }
  return out;
}
