/**
 * Long-term keys of accounts.
 * - Computers and krbtgt get random keys, one per enctype they support (default 17 and 18,
 *   DEFAULT_ENCTYPES), all with the same kvno (a reset bumps it). Enctypes (RFC 3962,
 *   RFC 8009): 17 aes128-cts-hmac-sha1-96 and 18 aes256-cts-hmac-sha1-96 (16 and 32 bytes),
 *   19 aes128-cts-hmac-sha256-128 and 20 aes256-cts-hmac-sha384-192 (16 and 32 bytes).
 * - The administrator's keys come from the password through Kerberos string-to-key, which
 *   the Kerberos library provides, injected as a KeyDeriver (string-to-key.ts, in
 *   defaultDeps). The password is also kept as a PBKDF2-SHA256 hash for checks
 *   (`verifyPassword`).
 */
import { equalConstantTime, pbkdf2, randomBytes } from "../crypto/primitives.js";

export const ENCTYPES = [17, 18, 19, 20] as const;
export type Enctype = (typeof ENCTYPES)[number];

/**
 * The enctypes a new account gets keys for: AES-SHA1, AD's default for computers
 * (msDS-SupportedEncryptionTypes 0x18); RFC 8009's 19/20 only when the account asks
 * (`postern domain computer set-enctypes`).
 */
export const DEFAULT_ENCTYPES: readonly Enctype[] = [17, 18];

export const KEY_LENGTH: Readonly<Record<Enctype, number>> = { 17: 16, 18: 32, 19: 16, 20: 32 };

export interface AccountKey {
  etype: number;
  kvno: number;
  key: Uint8Array;
}

/** Kerberos string-to-key for a password and salt, per enctype (filled by the Kerberos library). */
export interface KeyDeriver {
  deriveKeys(
    password: string,
    salt: string,
    etypes: readonly number[],
  ): { etype: number; key: Uint8Array }[];
}

export function randomKeys(
  kvno: number,
  random: (n: number) => Uint8Array = randomBytes,
  etypes: readonly Enctype[] = DEFAULT_ENCTYPES,
): AccountKey[] {
  return etypes.map((etype) => ({ etype, kvno, key: random(KEY_LENGTH[etype]) }));
}

/** AD's salt for a user principal: upper-case realm followed by the account name. */
export function userSalt(realm: string, sam: string): string {
  return `${realm.toUpperCase()}${sam}`;
}

const PBKDF2_ITERATIONS = 100_000;

/** `pbkdf2-sha256$ITER$SALT_B64$HASH_B64`. */
export function hashPassword(
  password: string,
  random: (n: number) => Uint8Array = randomBytes,
): string {
  const salt = random(16);
  const h = pbkdf2("sha256", Buffer.from(password, "utf8"), salt, PBKDF2_ITERATIONS, 32);
  return `pbkdf2-sha256$${PBKDF2_ITERATIONS}$${Buffer.from(salt).toString("base64")}$${h.toString("base64")}`;
}

export function verifyPassword(password: string, stored: string): boolean {
  const [alg, iter, salt, hash] = stored.split("$");
  if (alg !== "pbkdf2-sha256" || !iter || !salt || !hash) return false;
  const h = pbkdf2(
    "sha256",
    Buffer.from(password, "utf8"),
    Buffer.from(salt, "base64"),
    Number(iter),
    32,
  );
  return equalConstantTime(h, Buffer.from(hash, "base64"));
}

/** A password the domain accepts: 8-256 characters, not only blanks. */
export function checkPasswordPolicy(password: string): string | null {
  if (password.length < 8) return "the administrator password needs at least 8 characters";
  if (password.length > 256) return "the administrator password is longer than 256 characters";
  if (password.trim() === "") return "the administrator password is blank";
  return null;
}
