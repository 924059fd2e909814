/**
 * Fuzzing of the DC API's request handling, the long run (issue 14): N inputs (default
 * 1,000,000) from a seed through route() and runNetworkAdminOp() (test/dc/api-fuzz-core.ts),
 * against a throwaway directory. Prints inputs, crashes, hangs, peak RSS and the outcomes;
 * exits 1 on any crash or hang. Results in docs/security.md.
 *   node dist/bench/fuzz-api.js [N] [SEED]
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fuzzApi } from "../test/dc/api-fuzz-core.js";
import { newDirectory } from "../test/dc/helpers.js";

const n = Number(process.argv[2] ?? 1_000_000);
const seed = Number(process.argv[3] ?? 1);
const home = fs.mkdtempSync(path.join(os.tmpdir(), "postern-fuzz-api-"));
const dir = newDirectory(home);
try {
  const t0 = Date.now();
  const r = await fuzzApi(dir, home, n, seed);
  const s = (Date.now() - t0) / 1000;
  console.log(`API fuzz, seed ${seed}: ${r.inputs} inputs in ${s.toFixed(0)} s`);
  console.log(
    `crashes ${r.crashes.length}, hangs ${r.hangs}, peak RSS ${r.peakRssMb.toFixed(0)} MB`,
  );
  console.log(`outcomes: ${[...r.statuses].map(([k, v]) => `${k} ${v}`).join(", ")}`);
  for (const c of r.crashes.slice(0, 5)) console.log(`crash: ${c.error}\n  input: ${c.input}`);
  process.exitCode = r.crashes.length > 0 || r.hangs > 0 ? 1 : 0;
} finally {
  dir.close();
  fs.rmSync(home, { recursive: true, force: true });
}
