/** The benches of smoke-table.ts whose row says file "lab2", each in smoke mode. */
import { describe, it } from "node:test";
import { IS_ROOT } from "../helpers/cli.js";
import { runSmoke, SMOKE_ROWS } from "./smoke-table.js";

describe("bench smoke (lab2)", () => {
  for (const [name, row] of Object.entries(SMOKE_ROWS).filter(([, r]) => r.file === "lab2")) {
    it(
      `bench/${name} ${row.args.join(" ")} runs to its result`,
      {
        skip: row.root && !IS_ROOT ? "skipped: needs root" : false,
      },
      () => runSmoke(name),
    );
  }
});
