/**
 * Stateless cookies (RFC 7296 §2.6):
 *
 *   Cookie = <VersionIDofSecret> | Hash(Ni | IPi | SPIi | <secret>)
 *
 * with HMAC-SHA-256 keyed by the secret as the hash (4 + 32 bytes).
 *
 * The responder keeps no state for a request it answers with N(COOKIE); an initiator that
 * returns the cookie proves it receives at its source address, which a spoofed flood
 * cannot. The secret is replaced every `rotateMs` (lazily, on use); cookies made with the
 * previous secret are still accepted, so an initiator that got one just before a rotation
 * is not turned away.
 */
import { equalConstantTime, hmac } from "../crypto/primitives.js";
import type { Clock } from "./types.js";

export const COOKIE_ROTATE_MS = 300_000;

export interface CookieJar {
  make(ni: Buffer, address: string, spiI: Buffer): Buffer;
  /** True when `cookie` is what make() gives now or gave with the previous secret. */
  check(cookie: Buffer, ni: Buffer, address: string, spiI: Buffer): boolean;
}

interface Secret {
  version: number;
  key: Buffer;
  born: number;
}

export function createCookieJar(
  random: (n: number) => Buffer,
  clock: Clock,
  rotateMs = COOKIE_ROTATE_MS,
): CookieJar {
  let current: Secret = { version: 1, key: random(32), born: clock.now() };
  let previous: Secret | null = null;

  function rotate(): void {
    const age = clock.now() - current.born;
    if (age < rotateMs) return;
    previous = age < 2 * rotateMs ? current : null;
    current = { version: (current.version + 1) >>> 0, key: random(32), born: clock.now() };
  }

  function cookieWith(s: Secret, ni: Buffer, address: string, spiI: Buffer): Buffer {
    const v = Buffer.alloc(4);
    v.writeUInt32BE(s.version);
    return Buffer.concat([v, hmac("sha256", s.key, [ni, Buffer.from(address), spiI])]);
  }

  return {
    make(ni, address, spiI) {
      rotate();
      return cookieWith(current, ni, address, spiI);
    },
    check(cookie, ni, address, spiI) {
      rotate();
      if (cookie.length !== 36) return false;
      const version = cookie.readUInt32BE(0);
      const s =
        version === current.version ? current : version === previous?.version ? previous : null;
      return s !== null && equalConstantTime(cookie, cookieWith(s, ni, address, spiI));
    },
  };
}
