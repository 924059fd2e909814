/**
 * PrincipalName and Realm (RFC 4120 §5.2.2).
 *
 * ```
 * Realm           ::= KerberosString
 *
 * PrincipalName   ::= SEQUENCE {
 *         name-type       [0] Int32,
 *         name-string     [1] SEQUENCE OF KerberosString
 * }
 * ```
 */
import type { DerNode } from "../../asn1/der.js";
import { derSequence } from "../../asn1/writer.js";
import type { PrincipalName } from "../principal.js";
import {
  decodeWith,
  derFields,
  derInt32,
  derKerberosString,
  readInt32,
  readKerberosString,
  readSequenceOf,
  SequenceReader,
} from "./primitives.js";

export type { PrincipalName } from "../principal.js";

export function readPrincipalName(node: DerNode): PrincipalName {
  const r = new SequenceReader(node);
  const nameType = r.req(0, "name-type", readInt32);
  const nameString = r.req(1, "name-string", (n) => readSequenceOf(n, readKerberosString));
  r.end();
  return { nameType, nameString };
}

export function derPrincipalName(p: PrincipalName): Uint8Array {
  return derFields([
    [0, derInt32(p.nameType)],
    [1, derSequence(p.nameString.map(derKerberosString))],
  ]);
}

export const readRealm = readKerberosString;
export const derRealm = derKerberosString;

export function encodePrincipalName(p: PrincipalName): Uint8Array {
  return derPrincipalName(p);
}

export function decodePrincipalName(bytes: Uint8Array): PrincipalName {
  return decodeWith(bytes, "PrincipalName", readPrincipalName);
}
