/**
 * Where the client's long-term key comes from (a password or a keytab), how enctype names
 * read (krb5.conf style), and which key answers a KDC's ETYPE-INFO2 (RFC 4120 §5.2.7.5):
 * the first entry (KDC preference order) for which we have a key; its salt and s2kparams
 * feed string-to-key for a password, a keytab already holds the key.
 */
import { getEnctype, isSupportedEnctype, SUPPORTED_ENCTYPES } from "../crypto/index.js";
import type { Keytab, KeytabEntry } from "../files/keytab.js";
import type { EtypeInfo2Entry } from "../messages/etype-info2.js";
import { type Principal, principalEquals } from "../principal.js";
import { KerberosClientError } from "./errors.js";

export type KeySource =
  | { kind: "password"; password: string }
  | { kind: "keytab"; keytab: Keytab; name?: string };

/** MIT's default order: aes256-sha1, aes128-sha1, aes256-sha2, aes128-sha2. */
export const DEFAULT_ETYPES: readonly number[] = [18, 17, 20, 19];

const ALIASES: Record<string, number[]> = {
  "aes256-cts-hmac-sha1-96": [18],
  "aes256-cts": [18],
  "aes256-sha1": [18],
  "aes128-cts-hmac-sha1-96": [17],
  "aes128-cts": [17],
  "aes128-sha1": [17],
  "aes256-cts-hmac-sha384-192": [20],
  "aes256-sha2": [20],
  "aes128-cts-hmac-sha256-128": [19],
  "aes128-sha2": [19],
  aes: [18, 17, 20, 19],
  "aes-sha1": [18, 17],
  "aes-sha2": [20, 19],
  default: [18, 17, 20, 19],
};

/** One enctype name or number (`aes256-cts-hmac-sha1-96`, `18`); refuses what we lack. */
export function parseEnctype(text: string): number {
  const t = text.trim().toLowerCase().replace(/:.*$/, "");
  const n = /^\d+$/.test(t) ? Number(t) : ALIASES[t]?.length === 1 ? ALIASES[t]![0]! : undefined;
  if (n === undefined || !isSupportedEnctype(n)) {
    if (n !== undefined) getEnctype(n); // throws the crypto layer's "not supported" line
    throw new KerberosClientError(
      "no-usable-key",
      `enctype ${JSON.stringify(text)} is unknown: use aes256-cts-hmac-sha1-96, aes128-cts-hmac-sha1-96, aes256-cts-hmac-sha384-192 or aes128-cts-hmac-sha256-128`,
    );
  }
  return n;
}

/**
 * A krb5.conf enctype list (`aes256-cts aes128-cts`, `aes`, `DEFAULT -aes128-sha2`):
 * unsupported names (rc4-hmac, des3-...) are skipped as MIT skips unknown ones.
 */
export function parseEnctypeList(text: string | undefined): number[] {
  if (text === undefined) return [...DEFAULT_ETYPES];
  const out: number[] = [];
  for (const word of text.split(/[\s,]+/).filter((w) => w !== "")) {
    const remove = word.startsWith("-");
    const name = word.replace(/^[+-]/, "").toLowerCase();
    const list = ALIASES[name] ?? (/^\d+$/.test(name) ? [Number(name)] : []);
    for (const e of list.filter(isSupportedEnctype)) {
      const i = out.indexOf(e);
      if (remove && i >= 0) out.splice(i, 1);
      if (!remove && i < 0) out.push(e);
    }
  }
  return out.length > 0 ? out : [...SUPPORTED_ENCTYPES];
}

/** The keytab's newest key of `etype` for `principal` (highest kvno). */
export function keytabEntryFor(
  keytab: Keytab,
  principal: Principal,
  etype: number,
  kvno?: number,
): KeytabEntry | undefined {
  let best: KeytabEntry | undefined;
  for (const e of keytab.entries) {
    if (e.key.keytype !== etype || !principalEquals(e.principal, principal)) continue;
    if (kvno !== undefined && e.kvno !== kvno && e.kvno % 256 !== kvno % 256) continue;
    if (!best || e.kvno > best.kvno) best = e;
  }
  return best;
}

