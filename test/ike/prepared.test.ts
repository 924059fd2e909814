import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { dhGenerateFast, randomBytes } from "../../src/crypto/primitives.js";
import { createDhPool, createRandomPool } from "../../src/ike/prepared.js";

describe("work prepared ahead of an exchange (src/ike/prepared.ts)", () => {
  it("RFC 7296 §2.12: a prepared DH pair is handed out once, and a new one is prepared when idle", () => {
    const queue: (() => void)[] = [];
    let generated = 0;
    const pool = createDhPool(
      (g) => {
        generated++;
        return dhGenerateFast(g);
      },
      (work) => queue.push(work),
    );
    pool.prepare(31);
    assert.equal(generated, 0, "nothing is generated before the loop is idle");
    queue.shift()?.();
    assert.equal(generated, 1);
    const first = pool.take(31);
    assert.equal(generated, 1, "the prepared pair was taken, not a new one");
    const second = pool.take(31);
    assert.equal(generated, 2, "nothing prepared yet: generated on the spot");
    assert.notDeepEqual(first.publicValue, second.publicValue);
    for (const w of queue.splice(0)) w();
    const third = pool.take(31);
    assert.notDeepEqual(third.publicValue, second.publicValue);
    assert.deepEqual(
      first.computeSecret(second.publicValue),
      second.computeSecret(first.publicValue),
      "prepared pairs agree like fresh ones",
    );
  });

  it("a group that cannot be generated fails where it is taken, not in the idle work", () => {
    const queue: (() => void)[] = [];
    const pool = createDhPool(
      () => {
        throw new RangeError("group 99 is not supported");
      },
      (work) => queue.push(work),
    );
    pool.prepare(99 as 31);
    assert.doesNotThrow(() => queue.shift()?.());
    assert.throws(() => pool.take(99 as 31), /group 99/);
  });

  it("random bytes from the pool are never handed out twice", () => {
    const random = createRandomPool(randomBytes, 256);
    const seen = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const b = random(8 + (i % 25));
      assert.equal(b.length, 8 + (i % 25));
      const hex = b.toString("hex");
      assert.ok(!seen.has(hex));
      seen.add(hex);
    }
    assert.equal(random(1000).length, 1000, "large requests go straight to the source");
  });
});
