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
import { copyBytes } from "../../bytes.js";
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

/**
 * A PAC laid out with zero-filled signatures, and where each goes: signing only fills
 * them in (none of them covers another's layout), so one layout serves many tickets with
 * the same PAC and key types (a KDC's PAC carried from one TGT into its service tickets).
 * `sign` never changes `bytes`.
 */
export interface PacLayout {
  readonly bytes: Uint8Array;
  readonly serverAt: number;
  readonly kdcAt: number;
  readonly ticketAt?: number;
  readonly extendedAt?: number;
  readonly serverEtype: number;
  readonly kdcEtype: number;
  /** Where each buffer's data starts in `bytes`, by buffer type. */
  readonly dataAt: Readonly<Record<number, number>>;
}

/** Step 2: `pac` without its signatures, then zeroed 6, 7 (16 if `ticket`, 19 if `extended`). */
export function layOutPac(
  pac: Pac,
  serverEtype: number,
  kdcEtype: number,
  opts: { ticket?: boolean; extendedKdcSignature?: boolean; deps?: CryptoDeps } = {},
): PacLayout {
  const serverKey = { etype: serverEtype, key: new Uint8Array(0) };
  const kdcKey = { etype: kdcEtype, key: new Uint8Array(0) };
  const buffers: PacBuffer[] = pac.buffers.filter(
    (b) => !(b.kind === "signature" || (b.kind === "raw" && SIGNATURE_TYPES.includes(b.type))),
  );
  buffers.push(zeroSignature(6, serverKey, opts.deps), zeroSignature(7, kdcKey, opts.deps));
  if (opts.ticket) buffers.push(zeroSignature(16, kdcKey, opts.deps));
  if (opts.extendedKdcSignature) buffers.push(zeroSignature(19, kdcKey, opts.deps));
  const { bytes, offsets } = encodePacContainer(
    buffers.map((b) => ({ type: pacBufferType(b), data: encodePacBuffer(b) })),
  );
  const at = (type: number) => offsets[buffers.findIndex((b) => pacBufferType(b) === type)]! + 4;
  return {
    bytes,
    serverAt: at(6),
    kdcAt: at(7),
    ...(opts.ticket ? { ticketAt: at(16) } : {}),
    ...(opts.extendedKdcSignature ? { extendedAt: at(19) } : {}),
    serverEtype,
    kdcEtype,
    dataAt: Object.fromEntries(buffers.map((b, i) => [pacBufferType(b), offsets[i]!])),
  };
}

/** Steps 1, 3-5 on a copy of `layout.bytes`; `ticket` is required iff the layout has room for 16. */
export function signPacLayout(
  layout: PacLayout,
  serverKey: PacKey,
  kdcKey: PacKey,
  opts: { ticket?: Uint8Array; deps?: CryptoDeps } = {},
): Uint8Array {
  if (serverKey.etype !== layout.serverEtype || kdcKey.etype !== layout.kdcEtype)
    throw new RangeError("PAC layout made for other key types");
  if ((opts.ticket === undefined) !== (layout.ticketAt === undefined))
    throw new RangeError("ticket signature and PAC layout disagree");
  const kdcCk = getChecksumType(getEnctype(kdcKey.etype, opts.deps).checksumType, opts.deps);
  const serverCk = getChecksumType(getEnctype(serverKey.etype, opts.deps).checksumType, opts.deps);
  const usage = KeyUsage.KERB_NON_KERB_CKSUM_SALT;
  const bytes = copyBytes(layout.bytes);
  if (opts.ticket !== undefined && layout.ticketAt !== undefined)
    bytes.set(kdcCk.checksum(kdcKey.key, usage, opts.ticket), layout.ticketAt);
  if (layout.extendedAt !== undefined)
    bytes.set(kdcCk.checksum(kdcKey.key, usage, bytes), layout.extendedAt);
  const server = serverCk.checksum(serverKey.key, usage, bytes);
  bytes.set(server, layout.serverAt);
  bytes.set(kdcCk.checksum(kdcKey.key, usage, server), layout.kdcAt);
  return bytes;
}

/** Returns the signed PAC bytes; existing signature buffers in `pac` are replaced. */
export function signPac(
  pac: Pac,
  serverKey: PacKey,
  kdcKey: PacKey,
  opts: SignPacOptions = {},
): Uint8Array {
  const layout = layOutPac(pac, serverKey.etype, kdcKey.etype, {
    ticket: opts.ticket !== undefined,
    ...(opts.extendedKdcSignature ? { extendedKdcSignature: true } : {}),
    ...(opts.deps ? { deps: opts.deps } : {}),
  });
  return signPacLayout(layout, serverKey, kdcKey, {
    ...(opts.ticket !== undefined ? { ticket: opts.ticket } : {}),
    ...(opts.deps ? { deps: opts.deps } : {}),
  });
}