/** The enctypes to ask for: for a keytab, those it holds for the principal, in `prefs` order. */
export function requestEtypes(
  source: KeySource,
  client: Principal,
  prefs: readonly number[],
): number[] {
  if (source.kind === "password") return [...prefs];
  const held = new Set(
    source.keytab.entries
      .filter((e) => principalEquals(e.principal, client) && isSupportedEnctype(e.key.keytype))
      .map((e) => e.key.keytype),
  );
  const ordered = prefs.filter((e) => held.has(e));
  for (const e of SUPPORTED_ENCTYPES) if (held.has(e) && !ordered.includes(e)) ordered.push(e);
  if (ordered.length === 0) {
    throw new KerberosClientError(
      "no-usable-key",
      `keytab${source.name ? ` ${source.name}` : ""} has no AES key for ${formatP(client)} (it needs aes256-cts-hmac-sha1-96 or another of enctypes 17, 18, 19, 20)`,
    );
  }
  return ordered;
}

function formatP(p: Principal): string {
  return `${p.name.nameString.join("/")}@${p.realm}`;
}

/** RFC 4120 §4: the default salt is the realm followed by the name components. */
export function defaultSalt(p: Principal): string {
  return p.realm + p.name.nameString.join("");
}

export interface ClientKey {
  etype: number;
  key: Uint8Array;
  kvno?: number;
  /** The salt and s2kparams a password's key was made with (remembered as a PreauthHint). */
  salt?: string;
  s2kparams?: Uint8Array;
}

/**
 * What the last AS exchange of a principal used, so the next one can send PA-ENC-TIMESTAMP
 * in its first AS-REQ (MIT keeps the same from a cached ETYPE-INFO2): the enctype, and for a
 * password the salt and s2kparams its key is made with. A keytab holds its keys ready.
 */
export interface PreauthHint {
  etype: number;
  salt?: string;
  s2kparams?: Uint8Array;
}

/**
 * The key for a first AS-REQ that carries PA-ENC-TIMESTAMP before the KDC has named an
 * enctype: the hint's enctype and salt when one is known (a password needs its salt), else
 * for a keytab its key of the first enctype we ask for (the salt is in the key already).
 * Undefined: ask without pre-authentication and let PREAUTH_REQUIRED's ETYPE-INFO2 choose.
 */
export function guessedKey(
  source: KeySource,
  client: Principal,
  hint: PreauthHint | undefined,
  etypes: readonly number[],
): ClientKey | undefined {
  if (hint && etypes.includes(hint.etype) && (source.kind === "keytab" || hint.salt !== undefined))
    return keyForEtype(source, client, hint.etype, hint.salt, hint.s2kparams);
  const first = etypes[0];
  if (source.kind !== "keytab" || first === undefined) return undefined;
  return keyForEtype(source, client, first);
}

/**
 * The key for the first ETYPE-INFO2 entry we can answer (the KDC lists its preference
 * first), restricted to `etypes`.
 */
export function keyFromEtypeInfo(
  source: KeySource,
  client: Principal,
  info: readonly EtypeInfo2Entry[],
  etypes: readonly number[],
): ClientKey {
  for (const entry of info) {
    if (!etypes.includes(entry.etype) || !isSupportedEnctype(entry.etype)) continue;
    const k = keyForEtype(source, client, entry.etype, entry.salt, entry.s2kparams);
    if (k) return k;
  }
  throw new KerberosClientError(
    "no-usable-key",
    `the KDC offers enctypes ${info.map((e) => e.etype).join(", ") || "(none)"} for ${formatP(client)}, and we have keys for ${etypes.join(", ")}: no match (RC4 and DES are not supported)`,
  );
}

export function keyForEtype(
  source: KeySource,
  client: Principal,
  etype: number,
  salt?: string,
  s2kparams?: Uint8Array,
): ClientKey | undefined {
  if (source.kind === "keytab") {
    const e = keytabEntryFor(source.keytab, client, etype);
    return e ? { etype, key: e.key.keyvalue, kvno: e.kvno } : undefined;
  }
  const used = salt ?? defaultSalt(client);
  const key = getEnctype(etype).stringToKey(source.password, used, s2kparams);
  return { etype, key, salt: used, ...(s2kparams ? { s2kparams } : {}) };
}
