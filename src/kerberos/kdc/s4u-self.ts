/**
 * S4U2Self (MS-SFU §3.2.5.1.2, §3.1.5.1.1.1): a service with a TGT asks for a ticket to
 * itself on behalf of a user named in PA-FOR-USER. The KDC checks the PA-FOR-USER checksum
 * (KERB_CHECKSUM_HMAC_MD5 keyed with the TGT session key, usage 17, as MS-SFU and MIT's
 * client compute it; or the session key's own keyed checksum), looks the user up NOW, and
 * builds the PAC from the database: the user's CURRENT groups. This is how a server
 * refreshes a client's groups without the client getting a new TGT.
 */
import { equalConstantTime, hash, hmac } from "../../crypto/primitives.js";
import {
  CKSUMTYPE,
  type CryptoDeps,
  getChecksumType,
  KerberosCryptoError,
} from "../crypto/index.js";
import {
  decodePaForUser,
  type EncTicketPart,
  type PaData,
  type PaForUser,
  paForUserChecksumInput,
} from "../messages/index.js";
import type { KdcContext } from "./context.js";
import { nameText } from "./context.js";
import type { PrincipalEntry } from "./database.js";
import { kdcError } from "./errors.js";

const PA_FOR_USER_USAGE = 17;

/** RFC 4757 §4 HMAC-MD5 checksum (the one piece of RC4's suite PA-FOR-USER still uses). */
export function hmacMd5Checksum(key: Uint8Array, usage: number, data: Uint8Array): Uint8Array {
  const ksign = hmac("md5", key, new TextEncoder().encode("signaturekey\0"));
  const t = Uint8Array.of(usage & 0xff, (usage >>> 8) & 0xff, (usage >>> 16) & 0xff, usage >>> 24);
  return hmac("md5", ksign, hash("md5", Buffer.concat([t, data])));
}

function checksumOk(p: PaForUser, sessionKey: EncTicketPart["key"], deps: CryptoDeps): boolean {
  const input = paForUserChecksumInput(p);
  if (p.cksum.cksumtype === CKSUMTYPE.HMAC_MD5) {
    const want = hmacMd5Checksum(sessionKey.keyvalue, PA_FOR_USER_USAGE, input);
    return equalConstantTime(want, p.cksum.checksum);
  }
  try {
    const ck = getChecksumType(p.cksum.cksumtype, deps);
    if (ck.etype !== sessionKey.keytype) return false;
    return ck.verify(sessionKey.keyvalue, PA_FOR_USER_USAGE, input, p.cksum.checksum);
  } catch (e) {
    if (e instanceof KerberosCryptoError) return false;
    throw e;
  }
}

export interface S4uUser {
  forUser: PaForUser;
  entry: PrincipalEntry;
}

/** The user a PA-FOR-USER names, verified and current; requester must ask for itself. */
export function resolveS4uSelf(
  ctx: KdcContext,
  pa: PaData,
  tgt: EncTicketPart,
  serviceAccount: string,
): S4uUser {
  const forUser = decodePaForUser(pa.padataValue);
  if (!checksumOk(forUser, tgt.key, ctx.crypto))
    throw kdcError("KRB_AP_ERR_MODIFIED", "PA-FOR-USER checksum does not verify");
  const requester = ctx.db.lookup(nameText(tgt.cname), tgt.crealm);
  if (!requester || requester.name !== serviceAccount) {
    throw kdcError(
      "KDC_ERR_BADOPTION",
      `S4U2Self: ${nameText(tgt.cname)} may only ask for a ticket to itself`,
    );
  }
  const userText = nameText(forUser.userName);
  const entry = ctx.db.lookup(userText, forUser.userRealm);
  if (!entry) throw kdcError("KDC_ERR_C_PRINCIPAL_UNKNOWN", `S4U2Self: user ${userText} unknown`);
  if (!entry.enabled)
    throw kdcError("KDC_ERR_CLIENT_REVOKED", `S4U2Self: user ${userText} is disabled`);
  return { forUser, entry };
}
