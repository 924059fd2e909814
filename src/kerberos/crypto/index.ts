/**
 * Kerberos crypto (RFC 3961 framework; RFC 3962 and RFC 8009 enctypes). Callers use
 * `getEnctype(etype)` and `getChecksumType(cksumtype)`; keys are raw bytes.
 */
export { aesCtsDecrypt, aesCtsEncrypt } from "./cts.js";
export type { ChecksumType, CryptoDeps, Enctype } from "./enctype.js";
export { KerberosCryptoError, type KerberosCryptoCode } from "./errors.js";
export { createDerivedKeyCache, type DerivedKeyCache } from "./key-cache.js";
export { type Cf2Key, krbFxCf2 } from "./cf2.js";
export { KeyUsage } from "./key-usage.js";
export { nfold } from "./nfold.js";
export {
  CKSUMTYPE,
  createKerberosCrypto,
  ETYPE,
  enctypeName,
  getChecksumType,
  getEnctype,
  isSupportedEnctype,
  type KerberosCrypto,
  REFUSED_ENCTYPES,
  SUPPORTED_ENCTYPES,
} from "./registry.js";
export { paramsFromIterations } from "./s2kparams.js";
