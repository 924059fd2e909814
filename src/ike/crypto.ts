/**
 * IKEv2 key schedule and SK payload protection (RFC 7296 §2.13-§2.17, §3.14; RFC 5282 §3
 * for AES-GCM), built only on ../crypto/primitives.ts.
 *
 *   prf+ (K,S) = T1 | T2 | T3 | ...   T1 = prf(K, S | 0x01), Tn = prf(K, Tn-1 | S | n)
 *   SKEYSEED = prf(Ni | Nr, g^ir)
 *   {SK_d | SK_ai | SK_ar | SK_ei | SK_er | SK_pi | SK_pr} = prf+(SKEYSEED, Ni | Nr | SPIi | SPIr)
 *   rekeyed IKE SA: SKEYSEED = prf(SK_d (old), g^ir (new) | Ni | Nr)
 *   child SA: KEYMAT = prf+(SK_d, [g^ir (new) |] Ni | Nr), taken as
 *             encr(I->R) | integ(I->R) | encr(R->I) | integ(R->I)
 *   AUTH (shared key) = prf(prf(Shared Secret, "Key Pad for IKEv2"), <SignedOctets>)
 */
import {
  aesCbcDecrypt,
  aesCbcEncrypt,
  aesGcmOpen,
  aesGcmSeal,
  equalConstantTime,
  hmac,
} from "../crypto/primitives.js";
import { IkeError, malformed } from "./errors.js";
import { encodeHeader, IKE_HEADER_LENGTH, type IkeHeader } from "./payloads/header.js";
import type { EncrInfo, IntegInfo, PrfInfo, Suite } from "./transforms.js";

export function prf(p: PrfInfo, key: Uint8Array, data: Uint8Array | readonly Uint8Array[]): Buffer {
  return hmac(p.hash, key, data);
}

/** prf+ of RFC 7296 §2.13; at most 255 iterations. */
export function prfPlus(p: PrfInfo, key: Uint8Array, seed: Uint8Array, length: number): Buffer {
  const out: Buffer[] = [];
  let t: Buffer = Buffer.alloc(0);
  let have = 0;
  for (let n = 1; have < length; n++) {
    if (n > 255) throw new RangeError(`prf+: ${length} bytes need more than 255 iterations`);
    t = prf(p, key, [t, seed, Buffer.from([n])]);
    out.push(t);
    have += t.length;
  }
  return Buffer.concat(out).subarray(0, length);
}

export function skeyseed(p: PrfInfo, ni: Uint8Array, nr: Uint8Array, gir: Uint8Array): Buffer {
  return prf(p, Buffer.concat([ni, nr]), gir);
}

/** SKEYSEED of a rekeyed IKE SA (§2.18). */
export function rekeySkeyseed(
  p: PrfInfo,
  oldSkD: Uint8Array,
  gir: Uint8Array,
  ni: Uint8Array,
  nr: Uint8Array,
): Buffer {
  return prf(p, oldSkD, [gir, ni, nr]);
}

export interface IkeKeys {
  d: Buffer;
  ai: Buffer;
  ar: Buffer;
  ei: Buffer;
  er: Buffer;
  pi: Buffer;
  pr: Buffer;
}

function encrKeyBytes(e: EncrInfo): number {
  return e.keyBytes + e.saltBytes;
}

export function deriveIkeKeys(
  suite: Suite,
  seed: Uint8Array,
  ni: Uint8Array,
  nr: Uint8Array,
  spiI: Uint8Array,
  spiR: Uint8Array,
): IkeKeys {
  const p = suite.prf!;
  const ik = suite.integ?.keyBytes ?? 0;
  const ek = encrKeyBytes(suite.encr);
  const total = p.outBytes * 3 + ik * 2 + ek * 2;
  const km = prfPlus(p, seed, Buffer.concat([ni, nr, spiI, spiR]), total);
  let pos = 0;
  const take = (n: number): Buffer => {
    const v = Buffer.from(km.subarray(pos, pos + n));
    pos += n;
    return v;
  };
  return {
    d: take(p.outBytes),
    ai: take(ik),
    ar: take(ik),
    ei: take(ek),
    er: take(ek),
    pi: take(p.outBytes),
    pr: take(p.outBytes),
  };
}

/** Keys of one child SA direction pair, from KEYMAT (§2.17). */
export interface ChildKeys {
  /** Initiator -> responder. */
  encrI: Buffer;
  integI: Buffer;
  /** Responder -> initiator. */
  encrR: Buffer;
  integR: Buffer;
}

export function deriveChildKeys(
  p: PrfInfo,
  skD: Uint8Array,
  ni: Uint8Array,
  nr: Uint8Array,
  gir: Uint8Array | null,
  child: { encr: EncrInfo; integ: IntegInfo | null },
): ChildKeys {
  const ek = encrKeyBytes(child.encr);
  const ik = child.integ?.keyBytes ?? 0;
  const seed = gir ? Buffer.concat([gir, ni, nr]) : Buffer.concat([ni, nr]);
  const km = prfPlus(p, skD, seed, 2 * (ek + ik));
  return {
    encrI: Buffer.from(km.subarray(0, ek)),
    integI: Buffer.from(km.subarray(ek, ek + ik)),
    encrR: Buffer.from(km.subarray(ek + ik, 2 * ek + ik)),
    integR: Buffer.from(km.subarray(2 * ek + ik)),
  };
}

