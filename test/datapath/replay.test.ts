import * as assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { createLifetimeTracker, NO_LIMITS } from "../../src/esp/lifetime.js";
import { createReplayWindow } from "../../src/esp/replay.js";
import { MAX_SEQ_32, SEQ_SOFT_MARGIN, type SaRecord, withSeqLimit } from "../../src/esp/sa.js";

/** The naive model: a set of everything accepted, and the highest one. */
function naive(size: number) {
  const seen = new Set<number>();
  let top = 0;
  return {
    offer(seq: number): boolean {
      if (seq === 0 || seen.has(seq) || seq + size <= top) return false;
      seen.add(seq);
      top = Math.max(top, seq);
      return true;
    },
  };
}

describe("RFC 4303 §3.4.3 / RFC 6479 anti-replay window", () => {
  for (const size of [32, 1024, 4096]) {
    it(`window ${size} accepts exactly what a Set-based model accepts (property)`, () => {
      fc.assert(
        fc.property(
          fc.array(
            fc.oneof(fc.integer({ min: 0, max: 3 * size }), fc.integer({ min: 0, max: 200_000 })),
            { minLength: 1, maxLength: 400 },
          ),
          (seqs) => {
            const w = createReplayWindow(size, false);
            const m = naive(size);
            for (const s of seqs) {
              const got = w.check(s);
              if (got !== null) w.accept(got);
              assert.equal(got !== null, m.offer(s), `seq ${s}`);
            }
          },
        ),
        { numRuns: 200 },
      );
    });
  }

  it("a window of 1024 keeps 1023 packets back and drops the 1024th back", () => {
    const w = createReplayWindow(1024, false);
    w.accept(w.check(5000) as number);
    assert.equal(w.check(5000 - 1023), 5000 - 1023);
    assert.equal(w.check(5000 - 1024), null);
    assert.equal(w.check(5000), null);
  });

  it("RFC 4303 Appendix A2.2: ESN infers the high half across a 2^32 wrap", () => {
    const w = createReplayWindow(1024, true);
    w.accept(w.check(2 ** 32 - 5000) as number);
    w.accept(w.check(2 ** 32 - 10) as number);
    assert.equal(w.top(), 2 ** 32 - 10);
    let seq = 2 ** 32;
    for (let i = 0; i < 10; i++) {
      seq += 1;
      const got = w.check(seq % 2 ** 32);
      assert.equal(got, seq);
      w.accept(got as number);
    }
    assert.equal(w.top(), 2 ** 32 + 10);
    // a late packet from before the wrap is placed in the old subspace
    assert.equal(w.check(2 ** 32 - 3), 2 ** 32 - 3);
    assert.equal(w.check(2 ** 32 - 10), null);
  });

  it("the window size must be a multiple of 32", () => {
    assert.throws(() => createReplayWindow(1000, false), /multiple of 32/);
  });
});

describe("RFC 4301 §4.4.2.1 SA lifetimes", () => {
  it("soft limits raise one event, hard limits expire the SA", () => {
    const t = createLifetimeTracker(
      { soft: { bytes: 0, packets: 3, ms: 0 }, hard: { bytes: 0, packets: 5, ms: 0 } },
      0,
    );
    const states = Array.from({ length: 7 }, () => t.onPacket(100, 0));
    assert.deepEqual(states, ["live", "live", "live", "soft", "live", "expired", "expired"]);
  });
  it("byte and time limits", () => {
    const t = createLifetimeTracker(
      { soft: { bytes: 250, packets: 0, ms: 0 }, hard: { ...NO_LIMITS, ms: 1000 } },
      0,
    );
    assert.deepEqual(
      [t.onPacket(100, 0), t.onPacket(100, 0), t.onPacket(100, 0), t.onPacket(100, 0)],
      ["live", "live", "live", "soft"],
    );
    assert.equal(t.onTick(999), "live");
    assert.equal(t.onTick(1000), "expired");
    assert.ok(t.expired());
  });
});

describe("RFC 4303 §3.3.3 sequence-number lifetime", () => {
  it("without ESN the SA expires at 2^32 - 1 packets and asks for a rekey 2^24 before", () => {
    const lt = withSeqLimit({
      esn: false,
      lifetime: { soft: NO_LIMITS, hard: NO_LIMITS },
    } as SaRecord);
    assert.equal(lt.hard.packets, MAX_SEQ_32);
    assert.equal(lt.soft.packets, MAX_SEQ_32 - SEQ_SOFT_MARGIN);
    const esn = withSeqLimit({
      esn: true,
      lifetime: { soft: NO_LIMITS, hard: NO_LIMITS },
    } as SaRecord);
    assert.equal(esn.hard.packets, 0);
  });
});
