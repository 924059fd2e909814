/**
 * The enctype and checksum-type registry: number -> implementation. Only the AES families
 * are implemented; the old enctypes are recognised by number so a peer asking for them gets
 * a sentence saying what to use instead, never "unknown 23".
 *
 *   17 aes128-cts-hmac-sha1-96      (RFC 3962)   checksum 15 hmac-sha1-96-aes128
 *   18 aes256-cts-hmac-sha1-96      (RFC 3962)   checksum 16 hmac-sha1-96-aes256
 *   19 aes128-cts-hmac-sha256-128   (RFC 8009)   checksum 19 hmac-sha256-128-aes128
 *   20 aes256-cts-hmac-sha384-192   (RFC 8009)   checksum 20 hmac-sha384-192-aes256
 *   refused: 1, 2, 3 (DES), 16 (des3-cbc-sha1-kd), 23, 24 (RC4-HMAC), 25, 26 (Camellia)
 */
import { randomBytes } from "../../crypto/primitives.js";
import {
  AES128_CTS_HMAC_SHA1_96,
  AES256_CTS_HMAC_SHA1_96,
  createAesSha1Enctype,
} from "./aes-sha1.js";
import {
  AES128_CTS_HMAC_SHA256_128,
  AES256_CTS_HMAC_SHA384_192,
  createAesSha2Enctype,
} from "./aes-sha2.js";
import type { ChecksumType, CryptoDeps, Enctype } from "./enctype.js";
import { KerberosCryptoError } from "./errors.js";

export const ETYPE = {
  AES128_CTS_HMAC_SHA1_96: 17,
  AES256_CTS_HMAC_SHA1_96: 18,
  AES128_CTS_HMAC_SHA256_128: 19,
  AES256_CTS_HMAC_SHA384_192: 20,
} as const;

export const CKSUMTYPE = {
  HMAC_SHA1_96_AES128: 15,
  HMAC_SHA1_96_AES256: 16,
  HMAC_SHA256_128_AES128: 19,
  HMAC_SHA384_192_AES256: 20,
  /** KERB_CHECKSUM_HMAC_MD5 (RC4), -138: recognised in PACs, never computed. */
  HMAC_MD5: -138,
} as const;

/** Supported enctypes, strongest first (the order a KDC should prefer). */
export const SUPPORTED_ENCTYPES: readonly number[] = [20, 19, 18, 17];

/** Enctypes we recognise and refuse, with their RFC names. */
export const REFUSED_ENCTYPES: Readonly<Record<number, string>> = {
  1: "des-cbc-crc",
  2: "des-cbc-md4",
  3: "des-cbc-md5",
  5: "des3-cbc-md5",
  7: "des3-cbc-sha1",
  16: "des3-cbc-sha1-kd",
  23: "rc4-hmac",
  24: "rc4-hmac-exp",
  25: "camellia128-cts-cmac",
  26: "camellia256-cts-cmac",
};

const REFUSED_CKSUMTYPES: Readonly<Record<number, string>> = {
  1: "crc32",
  7: "rsa-md5",
  8: "rsa-md5-des",
  12: "hmac-sha1-des3-kd",
  [-138]: "hmac-md5 (rc4-hmac)",
};

const DEFAULT_DEPS: CryptoDeps = { randomBytes };

/** The implementation of `etype`; throws "unsupported-enctype" with advice otherwise. */
export function getEnctype(etype: number, deps: CryptoDeps = DEFAULT_DEPS): Enctype {
  const memo = deps.instances;
  if (memo === undefined) return makeEnctype(etype, deps);
  let e = memo.get(etype) as Enctype | undefined;
  if (e === undefined) {
    e = makeEnctype(etype, deps);
    memo.set(etype, e);
  }
  return e;
}

