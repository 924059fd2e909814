/**
 * Security methods, as netsh writes them.
 *
 * Quick mode (`qmsecmethods`, phase 2 / CHILD_SA offers), space-separated, in order of
 * preference:
 *
 *   offer    = proto [ ":" lifetime ]
 *   proto    = "AH[" hash "]" | "ESP[" conf "," auth "]" | "AH[" hash "]+ESP[" conf "," auth "]"
 *   lifetime = N "k" [ "/" N "s" ] | N "s"          (kilobytes / seconds)
 *
 * Main mode (`mmsecmethods`, phase 1 / IKE SA offers): `conf-hash-group`, e.g.
 * `AES256-SHA256-14`. 2003's group numbers 1 (Low), 2 (Medium) and 3 (DH2048) map to DH
 * groups 1, 2 and 14; we add 14, 19 (ECP-256) and 31 (Curve25519).
 *
 * Algorithms: 2003's DES, MD5 and DH group 1 are recognised and refused with a message that
 * names a modern replacement. 3DES, SHA1 and DH group 2 are accepted with a warning. AES-CBC,
 * AES-GCM, SHA-256/384 and DH 14/19/31 are the modern set and the defaults. Keywords are
 * case-insensitive; formatting gives the canonical upper-case spelling, and
 * parse(format(x)) = x for every valid method.
 */
import { UsageError } from "../errors.js";
import type {
  DhGroup,
  MmConfAlg,
  MmHashAlg,
  MmSecMethod,
  QmAuthAlg,
  QmConfAlg,
  QmSecMethod,
} from "./model.js";

/** Spec constants: 2003's quick-mode lifetime bounds and defaults (1 hour / 100 MB). */
export const QM_LIFETIME_KB_MIN = 20480;
export const QM_LIFETIME_KB_MAX = 2147483647;
export const QM_LIFETIME_SEC_MIN = 300;
export const QM_LIFETIME_SEC_MAX = 172800;
export const QM_DEFAULT_LIFETIME_KB = 100000;
export const QM_DEFAULT_LIFETIME_SEC = 3600;

/** Receives one warning line (legacy algorithm accepted). The CLI prints it on stderr. */
export type Warn = (message: string) => void;

const REFUSED: Record<string, string> = {
  des: "DES is refused (56-bit key, broken); use AES256 or AES256GCM",
  md5: "MD5 is refused (collisions); use SHA256 or SHA384",
};
const LEGACY: Record<string, string> = {
  "3des": "3DES is legacy (64-bit block, Sweet32); prefer AES256 or AES256GCM",
  sha1: "SHA1 is legacy; prefer SHA256 or SHA384",
};

const QM_CONF: readonly QmConfAlg[] = [
  "none",
  "des",
  "3des",
  "aes128",
  "aes256",
  "aes128gcm",
  "aes256gcm",
];
const QM_AUTH: readonly QmAuthAlg[] = ["none", "md5", "sha1", "sha256", "sha384"];
const MM_CONF: readonly MmConfAlg[] = ["des", "3des", "aes128", "aes256", "aes128gcm", "aes256gcm"];
const MM_HASH: readonly MmHashAlg[] = ["md5", "sha1", "sha256", "sha384"];

/** True for AES-GCM, which carries its own integrity (ESP's auth must then be None). */
export function isAead(conf: QmConfAlg | MmConfAlg): boolean {
  return conf === "aes128gcm" || conf === "aes256gcm";
}

function pickAlg<T extends string>(
  text: string,
  allowed: readonly T[],
  what: string,
  where: string,
  warn: Warn,
): T {
  const v = text.trim().toLowerCase();
  const hit = allowed.find((a) => a === v);
  if (hit === undefined) {
    throw new UsageError(
      `${where}: unknown ${what} '${text}' (expected ${allowed.map(upper).join(", ")})`,
    );
  }
  const refused = REFUSED[hit];
  if (refused) throw new UsageError(`${where}: ${refused}`);
  const legacy = LEGACY[hit];
  if (legacy) warn(`warning: ${where}: ${legacy}`);
  return hit;
}

function upper(s: string): string {
  return s === "none" ? "None" : s.toUpperCase();
}

