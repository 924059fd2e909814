/**
 * KDC configuration: realm, krbtgt keys, lifetimes and limits. `resolveKdcConfig` fills
 * defaults (MIT's: 10 h max_life, 7 d max_renewable_life, 5 min clock skew).
 */
import { PosternError } from "../../errors.js";
import type { PrincipalKey } from "./database.js";
import { accountEnctypes } from "./etype-choice.js";

export interface KdcConfig {
  /** The realm served, upper case ("PKD.TEST"). */
  realm: string;
  /**
   * krbtgt/REALM@REALM keys (every etype the KDC should accept TGTs in; the first seals
   * TGTs). Absent: read once from the database as "krbtgt/REALM" (as the DC's directory has it).
   */
  krbtgtKeys?: PrincipalKey[];
  /** DNS domain for UPN_DNS_INFO and machine salts; default lower(realm). */
  dnsDomain?: string;
  /** NetBIOS domain name for LOGON_INFO; default the realm's first label. */
  netbiosDomain?: string;
  /** Longest ticket life, default 10 h. */
  maxLifeMs?: number;
  /** Longest renewable life, default 7 d; 0 disables renewable tickets. */
  maxRenewableLifeMs?: number;
  /** Accepted clock skew, default 5 min (RFC 4120 §1.5.2). */
  skewMs?: number;
  /**
   * Largest reply sent over UDP; larger ones become KRB_ERR_RESPONSE_TOO_BIG. Default 1465,
   * Windows' KDC MaxPacketSize default (a datagram that fits a 1500-byte MTU unfragmented).
   */
  maxUdpReplyBytes?: number;
  /** Enctypes the KDC issues session keys in, strongest first; default [18, 17, 20, 19]. */
  sessionEnctypes?: number[];
  /**
   * krbtgt's msDS-SupportedEncryptionTypes (etype-choice.ts): which key seals TGTs. Absent:
   * the database entry's, else AD's default 0x18.
   */
  krbtgtSupportedEnctypes?: number;
  /**
   * krbtgt's usable enctypes, strongest first (TGTs are sealed with the first): normally
   * derived from krbtgtSupportedEnctypes and the keys; given as resolved to worker threads.
   */
  krbtgtEnctypes?: number[];
}

export type ResolvedKdcConfig = Required<Omit<KdcConfig, "krbtgtSupportedEnctypes">>;

export interface KrbtgtSource {
  lookup(name: string, realm: string): { keys: PrincipalKey[]; supportedEnctypes?: number } | null;
}

export const DEFAULT_MAX_LIFE_MS = 10 * 3600_000;
export const DEFAULT_MAX_RENEWABLE_LIFE_MS = 7 * 86400_000;
export const DEFAULT_SKEW_MS = 5 * 60_000;
export const DEFAULT_MAX_UDP_REPLY_BYTES = 1465;

export function resolveKdcConfig(c: KdcConfig, db: KrbtgtSource): ResolvedKdcConfig {
  const realm = c.realm.toUpperCase();
  const known = c.krbtgtKeys && (c.krbtgtEnctypes || c.krbtgtSupportedEnctypes !== undefined);
  const entry = known ? null : db.lookup(`krbtgt/${realm}`, realm);
  const krbtgtKeys = c.krbtgtKeys ?? entry?.keys ?? [];
  if (krbtgtKeys.length === 0)
    throw new PosternError(
      "kdc-no-krbtgt",
      `KDC for ${realm}: no krbtgt/${realm} keys (configuration or database)`,
    );
  return {
    realm,
    krbtgtKeys,
    krbtgtEnctypes:
      c.krbtgtEnctypes ??
      accountEnctypes(krbtgtKeys, c.krbtgtSupportedEnctypes ?? entry?.supportedEnctypes),
    dnsDomain: (c.dnsDomain ?? realm).toLowerCase(),
    netbiosDomain: c.netbiosDomain ?? realm.split(".")[0]!,
    maxLifeMs: c.maxLifeMs ?? DEFAULT_MAX_LIFE_MS,
    maxRenewableLifeMs: c.maxRenewableLifeMs ?? DEFAULT_MAX_RENEWABLE_LIFE_MS,
    skewMs: c.skewMs ?? DEFAULT_SKEW_MS,
    maxUdpReplyBytes: c.maxUdpReplyBytes ?? DEFAULT_MAX_UDP_REPLY_BYTES,
    sessionEnctypes: c.sessionEnctypes ?? [18, 17, 20, 19],
  };
}