const KEY_PAD = Buffer.from("Key Pad for IKEv2");

/** AUTH data for a shared key (§2.15). */
export function sharedKeyAuth(
  p: PrfInfo,
  secret: Uint8Array,
  signedOctets: readonly Uint8Array[],
): Buffer {
  return prf(p, prf(p, secret, KEY_PAD), signedOctets);
}

/**
 * <SignedOctets> (§2.15): RealMessage | NonceOfPeer | prf(SK_p, RestOfIDPayload). For the
 * initiator: message 1, Nr, prf(SK_pi, IDi body); for the responder: message 2, Ni, prf(SK_pr, IDr body).
 */
export function signedOctets(
  p: PrfInfo,
  realMessage: Uint8Array,
  peerNonce: Uint8Array,
  skP: Uint8Array,
  idBody: Uint8Array,
): Buffer[] {
  return [Buffer.from(realMessage), Buffer.from(peerNonce), prf(p, skP, idBody)];
}

/** The keys protecting one direction of an IKE SA. */
export interface SkKeys {
  encr: EncrInfo;
  integ: IntegInfo | null;
  ek: Buffer;
  ak: Buffer;
}

/**
 * Builds a whole message whose only payload is SK carrying `inner` (the encoded inner
 * chain whose first payload type is `innerFirst`). `iv` comes from the caller's randomness.
 */
export function sealMessage(
  header: Omit<IkeHeader, "nextPayload" | "length">,
  innerFirst: number,
  inner: Uint8Array,
  k: SkKeys,
  iv: Uint8Array,
): Buffer {
  const block = k.encr.blockBytes;
  const padLen = (block - ((inner.length + 1) % block)) % block;
  const plain = Buffer.concat([inner, Buffer.alloc(padLen), Buffer.from([padLen])]);
  const icvBytes = k.encr.aead ? 0 : k.integ!.icvBytes;
  const ctLen = plain.length + (k.encr.aead ? k.encr.icvBytes : 0);
  const skLen = 4 + k.encr.ivBytes + ctLen + icvBytes;
  const hdr = encodeHeader({ ...header, nextPayload: 46, length: IKE_HEADER_LENGTH + skLen });
  const gh = Buffer.from([innerFirst, 0, skLen >> 8, skLen & 0xff]);
  const aad = Buffer.concat([hdr, gh]);
  if (k.encr.aead) {
    const ekey = k.ek.subarray(0, k.encr.keyBytes);
    const nonce = Buffer.concat([k.ek.subarray(k.encr.keyBytes), iv]);
    return Buffer.concat([aad, iv, aesGcmSeal(ekey, nonce, plain, aad, k.encr.icvBytes)]);
  }
  const ct = aesCbcEncrypt(k.ek, iv, plain);
  const signed = Buffer.concat([aad, iv, ct]);
  const icv = hmac(k.integ!.hash, k.ak, signed).subarray(0, icvBytes);
  return Buffer.concat([signed, icv]);
}

/**
 * Opens the SK payload of a received message. `skOffset` is where the SK generic header
 * starts in the datagram. Returns the inner chain bytes, or throws "integrity"/"malformed".
 */
export function openMessage(datagram: Uint8Array, skOffset: number, k: SkKeys): Buffer {
  const d = Buffer.from(datagram.buffer, datagram.byteOffset, datagram.byteLength);
  const bodyStart = skOffset + 4;
  const icvBytes = k.encr.aead ? k.encr.icvBytes : k.integ!.icvBytes;
  const ctLen = d.length - bodyStart - k.encr.ivBytes - icvBytes;
  if (ctLen < 1)
    throw malformed(`SK payload: ${d.length - bodyStart} bytes too short for IV and ICV`);
  const iv = d.subarray(bodyStart, bodyStart + k.encr.ivBytes);
  let plain: Buffer | null;
  if (k.encr.aead) {
    const ekey = k.ek.subarray(0, k.encr.keyBytes);
    const nonce = Buffer.concat([k.ek.subarray(k.encr.keyBytes), iv]);
    plain = aesGcmOpen(
      ekey,
      nonce,
      d.subarray(bodyStart + k.encr.ivBytes),
      d.subarray(0, bodyStart),
      icvBytes,
    );
  } else {
    if (ctLen % k.encr.blockBytes !== 0)
      throw malformed(
        `SK payload: ciphertext length ${ctLen} not a multiple of ${k.encr.blockBytes}`,
      );
    const icv = d.subarray(d.length - icvBytes);
    const want = hmac(k.integ!.hash, k.ak, d.subarray(0, d.length - icvBytes)).subarray(
      0,
      icvBytes,
    );
    plain = equalConstantTime(icv, want)
      ? aesCbcDecrypt(k.ek, iv, d.subarray(bodyStart + k.encr.ivBytes, d.length - icvBytes))
      : null;
  }
  if (!plain) throw new IkeError("integrity", "SK payload: integrity check failed");
  const padLen = plain[plain.length - 1]!;
  if (padLen + 1 > plain.length)
    throw malformed(`SK payload: pad length ${padLen} exceeds the plaintext`);
  return plain.subarray(0, plain.length - padLen - 1);
}
