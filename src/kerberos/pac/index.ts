/**
 * MS-PAC: decode, encode, sign and verify the Privilege Attribute Certificate that carries
 * a principal's SIDs inside a Kerberos ticket (AD-IF-RELEVANT / AD-WIN2K-PAC, ad-type 128).
 */
export {
  decodeAttributesInfo,
  type PacAttributesInfo,
  PAC_WAS_GIVEN_IMPLICITLY,
  PAC_WAS_REQUESTED,
} from "./attributes.js";
export { buildLogonInfo, type LogonInfoInput } from "./build.js";
export type { PacClientInfo } from "./client-info.js";
export { PacError, type PacErrorCode } from "./errors.js";
export { FILETIME_NEVER, filetimeFromMs, filetimeToMs } from "./filetime.js";
export {
  encodeLogonInfo,
  type GroupMembership,
  type KerbValidationInfo,
  SE_GROUP_DEFAULT,
  type SidAndAttributes,
  USER_FLAGS,
} from "./logon-info.js";
export {
  decodePac,
  encodePac,
  findBuffer,
  findSignature,
  PAC_TYPE,
  type Pac,
  type PacBuffer,
} from "./pac.js";
export {
  layOutPac,
  type PacKey,
  type PacLayout,
  type SignPacOptions,
  signPac,
  signPacLayout,
} from "./sign.js";
export { canonicalSid, sidFromBytes, sidToBytes, sidWithRid } from "./sid.js";
export type { PacSignatureData } from "./signature-data.js";
export type { UpnDnsInfo } from "./upn-dns-info.js";
export {
  checkClientInfo,
  logonInfoSids,
  type PacSignatureCheck,
  type VerifiedPac,
  type VerifyPacOptions,
  verifiedPacOf,
  verifyPac,
  verifyPacSignatures,
} from "./verify.js";

/** RFC 4120 §7.5.4 ad-type of the PAC inside AD-IF-RELEVANT. */
export const AD_WIN2K_PAC = 128;
