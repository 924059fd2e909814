/**
 * A bounded slice of the fuzzer (bench/fuzz.ts, issue 14) in the test suite: every parser
 * that takes network or file input gets 2,000 mutated real encodings with a fixed seed, in
 * a worker that is stopped on a hang. A crash (an exception that is not the project's typed
 * error, a packet path that throws, an accepted value that does not round-trip, an API 500)
 * or a hang fails the test and names the input's index, which
 * `node dist/bench/fuzz.js --target T --seed 20261206 --replay I` reproduces with its stack.
 * The 1,000,000-input runs and their figures are in docs/security.md ("Fuzzing every parser").
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { runFuzz } from "../../bench/fuzz-runner.js";
import { TARGET_NAMES } from "../../bench/fuzz-targets.js";

const SEED = 20261206;
const COUNT = 2_000;

describe("fuzzing: every network and file parser keeps its contract on mutated real inputs", () => {
  it("covers each parser the issue names", () => {
    for (const t of [
      "ike",
      "esp",
      "ah",
      "der",
      "pac",
      "dns",
      "sddl",
      "netsh",
      "keytab",
      "ccache",
      "api",
    ])
      assert.ok(TARGET_NAMES.includes(t), `target ${t}`);
  });

  for (const target of TARGET_NAMES) {
    it(`${target}: ${COUNT} inputs of seed ${SEED}: no crash, no hang`, async () => {
      const r = await runFuzz({ target, count: COUNT, seed: SEED, hangMs: 10_000, slowMs: 1_000 });
      const detail = r.crashSamples
        .map((c) => `input ${c.index}: ${c.signature}\n  ${c.input.slice(0, 200)}\n  ${c.error}`)
        .join("\n");
      assert.equal(r.crashes, 0, `${r.crashes} crashes:\n${detail}`);
      assert.deepEqual(r.hangIndexes, [], "inputs past the hang bound");
      assert.equal(r.accepted + r.rejected, COUNT);
      // the seeds are real encodings: some mutated inputs must still get through
      assert.ok(r.accepted > 0, `${target}: no input was accepted (the seeds are broken?)`);
    });
  }
});
