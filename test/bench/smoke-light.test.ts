/** The benches of smoke-table.ts whose row says file "light", each in smoke mode. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { IS_ROOT } from "../helpers/cli.js";
import { benchEntries, runSmoke, SMOKE_ROWS } from "./smoke-table.js";

describe("bench smoke (light)", () => {
  for (const [name, row] of Object.entries(SMOKE_ROWS).filter(([, r]) => r.file === "light")) {
    it(
      `bench/${name} ${row.args.join(" ")} runs to its result`,
      {
        skip: row.root && !IS_ROOT ? "skipped: needs root" : false,
      },
      () => runSmoke(name),
    );
  }
});

describe("every bench has a smoke row", () => {
  it("bench/ and the smoke table name the same benches", () => {
    assert.deepEqual(benchEntries(), Object.keys(SMOKE_ROWS).sort());
  });
});
