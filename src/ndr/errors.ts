/** Typed errors of the NDR (MS-RPCE / C706 §14) reader: always one line naming the field. */
import { PosternError } from "../errors.js";

export type NdrErrorCode = "ndr-truncated" | "ndr-malformed";

export class NdrError extends PosternError {
  override readonly code: NdrErrorCode;
  constructor(code: NdrErrorCode, message: string) {
    super(code, message, 1);
    this.name = "NdrError";
    this.code = code;
  }
}
