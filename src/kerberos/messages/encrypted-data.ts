/**
 * EncryptedData (RFC 4120 §5.2.9): ciphertext with its encryption type and key version.
 *
 * ```
 * EncryptedData   ::= SEQUENCE {
 *         etype   [0] Int32 -- EncryptionType --,
 *         kvno    [1] UInt32 OPTIONAL,
 *         cipher  [2] OCTET STRING -- ciphertext
 * }
 * ```
 */
import type { DerNode } from "../../asn1/der.js";
import {
  decodeWith,
  derFields,
  derInt32,
  derOctetString,
  derUInt32,
  readInt32,
  readOctetString,
  readUInt32,
  SequenceReader,
} from "./primitives.js";

export interface EncryptedData {
  etype: number;
  kvno?: number;
  cipher: Uint8Array;
}

export function readEncryptedData(node: DerNode): EncryptedData {
  const r = new SequenceReader(node);
  const etype = r.req(0, "etype", readInt32);
  const kvno = r.opt(1, "kvno", readUInt32);
  const cipher = r.req(2, "cipher", readOctetString);
  r.end();
  return kvno === undefined ? { etype, cipher } : { etype, kvno, cipher };
}

export function derEncryptedData(e: EncryptedData): Uint8Array {
  return derFields([
    [0, derInt32(e.etype)],
    [1, e.kvno === undefined ? undefined : derUInt32(e.kvno)],
    [2, derOctetString(e.cipher)],
  ]);
}

export function encodeEncryptedData(e: EncryptedData): Uint8Array {
  return derEncryptedData(e);
}

export function decodeEncryptedData(bytes: Uint8Array): EncryptedData {
  return decodeWith(bytes, "EncryptedData", readEncryptedData);
}
