/** The firewall's typed errors. Every one is a user's mistake or a host fact: exit 1. */
import { PosternError } from "../errors.js";

export type FirewallErrorCode =
  | "bad-port"
  | "bad-scope"
  | "bad-address"
  | "bad-sddl"
  | "bad-sid"
  | "unknown-principal"
  | "no-such-portopening"
  | "no-such-program"
  | "bad-settings"
  | "nft-failed"
  | "not-root"
  | "not-host-home";

export class FirewallError extends PosternError {
  override readonly code: FirewallErrorCode;
  constructor(code: FirewallErrorCode, message: string) {
    super(code, message, 1);
    this.name = "FirewallError";
    this.code = code;
  }
}
