/** The benches of smoke-table.ts whose row says file "light", and the table's coverage. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { benchEntries, describeSmoke, SMOKE_ROWS } from "./smoke-table.js";

describeSmoke("light");

describe("every bench has a smoke row", () => {
  it("bench/ and the smoke table name the same benches", () => {
    assert.deepEqual(benchEntries(), Object.keys(SMOKE_ROWS).sort());
  });
});
