/**
 * The principal database the KDC reads: principal name -> long-term keys and the identity
 * a PAC carries (account SID, primary group, group SIDs). The DC's directory implements
 * `PrincipalDatabase`; `createMemoryDatabase` is an in-memory one for tests and the
 * standalone `postern kdc` runner, deriving keys from passwords with AD-style salts:
 *
 *   user     REALM + name                                   ("PKD.TESTalice")
 *   machine  REALM + "host" + lower(name without $) + "." + lower(dns domain)
 *                                                            ("PKD.TESThostws01.pkd.test")
 */
import { getEnctype } from "../crypto/index.js";

/** One long-term key of a principal. */
export interface PrincipalKey {
  etype: number;
  kvno: number;
  key: Uint8Array;
}

/** What `lookup` returns: exactly the shape the DC's directory exports. */
export interface PrincipalEntry {
  /** The account name (e.g. "alice", "WS01$"), without realm. */
  name: string;
  keys: PrincipalKey[];
  /** S-1-5-21-<domain>-<rid>. */
  accountSid: string;
  primaryGroupRid: number;
  /** Every group SID the account is a member of (transitively), current. */
  groupSids: string[];
  enabled: boolean;
  /** msDS-AllowedToDelegateTo: the SPNs it may get tickets to in a user's name (S4U2Proxy). */
  allowedToDelegateTo?: string[];
  /** userAccountControl TRUSTED_TO_AUTH_FOR_DELEGATION: its S4U2Self tickets are forwardable. */
  trustedToAuthForDelegation?: boolean;
  /**
   * msDS-AllowedToActOnBehalfOfOtherIdentity (resource-based constrained delegation): the
   * SIDs (accounts or groups) granted the right to delegate *to this account* (the allow
   * entries of AD's security descriptor).
   */
  allowedToActOnBehalfOf?: string[];
  /** msDS-SupportedEncryptionTypes (etype-choice.ts); absent: AD's default 0x18. */
  supportedEnctypes?: number;
}

export interface PrincipalDatabase {
  /**
   * `principalName` is the MIT text form without realm ("alice", "WS01$",
   * "host/ws01.pkd.test"); an SPN resolves to the account holding it. Null when unknown.
   */
  lookup(principalName: string, realm: string): PrincipalEntry | null;
}

/** AD's salt for an account (MS-KILE §3.1.1.2): machines (name ending in $) and users. */
export function adSalt(realm: string, accountName: string, dnsDomain = realm): string {
  if (accountName.endsWith("$")) {
    const host = accountName.slice(0, -1).toLowerCase();
    return `${realm.toUpperCase()}host${host}.${dnsDomain.toLowerCase()}`;
  }
  return `${realm.toUpperCase()}${accountName.split("/").join("")}`;
}

/** A principal for the in-memory database, with a password or ready keys. */
export interface MemoryPrincipal {
  name: string;
  password?: string;
  keys?: PrincipalKey[];
  /** Service principal names that resolve to this account ("host/ws01.pkd.test"). */
  aliases?: string[];
  rid: number;
  /** Default 513 (users) or 515 (machines). */
  primaryGroupRid?: number;
  /** RIDs of domain groups, or full SIDs (anything starting with "S-"). */
  groups?: (number | string)[];
  enabled?: boolean;
  kvno?: number;
  /** Constrained delegation (s4u-proxy.ts): SPNs this account may delegate to. */
  allowedToDelegateTo?: string[];
  /** Protocol transition: its S4U2Self tickets are forwardable. */
  trustedToAuthForDelegation?: boolean;
  /** Resource-based constrained delegation: RIDs or SIDs that may delegate to this account. */
  allowedToActOnBehalfOf?: (number | string)[];
  /** msDS-SupportedEncryptionTypes; absent: the default (etype-choice.ts). */
  supportedEnctypes?: number;
}

export interface MemoryDatabaseOptions {
  realm: string;
  /** Default: lower(realm). */
  dnsDomain?: string;
  domainSid: string;
  /** Enctypes derived from passwords, default [18, 17, 20, 19]. */
  enctypes?: number[];
  principals: MemoryPrincipal[];
}

export interface MemoryDatabase extends PrincipalDatabase {
  /** Replaces an account's groups (RIDs or SIDs), as a directory change would. */
  setGroups(name: string, groups: (number | string)[]): void;
  setEnabled(name: string, enabled: boolean): void;
  /** Adds or replaces an account. */
  put(p: MemoryPrincipal): void;
}

export const DEFAULT_DB_ENCTYPES: readonly number[] = [18, 17, 20, 19];

/** An in-memory PrincipalDatabase (tests, `postern kdc --db FILE.json`). */
export function createMemoryDatabase(opts: MemoryDatabaseOptions): MemoryDatabase {
  const dnsDomain = opts.dnsDomain ?? opts.realm.toLowerCase();
  const enctypes = opts.enctypes ?? [...DEFAULT_DB_ENCTYPES];
  const entries = new Map<string, PrincipalEntry>();
  const aliases = new Map<string, string>();
  const sidOf = (g: number | string) => (typeof g === "string" ? g : `${opts.domainSid}-${g}`);

  const put = (p: MemoryPrincipal) => {
    const machine = p.name.endsWith("$");
    const kvno = p.kvno ?? 1;
    const keys =
      p.keys ??
      enctypes.map((etype) => ({
        etype,
        kvno,
        key: getEnctype(etype).stringToKey(p.password ?? "", adSalt(opts.realm, p.name, dnsDomain)),
      }));
    entries.set(p.name, {
      name: p.name,
      keys,
      accountSid: `${opts.domainSid}-${p.rid}`,
      primaryGroupRid: p.primaryGroupRid ?? (machine ? 515 : 513),
      groupSids: (p.groups ?? []).map(sidOf),
      enabled: p.enabled ?? true,
      ...(p.allowedToDelegateTo ? { allowedToDelegateTo: [...p.allowedToDelegateTo] } : {}),
      ...(p.trustedToAuthForDelegation ? { trustedToAuthForDelegation: true } : {}),
      ...(p.allowedToActOnBehalfOf
        ? { allowedToActOnBehalfOf: p.allowedToActOnBehalfOf.map(sidOf) }
        : {}),
      ...(p.supportedEnctypes === undefined ? {} : { supportedEnctypes: p.supportedEnctypes }),
    });
    for (const a of p.aliases ?? []) aliases.set(a.toLowerCase(), p.name);
  };
  for (const p of opts.principals) put(p);

  const entry = (name: string) => {
    const e = entries.get(name);
    if (!e) throw new Error(`memory database: no principal ${JSON.stringify(name)}`);
    return e;
  };

  return {
    lookup(principalName, realm) {
      if (realm.toUpperCase() !== opts.realm.toUpperCase()) return null;
      const direct = entries.get(principalName);
      if (direct) return direct;
      const alias = aliases.get(principalName.toLowerCase());
      return alias === undefined ? null : (entries.get(alias) ?? null);
    },
    setGroups(name, groups) {
      entry(name).groupSids = groups.map(sidOf);
    },
    setEnabled(name, enabled) {
      entry(name).enabled = enabled;
    },
    put,
  };
}