function makeEnctype(etype: number, deps: CryptoDeps): Enctype {
  switch (etype) {
    case 17:
      return createAesSha1Enctype(AES128_CTS_HMAC_SHA1_96, deps);
    case 18:
      return createAesSha1Enctype(AES256_CTS_HMAC_SHA1_96, deps);
    case 19:
      return createAesSha2Enctype(AES128_CTS_HMAC_SHA256_128, deps);
    case 20:
      return createAesSha2Enctype(AES256_CTS_HMAC_SHA384_192, deps);
  }
  const old = REFUSED_ENCTYPES[etype];
  throw new KerberosCryptoError(
    "unsupported-enctype",
    old === undefined
      ? `enctype ${etype} is unknown: use aes256-cts-hmac-sha1-96 (18)`
      : `enctype ${etype} (${old}) is not supported: use aes256-cts-hmac-sha1-96 (18)`,
  );
}

export function isSupportedEnctype(etype: number): boolean {
  return SUPPORTED_ENCTYPES.includes(etype);
}

/** The RFC name of an enctype number, supported or not ("enctype-99" when unknown). */
export function enctypeName(etype: number): string {
  if (isSupportedEnctype(etype)) return getEnctype(etype).name;
  return REFUSED_ENCTYPES[etype] ?? `enctype-${etype}`;
}

const CKSUM_TO_ETYPE: Readonly<Record<number, [number, string]>> = {
  15: [17, "hmac-sha1-96-aes128"],
  16: [18, "hmac-sha1-96-aes256"],
  19: [19, "hmac-sha256-128-aes128"],
  20: [20, "hmac-sha384-192-aes256"],
};

/** The keyed checksum `cksumtype`; throws "unsupported-checksum" otherwise. */
export function getChecksumType(cksumtype: number, deps: CryptoDeps = DEFAULT_DEPS): ChecksumType {
  const memo = deps.instances;
  if (memo === undefined) return makeChecksumType(cksumtype, deps);
  const id = -1 - cksumtype; // negative ids: checksum types, beside the enctypes
  let c = memo.get(id) as ChecksumType | undefined;
  if (c === undefined) {
    c = makeChecksumType(cksumtype, deps);
    memo.set(id, c);
  }
  return c;
}

function makeChecksumType(cksumtype: number, deps: CryptoDeps): ChecksumType {
  const entry = CKSUM_TO_ETYPE[cksumtype];
  if (entry === undefined) {
    const old = REFUSED_CKSUMTYPES[cksumtype];
    throw new KerberosCryptoError(
      "unsupported-checksum",
      old === undefined
        ? `checksum type ${cksumtype} is unknown: use hmac-sha1-96-aes256 (16)`
        : `checksum type ${cksumtype} (${old}) is not supported: use hmac-sha1-96-aes256 (16)`,
    );
  }
  const [etype, name] = entry;
  const e = getEnctype(etype, deps);
  return {
    cksumtype,
    name,
    etype,
    length: e.checksumLength,
    checksum: (key, usage, data) => e.checksum(key, usage, data),
    verify: (key, usage, data, cksum) => e.verifyChecksum(key, usage, data, cksum),
  };
}

/** Enctypes and checksum types sharing one injected random source and derived-key cache. */
export interface KerberosCrypto {
  getEnctype(etype: number): Enctype;
  getChecksumType(cksumtype: number): ChecksumType;
}

/**
 * The registry as an object: instances are made once and share `deps` (pass
 * `derivedKeys: createDerivedKeyCache()` so a KDC derives each Kc/Ke/Ki once per key).
 */
export function createKerberosCrypto(deps: CryptoDeps = DEFAULT_DEPS): KerberosCrypto {
  const enctypes = new Map<number, Enctype>();
  const checksums = new Map<number, ChecksumType>();
  return {
    getEnctype(etype) {
      let e = enctypes.get(etype);
      if (!e) {
        e = getEnctype(etype, deps);
        enctypes.set(etype, e);
      }
      return e;
    },
    getChecksumType(cksumtype) {
      let c = checksums.get(cksumtype);
      if (!c) {
        c = getChecksumType(cksumtype, deps);
        checksums.set(cksumtype, c);
      }
      return c;
    },
  };
}
