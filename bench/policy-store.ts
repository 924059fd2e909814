/**
 * Policy store load time: a store with 10, 1,000 and 10,000 filters is built in code, saved
 * with saveLocalStore, and loaded back with loadLocalStore (read + JSON.parse + deep
 * validation, validate.ts). The peer is JSON.parse of the same file text alone (the floor
 * any JSON store pays); the ratio says what validation costs on top.
 *
 * Run: npx tsc -p . && node dist/bench/policy-store.js [--smoke]
 * Bounded: each measurement repeats at most 40 times or 2 s, and reports the median.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { performance } from "node:perf_hooks";
import { defaultDefaultRule } from "../src/policy/defaults.js";
import type { Filter, FilterList, PolicyStore } from "../src/policy/model.js";
import { defaultMmSecMethods, defaultQmSecMethods } from "../src/policy/secmethods.js";
import { loadLocalStore, localStorePath, saveLocalStore } from "../src/policy/store.js";
import { sized } from "./smoke.js";

const SIZES = sized([10, 1_000, 10_000], [10, 100]);
const MAX_RUNS = sized(40, 3);
const MAX_MS = sized(2_000, 100);

function guid(n: number): string {
  const h = n.toString(16).padStart(12, "0");
  return `00000000-0000-4000-8000-${h}`;
}

function filter(i: number): Filter {
  const a = 10 * 2 ** 24 + i;
  const ip = [24, 16, 8, 0].map((s) => (a >>> s) & 255).join(".");
  return {
    description: `filter ${i}`,
    src: i % 3 === 0 ? { kind: "any" } : { kind: "subnet", address: ip, prefix: 32, family: 4 },
    dst: { kind: "me" },
    protocol: 6,
    srcPort: 0,
    dstPort: 1 + (i % 65535),
    mirrored: true,
  };
}

/** N filters spread over up to 10 filter lists, one rule per list in one assigned policy. */
export function buildStore(n: number): PolicyStore {
  const lists = Math.min(10, n);
  const now = new Date(0).toISOString();
  const filterLists: FilterList[] = [];
  for (let l = 0; l < lists; l++) {
    const filters: Filter[] = [];
    for (let i = l; i < n; i += lists) filters.push(filter(i));
    filterLists.push({
      guid: guid(1 + l),
      name: `list ${l}`,
      description: "",
      filters,
      lastModified: now,
    });
  }
  const action = {
    guid: guid(100),
    name: "sign",
    description: "",
    action: "negotiate" as const,
    qmPfs: false,
    inpass: false,
    soft: false,
    qmSecMethods: defaultQmSecMethods(),
    lastModified: now,
  };
  const rules = filterLists.map((fl, i) => ({
    id: i + 1,
    guid: guid(200 + i),
    name: `rule ${i}`,
    description: "",
    filterList: fl.guid,
    filterAction: action.guid,
    tunnel: null,
    connType: "all" as const,
    active: true,
    auth: [{ kind: "kerberos" as const }],
    lastModified: now,
  }));
  const policy = {
    guid: guid(300),
    name: "bench",
    description: "",
    mmPfs: false,
    qmPerMm: 0,
    mmLifetimeMin: 480,
    activateDefaultRule: true,
    pollingIntervalMin: 180,
    assigned: true,
    mmSecMethods: defaultMmSecMethods(),
    rules,
    defaultRule: defaultDefaultRule(),
    lastModified: now,
  };
  return { version: 1, filterLists, filterActions: [action], policies: [policy] };
}

function median(fn: () => void): number {
  const times: number[] = [];
  const start = performance.now();
  while (times.length < MAX_RUNS && performance.now() - start < MAX_MS) {
    const t0 = performance.now();
    fn();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)] as number;
}

function main(): void {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), "postern-bench-store-"));
  try {
    const rows: string[][] = [];
    for (const n of SIZES) {
      saveLocalStore(home, buildStore(n));
      const file = localStorePath(home);
      const bytes = fs.statSync(file).size;
      const loaded = loadLocalStore(home);
      const count = loaded.filterLists.reduce((s, f) => s + f.filters.length, 0);
      if (count !== n) throw new Error(`loaded ${count} filters, expected ${n}`);
      const load = median(() => loadLocalStore(home));
      const parse = median(() => JSON.parse(fs.readFileSync(file, "utf8")));
      rows.push([
        n.toLocaleString("en-US"),
        `${(bytes / 1024).toFixed(1)} KiB`,
        load.toFixed(2),
        parse.toFixed(2),
        (load / parse).toFixed(1),
      ]);
    }
    const head = ["filters", "file size", "load+validate ms", "read+JSON.parse ms (peer)", "ratio"];
    const widths = head.map((h, i) =>
      Math.max(h.length, ...rows.map((r) => (r[i] as string).length)),
    );
    const line = (cells: string[]) =>
      `| ${cells.map((c, i) => c.padStart(widths[i] as number)).join(" | ")} |`;
    console.log(line(head));
    console.log(`|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`);
    for (const r of rows) console.log(line(r));
  } finally {
    fs.rmSync(home, { recursive: true, force: true });
  }
}

main();
