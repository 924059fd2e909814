/**
 * Typed IKE errors. A code names what went wrong and maps to the IKEv2 notify type the
 * peer is told about (RFC 7296 §3.10.1), when there is one. Messages name the field and
 * what arrived: `SA payload: proposal length 12 < minimum 8`.
 */
import { PosternError } from "../errors.js";

export type IkeErrorCode =
  /** A length, count or field value that does not fit the RFC's layout. */
  | "malformed"
  /** Integrity check or decryption of an SK payload failed. */
  | "integrity"
  /** No proposal of the offer is acceptable. */
  | "no-proposal-chosen"
  /** The peer's AUTH payload does not verify, or no credential matches its identity. */
  | "authentication-failed"
  /** The KE payload's group is not the one selected. */
  | "invalid-ke"
  /** Traffic selectors do not intersect with policy. */
  | "ts-unacceptable"
  /** A state change the state machine does not allow. */
  | "illegal-transition"
  /** A configuration mistake (peer file, unknown algorithm name). */
  | "config"
  /** An algorithm the model names but IKEv2 here does not implement (DES, MD5, DH 1/2). */
  | "unsupported";

export class IkeError extends PosternError {
  override readonly code: IkeErrorCode;
  constructor(code: IkeErrorCode, message: string) {
    super(code, message, 1);
    this.name = "IkeError";
    this.code = code;
  }
}

export function malformed(message: string): IkeError {
  return new IkeError("malformed", message);
}
