/**
 * A bounded slice of the API fuzzing (api-fuzz-core.ts; the long run is bench/fuzz-api.ts):
 * 5,000 requests and admin calls from a fixed seed, none a crash (500) or a hang.
 */
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { tempHome } from "../helpers/cli.js";
import { fuzzApi } from "./api-fuzz-core.js";
import { newDirectory } from "./helpers.js";

describe("the API's request handling under random and mutated input", () => {
  const home = tempHome("pfuzz");
  const dir = newDirectory(home.dir);
  after(() => {
    dir.close();
    home.cleanup();
  });

  it("5,000 inputs (seed 14): answers and typed refusals only, no crash, no hang", async () => {
    const r = await fuzzApi(dir, home.dir, 5000, 14);
    assert.deepEqual(r.crashes.slice(0, 3), []);
    assert.equal(r.hangs, 0);
    assert.ok(r.inputs > 4500, String(r.inputs));
    assert.ok((r.statuses.get(401) ?? 0) > 100, JSON.stringify([...r.statuses]));
  });
});
