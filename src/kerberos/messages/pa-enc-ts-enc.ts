/**
 * PA-ENC-TIMESTAMP and PA-ENC-TS-ENC (RFC 4120 §5.2.7.2): encrypted-timestamp
 * pre-authentication. The PA-DATA value is an EncryptedData (key usage 1,
 * `KEY_USAGE.AS_REQ_PA_ENC_TIMESTAMP`) whose plaintext is a PA-ENC-TS-ENC.
 *
 * ```
 * PA-ENC-TIMESTAMP        ::= EncryptedData -- PA-ENC-TS-ENC
 *
 * PA-ENC-TS-ENC           ::= SEQUENCE {
 *         patimestamp     [0] KerberosTime -- client's time --,
 *         pausec          [1] Microseconds OPTIONAL
 * }
 * ```
 */
import type { DerNode } from "../../asn1/der.js";
import { derEncryptedData, type EncryptedData, readEncryptedData } from "./encrypted-data.js";
import {
  decodeWith,
  derFields,
  derKerberosTime,
  derMicroseconds,
  readKerberosTime,
  readMicroseconds,
  SequenceReader,
} from "./primitives.js";

export interface PaEncTsEnc {
  patimestamp: Date;
  pausec?: number;
}

export function readPaEncTsEnc(node: DerNode): PaEncTsEnc {
  const r = new SequenceReader(node);
  const patimestamp = r.req(0, "patimestamp", readKerberosTime);
  const pausec = r.opt(1, "pausec", readMicroseconds);
  r.end();
  return pausec === undefined ? { patimestamp } : { patimestamp, pausec };
}

export function encodePaEncTsEnc(p: PaEncTsEnc): Uint8Array {
  return derFields([
    [0, derKerberosTime(p.patimestamp)],
    [1, p.pausec === undefined ? undefined : derMicroseconds(p.pausec)],
  ]);
}

export function decodePaEncTsEnc(bytes: Uint8Array): PaEncTsEnc {
  return decodeWith(bytes, "PA-ENC-TS-ENC", readPaEncTsEnc);
}

export function encodePaEncTimestamp(e: EncryptedData): Uint8Array {
  return derEncryptedData(e);
}

export function decodePaEncTimestamp(bytes: Uint8Array): EncryptedData {
  return decodeWith(bytes, "PA-ENC-TIMESTAMP", readEncryptedData);
}
