/** Key length checks shared by the AES enctypes: one clear line naming the enctype. */
import { KerberosCryptoError } from "./errors.js";

export function checkKey(key: Uint8Array, keyLength: number, name: string): Uint8Array {
  if (key.length !== keyLength) {
    throw new KerberosCryptoError(
      "bad-key",
      `${name}: key length ${key.length} bytes, expected ${keyLength}`,
    );
  }
  return key;
}

/** random-to-key for AES: the identity on exactly `keyLength` bytes (RFC 3962 §6). */
export function checkRandom(bytes: Uint8Array, keyLength: number, name: string): Uint8Array {
  if (bytes.length !== keyLength) {
    throw new KerberosCryptoError(
      "bad-key",
      `${name}: random-to-key needs ${keyLength} bytes, got ${bytes.length}`,
    );
  }
  return Uint8Array.from(bytes);
}
