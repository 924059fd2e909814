/**
 * The directory's typed errors. Every one is a user's mistake (exit 1) with one line that
 * names the object and what is wrong; the admin socket carries `code` and `message` back to
 * the CLI unchanged.
 */
import { PosternError } from "../errors.js";

export type DirectoryErrorCode =
  | "dc.not-initialized"
  | "dc.already-initialized"
  | "dc.invalid-name"
  | "dc.duplicate"
  | "dc.not-found"
  | "dc.membership"
  | "dc.cycle"
  | "dc.protected"
  | "dc.token"
  | "dc.auth"
  | "dc.password"
  | "dc.running"
  | "dc.listen"
  | "dc.schema"
  | "dc.backup"
  | "dc.policy"
  | "dc.conflict"
  | "dc.dns"
  | "dc.limits";

export class DirectoryError extends PosternError {
  constructor(code: DirectoryErrorCode, message: string) {
    super(code, message, 1);
    this.name = "DirectoryError";
  }
}