function parseLifetime(text: string, where: string): { kb?: number; sec?: number } {
  const m = /^(?:(\d+)k\/(\d+)s|(\d+)k|(\d+)s)$/i.exec(text);
  if (!m) {
    throw new UsageError(`${where}: bad lifetime ':${text}' (expected :Nk/Ns, :Nk or :Ns)`);
  }
  const kbText = m[1] ?? m[3];
  const secText = m[2] ?? m[4];
  const out: { kb?: number; sec?: number } = {};
  if (kbText !== undefined) {
    const kb = Number(kbText);
    if (kb < QM_LIFETIME_KB_MIN || kb > QM_LIFETIME_KB_MAX) {
      throw new UsageError(
        `${where}: lifetime ${kb}k out of range ${QM_LIFETIME_KB_MIN}-${QM_LIFETIME_KB_MAX} kilobytes`,
      );
    }
    out.kb = kb;
  }
  if (secText !== undefined) {
    const sec = Number(secText);
    if (sec < QM_LIFETIME_SEC_MIN || sec > QM_LIFETIME_SEC_MAX) {
      throw new UsageError(
        `${where}: lifetime ${sec}s out of range ${QM_LIFETIME_SEC_MIN}-${QM_LIFETIME_SEC_MAX} seconds`,
      );
    }
    out.sec = sec;
  }
  return out;
}

function parseEsp(inner: string, where: string, warn: Warn): NonNullable<QmSecMethod["esp"]> {
  const parts = inner.split(",");
  if (parts.length !== 2) {
    throw new UsageError(`${where}: ESP takes [ConfAlg,AuthAlg], got ESP[${inner}]`);
  }
  const conf = pickAlg(parts[0] as string, QM_CONF, "encryption algorithm", where, warn);
  if (isAead(conf) && (parts[1] as string).trim().toLowerCase() !== "none") {
    throw new UsageError(
      `${where}: ${upper(conf)} carries its own integrity; write ESP[${upper(conf)},None]`,
    );
  }
  const auth = pickAlg(parts[1] as string, QM_AUTH, "integrity algorithm", where, warn);
  if (conf === "none" && auth === "none") {
    throw new UsageError(`${where}: ESP[None,None] protects nothing; use ESP[None,SHA256]`);
  }
  return { conf, auth };
}

function parseAh(inner: string, where: string, warn: Warn): NonNullable<QmSecMethod["ah"]> {
  const hash = pickAlg(inner, QM_AUTH, "AH hash algorithm", where, warn);
  if (hash === "none") throw new UsageError(`${where}: AH needs a hash: AH[SHA256]`);
  return { hash };
}

/** Parses one quick-mode offer: `AH[SHA1]`, `ESP[AES256,SHA256]:100000k/3600s`, ... */
export function parseQmSecMethod(text: string, warn: Warn, where = "qmsecmethods"): QmSecMethod {
  const w = `${where} '${text}'`;
  const m = /^(?:AH\[([^\]]*)\])?(\+)?(?:ESP\[([^\]]*)\])?(?::(.*))?$/i.exec(text.trim());
  if (
    !m ||
    (m[1] === undefined && m[3] === undefined) ||
    (m[2] !== undefined) !== (m[1] !== undefined && m[3] !== undefined)
  ) {
    throw new UsageError(
      `${w}: expected ESP[ConfAlg,AuthAlg], AH[HashAlg] or AH[HashAlg]+ESP[ConfAlg,AuthAlg], optionally :Nk/Ns`,
    );
  }
  const out: QmSecMethod = {
    lifetimeKb: QM_DEFAULT_LIFETIME_KB,
    lifetimeSec: QM_DEFAULT_LIFETIME_SEC,
  };
  if (m[1] !== undefined) out.ah = parseAh(m[1], w, warn);
  if (m[3] !== undefined) out.esp = parseEsp(m[3], w, warn);
  if (m[4] !== undefined) {
    const life = parseLifetime(m[4], w);
    if (life.kb !== undefined) out.lifetimeKb = life.kb;
    if (life.sec !== undefined) out.lifetimeSec = life.sec;
  }
  return out;
}

/** Parses a space-separated, ordered list of quick-mode offers. */
export function parseQmSecMethods(text: string, warn: Warn, where = "qmsecmethods"): QmSecMethod[] {
  const words = text
    .trim()
    .split(/\s+/)
    .filter((s) => s !== "");
  if (words.length === 0) throw new UsageError(`${where}: no security method given`);
  return words.map((w) => parseQmSecMethod(w, warn, where));
}

/** The canonical netsh spelling: `AH[SHA256]+ESP[AES256,SHA256]:100000k/3600s`. */
export function formatQmSecMethod(m: QmSecMethod): string {
  const parts: string[] = [];
  if (m.ah) parts.push(`AH[${upper(m.ah.hash)}]`);
  if (m.esp) parts.push(`ESP[${upper(m.esp.conf)},${upper(m.esp.auth)}]`);
  return `${parts.join("+")}:${m.lifetimeKb}k/${m.lifetimeSec}s`;
}

