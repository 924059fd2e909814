/**
 * The transforms postern implements, with the sizes key derivation needs, and the names
 * the logs print. A negotiated suite is the set of transform ids one proposal selected.
 *
 * | transform                 | id | key bytes          | IV | ICV |
 * |---------------------------|----|--------------------|----|-----|
 * | ENCR_AES_CBC (+keylen)     | 12 | 16/24/32           | 16 | -   |
 * | ENCR_AES_GCM_16 (+keylen)  | 20 | 16/24/32 + 4 salt  | 8  | 16  |
 * | ENCR_NULL (ESP only)       | 11 | 0                  | 0  | -   |
 * | AUTH_HMAC_SHA1_96          | 2  | 20                 |    | 12  |
 * | AUTH_HMAC_SHA2_256_128     | 12 | 32                 |    | 16  |
 * | AUTH_HMAC_SHA2_384_192     | 13 | 48                 |    | 24  |
 * | AUTH_HMAC_SHA2_512_256     | 14 | 64                 |    | 32  |
 * | PRF_HMAC_SHA2_256/384/512  | 5/6/7 | output 32/48/64 |    |     |
 */
import type { HashAlg } from "../crypto/primitives.js";
import { DhId, EncrId, IntegId, PrfId, TransformType } from "./constants.js";
import type { Transform } from "./payloads/sa.js";

export interface EncrInfo {
  id: number;
  aead: boolean;
  /** Key bytes without salt. */
  keyBytes: number;
  /** Salt bytes appended to the key in KEYMAT (GCM: 4). */
  saltBytes: number;
  ivBytes: number;
  icvBytes: number;
  blockBytes: number;
}

export interface IntegInfo {
  id: number;
  hash: HashAlg;
  keyBytes: number;
  icvBytes: number;
}

export interface PrfInfo {
  id: number;
  hash: HashAlg;
  outBytes: number;
}

export function encrInfo(id: number, keyLengthBits: number | undefined): EncrInfo | null {
  const kb = (keyLengthBits ?? 128) / 8;
  if (id === EncrId.AES_CBC && [16, 24, 32].includes(kb)) {
    return {
      id,
      aead: false,
      keyBytes: kb,
      saltBytes: 0,
      ivBytes: 16,
      icvBytes: 0,
      blockBytes: 16,
    };
  }
  if (id === EncrId.AES_GCM_16 && [16, 24, 32].includes(kb)) {
    return { id, aead: true, keyBytes: kb, saltBytes: 4, ivBytes: 8, icvBytes: 16, blockBytes: 1 };
  }
  if (id === EncrId.NULL)
    return { id, aead: false, keyBytes: 0, saltBytes: 0, ivBytes: 0, icvBytes: 0, blockBytes: 1 };
  return null;
}

export function integInfo(id: number): IntegInfo | null {
  switch (id) {
    case IntegId.HMAC_SHA1_96:
      return { id, hash: "sha1", keyBytes: 20, icvBytes: 12 };
    case IntegId.HMAC_SHA2_256_128:
      return { id, hash: "sha256", keyBytes: 32, icvBytes: 16 };
    case IntegId.HMAC_SHA2_384_192:
      return { id, hash: "sha384", keyBytes: 48, icvBytes: 24 };
    case IntegId.HMAC_SHA2_512_256:
      return { id, hash: "sha512", keyBytes: 64, icvBytes: 32 };
    default:
      return null;
  }
}

export function prfInfo(id: number): PrfInfo | null {
  switch (id) {
    case PrfId.HMAC_SHA2_256:
      return { id, hash: "sha256", outBytes: 32 };
    case PrfId.HMAC_SHA2_384:
      return { id, hash: "sha384", outBytes: 48 };
    case PrfId.HMAC_SHA2_512:
      return { id, hash: "sha512", outBytes: 64 };
    case PrfId.HMAC_SHA1:
      return { id, hash: "sha1", outBytes: 20 };
    default:
      return null;
  }
}

export type DhGroupId = 14 | 19 | 31;

export function isSupportedDh(id: number): id is DhGroupId {
  return id === DhId.MODP2048 || id === DhId.ECP256 || id === DhId.CURVE25519;
}

/** The transforms one proposal selected: what an IKE SA or a child SA runs with. */
export interface Suite {
  encr: EncrInfo;
  /** null for AEAD (GCM) and for ESP NULL without integrity. */
  integ: IntegInfo | null;
  /** IKE SA only. */
  prf: PrfInfo | null;
  /** null: no DH (child SA without PFS). */
  dh: DhGroupId | null;
  esn: boolean;
}

const NAMES: Record<number, Record<number, string>> = {
  [TransformType.ENCR]: {
    11: "NULL",
    12: "AES_CBC",
    20: "AES_GCM_16",
    2: "DES",
    3: "3DES",
    13: "AES_CTR",
  },
  [TransformType.PRF]: {
    1: "PRF_HMAC_MD5",
    2: "PRF_HMAC_SHA1",
    5: "PRF_HMAC_SHA2_256",
    6: "PRF_HMAC_SHA2_384",
    7: "PRF_HMAC_SHA2_512",
  },
  [TransformType.INTEG]: {
    0: "NONE",
    1: "HMAC_MD5_96",
    2: "HMAC_SHA1_96",
    12: "HMAC_SHA2_256_128",
    13: "HMAC_SHA2_384_192",
    14: "HMAC_SHA2_512_256",
  },
  [TransformType.DH]: {
    0: "NONE",
    1: "MODP_768",
    2: "MODP_1024",
    14: "MODP_2048",
    19: "ECP_256",
    31: "CURVE_25519",
  },
  [TransformType.ESN]: { 0: "NO_ESN", 1: "ESN" },
};

/** "AES_GCM_16_128" / "HMAC_SHA2_256_128": the name strongSwan also prints. */
export function transformName(t: Transform): string {
  const base = NAMES[t.type]?.[t.id] ?? `T${t.type}_${t.id}`;
  return t.keyLength !== undefined ? `${base}_${t.keyLength}` : base;
}

/** A proposal as one line: "AES_GCM_16_128/PRF_HMAC_SHA2_256/CURVE_25519". */
export function proposalName(transforms: readonly Transform[]): string {
  return transforms.map(transformName).join("/");
}
