/** Property: merged scope intervals admit exactly the addresses the raw list admits. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { type AddrInterval, inIntervals, mergeIntervals } from "../../src/firewall/scope.js";

const interval = fc
  .tuple(fc.integer({ min: 0, max: 300 }), fc.integer({ min: 0, max: 40 }))
  .map(([from, len]): AddrInterval => ({ family: 4, from: BigInt(from), to: BigInt(from + len) }));

describe("scope intervals (what nft gets) against the naive list", () => {
  it("property: merge keeps membership, and the result is sorted and disjoint", () => {
    fc.assert(
      fc.property(
        fc.array(interval, { maxLength: 12 }),
        fc.array(fc.integer({ min: 0, max: 360 }), { maxLength: 30 }),
        (ivs, points) => {
          const merged = mergeIntervals(ivs);
          for (const p of points) {
            const ip = { family: 4 as const, value: BigInt(p) };
            assert.equal(inIntervals(ip, merged), inIntervals(ip, ivs));
          }
          for (let i = 1; i < merged.length; i++) {
            assert.ok((merged[i] as AddrInterval).from > (merged[i - 1] as AddrInterval).to + 1n);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
