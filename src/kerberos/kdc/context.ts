/**
 * What an exchange handler receives: the resolved configuration, the principal database,
 * the clock and randomness (injected, so the core is pure and testable).
 */
import type { CryptoDeps } from "../crypto/index.js";
import type { PrincipalName } from "../principal.js";
import type { ResolvedKdcConfig } from "./config.js";
import type { PrincipalDatabase, PrincipalKey } from "./database.js";
import type { PacLayoutCache } from "./pac-issue.js";
import type { ExpiringCache } from "./replay.js";
import type { OpenedTgt } from "./tgs-auth.js";

export interface KdcContext {
  config: ResolvedKdcConfig;
  db: PrincipalDatabase;
  /** Unix milliseconds. */
  now(): number;
  crypto: CryptoDeps;
  /** TGS-REQ authenticators seen within the skew window (replay.ts). */
  authenticators: ExpiringCache<true>;
  /** TGTs already decrypted, by ciphertext (tgs-auth.ts). */
  tgts?: ExpiringCache<OpenedTgt>;
  /** Laid-out PACs by account content and key types (pac-issue.ts). */
  pacLayouts?: PacLayoutCache;
  /** What the request log learns inside the current exchange (kdc.ts sets a fresh one). */
  note?: ExchangeNote;
}

/** Filled by the exchange: the TGS-REQ's authenticated client, the ticket issued. */
export interface ExchangeNote {
  client?: string;
  issued?: { authtime: number; rep: number; tkt: number; ses: number };
}

/** "a/b@REALM" (MIT's unparsed form, unescaped). */
export function principalText(p: PrincipalName, realm: string): string {
  return `${nameText(p)}@${realm}`;
}

/** "a/b" from a PrincipalName (MIT text form without realm, unescaped). */
export function nameText(p: PrincipalName): string {
  return p.nameString.join("/");
}

export function isKrbtgt(p: PrincipalName, realm: string): boolean {
  return p.nameString.length === 2 && p.nameString[0] === "krbtgt" && p.nameString[1] === realm;
}

export function krbtgtName(realm: string): PrincipalName {
  return { nameType: 2, nameString: ["krbtgt", realm] };
}

/** A service the KDC can issue tickets for: the krbtgt itself or a database account. */
export interface ServiceInfo {
  keys: readonly PrincipalKey[];
  /** The enctypes it can be the target of, strongest first (etype-choice.ts). */
  etypes: readonly number[];
  isTgt: boolean;
  /** The database account name ("WS01$"), or "krbtgt". */
  account: string;
}
