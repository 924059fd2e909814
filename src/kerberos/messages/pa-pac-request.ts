/**
 * PA-PAC-REQUEST (MS-KILE §2.2.3, padata-type 128): the client asks for a PAC, or asks
 * for none.
 *
 * ```
 * KERB-PA-PAC-REQUEST ::= SEQUENCE {
 *         include-pac[0] BOOLEAN --If TRUE, and no pac present, include PAC.
 *                                --If FALSE, and PAC present, remove PAC
 * }
 * ```
 */
import { type DerNode, readBoolean } from "../../asn1/der.js";
import { derBoolean } from "../../asn1/writer.js";
import { decodeWith, derFields, SequenceReader } from "./primitives.js";

export interface PaPacRequest {
  includePac: boolean;
}

export function readPaPacRequest(node: DerNode): PaPacRequest {
  const r = new SequenceReader(node);
  const includePac = r.req(0, "include-pac", readBoolean);
  r.end();
  return { includePac };
}

export function encodePaPacRequest(p: PaPacRequest): Uint8Array {
  return derFields([[0, derBoolean(p.includePac)]]);
}

export function decodePaPacRequest(bytes: Uint8Array): PaPacRequest {
  return decodeWith(bytes, "PA-PAC-REQUEST", readPaPacRequest);
}