export function formatQmSecMethods(ms: readonly QmSecMethod[]): string {
  return ms.map(formatQmSecMethod).join(" ");
}

function parseGroup(text: string, where: string, warn: Warn): DhGroup {
  const t = text
    .trim()
    .toLowerCase()
    .replace(/^(dhgroup|group|dh)/, "");
  if (!/^\d+$/.test(t)) {
    throw new UsageError(`${where}: bad DH group '${text}' (expected 2, 3, 14, 19 or 31)`);
  }
  const n = Number(t);
  if (n === 1) {
    throw new UsageError(
      `${where}: DH group 1 (768-bit MODP, "Low") is refused; use 14 (2048-bit MODP), 19 (ECP-256) or 31 (Curve25519)`,
    );
  }
  if (n === 2) {
    warn(`warning: ${where}: DH group 2 (1024-bit MODP, "Medium") is legacy; prefer 14, 19 or 31`);
    return 2;
  }
  if (n === 3 || n === 14) return 14;
  if (n === 19 || n === 31) return n;
  throw new UsageError(`${where}: unknown DH group ${n} (expected 2, 3 = 14, 14, 19 or 31)`);
}

/** Parses one main-mode offer `ConfAlg-HashAlg-Group`, e.g. `AES256-SHA256-14`. */
export function parseMmSecMethod(text: string, warn: Warn, where = "mmsecmethods"): MmSecMethod {
  const w = `${where} '${text}'`;
  const parts = text.trim().split("-");
  if (parts.length !== 3) {
    throw new UsageError(`${w}: expected ConfAlg-HashAlg-GroupNum, e.g. AES256-SHA256-14`);
  }
  const conf = pickAlg(parts[0] as string, MM_CONF, "encryption algorithm", w, warn);
  const hash = pickAlg(parts[1] as string, MM_HASH, "hash algorithm", w, warn);
  const dhGroup = parseGroup(parts[2] as string, w, warn);
  return { conf, hash, dhGroup };
}

export function parseMmSecMethods(text: string, warn: Warn, where = "mmsecmethods"): MmSecMethod[] {
  const words = text
    .trim()
    .split(/\s+/)
    .filter((s) => s !== "");
  if (words.length === 0) throw new UsageError(`${where}: no security method given`);
  return words.map((w) => parseMmSecMethod(w, warn, where));
}

export function formatMmSecMethod(m: MmSecMethod): string {
  return `${upper(m.conf)}-${upper(m.hash)}-${m.dhGroup}`;
}

export function formatMmSecMethods(ms: readonly MmSecMethod[]): string {
  return ms.map(formatMmSecMethod).join(" ");
}

/**
 * Default quick-mode offers (a negotiate action or the default rule without qmsecmethods):
 * AEAD first (one pass, no separate MAC), then AES-CBC with HMAC-SHA-256 for peers without
 * GCM. Lifetimes are 2003's: 100,000 KB / 3,600 s.
 */
export const DEFAULT_QM_SECMETHODS_TEXT =
  "ESP[AES256GCM,None] ESP[AES128GCM,None] ESP[AES256,SHA256] ESP[AES128,SHA256]";

/**
 * Default main-mode offers: AES-GCM over Curve25519 and ECP-256, then AES-CBC with SHA-256
 * over 2048-bit MODP (group 14, 2003's "DH2048") for peers without elliptic curves.
 */
export const DEFAULT_MM_SECMETHODS_TEXT =
  "AES256GCM-SHA384-31 AES256GCM-SHA384-19 AES256-SHA256-14 AES128-SHA256-14";

const noWarn: Warn = () => undefined;

export function defaultQmSecMethods(): QmSecMethod[] {
  return parseQmSecMethods(DEFAULT_QM_SECMETHODS_TEXT, noWarn);
}

export function defaultMmSecMethods(): MmSecMethod[] {
  return parseMmSecMethods(DEFAULT_MM_SECMETHODS_TEXT, noWarn);
}

/** Why a stored method is not acceptable (refused algorithm, bad shape), or null. */
export function qmSecMethodProblem(m: QmSecMethod): string | null {
  try {
    parseQmSecMethod(formatQmSecMethod(m), noWarn);
    return null;
  } catch (e) {
    return (e as Error).message;
  }
}

export function mmSecMethodProblem(m: MmSecMethod): string | null {
  try {
    parseMmSecMethod(formatMmSecMethod(m), noWarn);
    return null;
  } catch (e) {
    return (e as Error).message;
  }
}
