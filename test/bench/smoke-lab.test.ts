/** The benches of smoke-table.ts whose row says file "lab", each in smoke mode. */
import { describe, it } from "node:test";
import { IS_ROOT } from "../helpers/cli.js";
import { runSmoke, SMOKE_ROWS } from "./smoke-table.js";

describe("bench smoke (lab)", () => {
  for (const [name, row] of Object.entries(SMOKE_ROWS).filter(([, r]) => r.file === "lab")) {
    it(
      `bench/${name} ${row.args.join(" ")} runs to its result`,
      {
        skip: row.root && !IS_ROOT ? "skipped: needs root" : false,
      },
      () => runSmoke(name),
    );
  }
});
