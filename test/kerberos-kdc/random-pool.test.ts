/**
 * The KDC's pooled randomness (src/kerberos/kdc/random-pool.ts) with node's CSPRNG as the
 * source, which returns Buffers: every value handed out is random (not the zeros the pool
 * leaves behind), distinct, and survives the pool's refill.
 */
import assert from "node:assert/strict";
import { it } from "node:test";
import { randomBytes } from "../../src/crypto/primitives.js";
import { createRandomPool } from "../../src/kerberos/kdc/random-pool.js";

it("pooled random bytes from a Buffer source are copies: never zeroed, never repeated", () => {
  const random = createRandomPool(randomBytes, 256);
  const handed: Uint8Array[] = [];
  for (let i = 0; i < 100; i++) handed.push(random(32));
  const seen = new Set<string>();
  for (const b of handed) {
    assert.equal(b.length, 32);
    const hex = Buffer.from(b).toString("hex");
    assert.notEqual(hex, "00".repeat(32), "a session key of zeros");
    assert.ok(!seen.has(hex), "a value handed out twice");
    seen.add(hex);
  }
});
