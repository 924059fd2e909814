/**
 * Signing a PAC as a KDC does (MS-PAC §2.8.1, and MIT's pac_sign.c order):
 *
 *   1. ticket signature (16): checksum with the KDC key over the DER EncTicketPart whose
 *      PAC AuthorizationData is replaced by a single zero byte (the caller encodes that)
 *   2. lay out the PAC with zero-filled server (6), KDC (7) and extended KDC (19) signatures
 *   3. extended KDC signature (19, optional): KDC key over the whole PAC, 6/7/19 zeroed
 *   4. server signature (6): service key over the whole PAC, 6 and 7 zeroed
 *   5. KDC signature (7): KDC key over the server signature bytes
 * All with key usage 17 (KERB_NON_KERB_CKSUM_SALT); the checksum type is each key's own
 * (15/16 for aes-sha1 keys, 19/20 for aes-sha2 keys).
 */
import type { CryptoDeps } from "../crypto/enctype.js";
import { KeyUsage } from "../crypto/key-usage.js";
import { getChecksumType, getEnctype } from "../crypto/registry.js";
import {
  type Pac,
  type PacBuffer,
  encodePacBuffer,
  pacBufferType,
  SIGNATURE_TYPES,
} from "./pac.js";
import { encodePacContainer } from "./pactype.js";
import { signatureLength } from "./signature-data.js";

/** A key as a keytab or principal database holds it. */
export interface PacKey {
  etype: number;
  key: Uint8Array;
}

export interface SignPacOptions {
  /** DER EncTicketPart with the PAC's ad-data replaced by one zero byte: adds signature 16. */
  ticket?: Uint8Array;
  /** Add the extended KDC signature (19) over the whole PAC. */
  extendedKdcSignature?: boolean;
  deps?: CryptoDeps;
}

function zeroSignature(type: 6 | 7 | 16 | 19, key: PacKey, deps?: CryptoDeps): PacBuffer {
  const signatureType = getEnctype(key.etype, deps).checksumType;
  return {
    kind: "signature",
    type,
    value: { signatureType, signature: new Uint8Array(signatureLength(signatureType)) },
  };
}

/** Returns the signed PAC bytes; existing signature buffers in `pac` are replaced. */
export function signPac(
  pac: Pac,
  serverKey: PacKey,
  kdcKey: PacKey,
  opts: SignPacOptions = {},
): Uint8Array {
  const kdcCk = getChecksumType(getEnctype(kdcKey.etype, opts.deps).checksumType, opts.deps);
  const serverCk = getChecksumType(getEnctype(serverKey.etype, opts.deps).checksumType, opts.deps);
  const buffers: PacBuffer[] = pac.buffers.filter(
    (b) => !(b.kind === "signature" || (b.kind === "raw" && SIGNATURE_TYPES.includes(b.type))),
  );
  buffers.push(zeroSignature(6, serverKey, opts.deps), zeroSignature(7, kdcKey, opts.deps));
  if (opts.ticket !== undefined) {
    const sig = kdcCk.checksum(kdcKey.key, KeyUsage.KERB_NON_KERB_CKSUM_SALT, opts.ticket);
    buffers.push({
      kind: "signature",
      type: 16,
      value: { signatureType: kdcCk.cksumtype, signature: sig },
    });
  }
  if (opts.extendedKdcSignature) buffers.push(zeroSignature(19, kdcKey, opts.deps));
  const { bytes, offsets } = encodePacContainer(
    buffers.map((b) => ({ type: pacBufferType(b), data: encodePacBuffer(b) })),
  );
  const at = (type: number) => offsets[buffers.findIndex((b) => pacBufferType(b) === type)]! + 4;
  const usage = KeyUsage.KERB_NON_KERB_CKSUM_SALT;
  if (opts.extendedKdcSignature) bytes.set(kdcCk.checksum(kdcKey.key, usage, bytes), at(19));
  const server = serverCk.checksum(serverKey.key, usage, bytes);
  bytes.set(server, at(6));
  bytes.set(kdcCk.checksum(kdcKey.key, usage, server), at(7));
  return bytes;
}
