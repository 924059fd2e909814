/**
 * EncryptionKey (RFC 4120 §5.2.9).
 *
 * ```
 * EncryptionKey   ::= SEQUENCE {
 *         keytype         [0] Int32 -- actually encryption type --,
 *         keyvalue        [1] OCTET STRING
 * }
 * ```
 */
import type { DerNode } from "../../asn1/der.js";
import {
  decodeWith,
  derFields,
  derInt32,
  derOctetString,
  readInt32,
  readOctetString,
  SequenceReader,
} from "./primitives.js";

export interface EncryptionKey {
  keytype: number;
  keyvalue: Uint8Array;
}

export function readEncryptionKey(node: DerNode): EncryptionKey {
  const r = new SequenceReader(node);
  const keytype = r.req(0, "keytype", readInt32);
  const keyvalue = r.req(1, "keyvalue", readOctetString);
  r.end();
  return { keytype, keyvalue };
}

export function derEncryptionKey(k: EncryptionKey): Uint8Array {
  return derFields([
    [0, derInt32(k.keytype)],
    [1, derOctetString(k.keyvalue)],
  ]);
}

export function encodeEncryptionKey(k: EncryptionKey): Uint8Array {
  return derEncryptionKey(k);
}

export function decodeEncryptionKey(bytes: Uint8Array): EncryptionKey {
  return decodeWith(bytes, "EncryptionKey", readEncryptionKey);
}
