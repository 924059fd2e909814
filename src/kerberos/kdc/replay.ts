/**
 * Replay protection for TGS requests (RFC 4120 §3.3.2 -> §3.2.3), as MIT's KDC does it:
 *
 *   - a replay cache of TGS-REQ authenticators by their integrity tag (the checksum at the
 *     end of the verified ciphertext, as MIT's k5_rc_tag_from_ciphertext in rc_base.c:
 *     a sender cannot make it without the key), kept for the clock-skew window: a valid
 *     authenticator seen before is KRB_AP_ERR_REPEAT;
 *   - a lookaside cache of replies by the whole request's bytes, for the same window: a
 *     client's UDP retransmission (the same bytes) gets the same reply again instead of
 *     REPEAT. Replaying a request to get its reply gains nothing (it is sealed to the
 *     requester's session key).
 *
 * Both are bounded (oldest entries go first) and expire by the injected clock; they live in
 * the KDC object, not in module state.
 */
import { hash } from "../../crypto/primitives.js";

export interface ExpiringCache<V> {
  get(key: string, nowMs: number): V | undefined;
  set(key: string, value: V, nowMs: number): void;
  readonly size: number;
}

export function createExpiringCache<V>(windowMs: number, maxEntries: number): ExpiringCache<V> {
  const map = new Map<string, { value: V; expires: number }>();
  const evict = (nowMs: number) => {
    for (const [k, e] of map) {
      if (e.expires > nowMs && map.size < maxEntries) break;
      map.delete(k);
    }
  };
  return {
    get(key, nowMs) {
      const e = map.get(key);
      return e && e.expires > nowMs ? e.value : undefined;
    },
    set(key, value, nowMs) {
      evict(nowMs);
      map.delete(key);
      map.set(key, { value, expires: nowMs + windowMs });
    },
    get size() {
      return map.size;
    },
  };
}

/** The cache key of some bytes. */
export function digestKey(bytes: Uint8Array): string {
  return hash("sha256", bytes).toString("base64");
}

/**
 * The bytes themselves as a Map key (one char per byte): equal keys are equal bytes, with
 * no hashing in JS (the lookaside's request key; costs the request's length per entry).
 */
export function bytesKey(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("latin1");
}

/** MIT's replay tag: the last `tagLength` bytes (the integrity tag) of a verified ciphertext. */
export function replayTag(etype: number, cipher: Uint8Array, tagLength: number): string {
  return `${etype}:${bytesKey(cipher.subarray(Math.max(0, cipher.length - tagLength)))}`;
}
