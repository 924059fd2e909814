/**
 * The fuzzer's command line (issue 14): every parser that takes network or file input, fed
 * mutated real encodings, checked for crashes (an exception that is not the project's typed
 * error, or a failed round trip) and hangs (an input past the hang bound).
 *
 *   node dist/bench/fuzz.js --target NAME|all [--count N] [--seed S] [--json FILE]
 *   node dist/bench/fuzz.js --target NAME --seed S --replay I     (one input, with its stack)
 *   node dist/bench/fuzz.js --list
 *
 * `all` runs the targets one after another, each in its own child process so that its peak
 * RSS is its own. Prints one table row per target; exit 1 when any crash or hang was found.
 */
import { fork } from "node:child_process";
import * as fs from "node:fs";
import { fileURLToPath } from "node:url";
import { rngFor } from "./fuzz-mutate.js";
import { type FuzzResult, runFuzz } from "./fuzz-runner.js";
import { isExpectedError } from "./fuzz-target.js";
import { TARGET_NAMES, TARGETS } from "./fuzz-targets.js";

interface Args {
  target: string;
  count: number;
  seed: number;
  replay: number | null;
  json: string | null;
  hangMs: number;
  child: boolean;
}

function usage(message: string): never {
  process.stderr.write(
    `fuzz: ${message}\nusage: fuzz.js --target NAME|all [--count N] [--seed S] [--replay I] [--json FILE] [--hang-ms MS]\ntargets: ${TARGET_NAMES.join(", ")}\n`,
  );
  process.exit(2);
}

function parseArgs(argv: string[]): Args {
  const a: Args = {
    target: "",
    count: 10_000,
    seed: 1,
    replay: null,
    json: null,
    hangMs: 5_000,
    child: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    const v = argv[i + 1];
    const num = () => {
      const n = Number(v);
      if (v === undefined || !Number.isSafeInteger(n) || n < 0) usage(`${k} needs a whole number`);
      i++;
      return n;
    };
    if (k === "--target" && v !== undefined) {
      a.target = v;
      i++;
    } else if (k === "--count") a.count = num();
    else if (k === "--seed") a.seed = num();
    else if (k === "--replay") a.replay = num();
    else if (k === "--hang-ms") a.hangMs = num();
    else if (k === "--json" && v !== undefined) {
      a.json = v;
      i++;
    } else if (k === "--child") a.child = true;
    else if (k === "--list") {
      process.stdout.write(`${TARGET_NAMES.join("\n")}\n`);
      process.exit(0);
    } else usage(`unknown argument '${k}'`);
  }
  if (a.target !== "all" && !TARGETS[a.target]) usage(`unknown target '${a.target}'`);
  return a;
}

const HEAD =
  "target        inputs     accepted  rejected  crashes  hangs  slow  max ms  seconds  peak RSS MiB";

function row(r: FuzzResult): string {
  return [
    r.target.padEnd(12),
    String(r.inputs).padStart(8),
    String(r.accepted).padStart(11),
    String(r.rejected).padStart(9),
    String(r.crashes).padStart(8),
    String(r.hangs).padStart(6),
    String(r.slow).padStart(5),
    String(r.maxInputMs).padStart(7),
    String(r.seconds).padStart(8),
    String(r.peakRssMiB).padStart(13),
  ].join(" ");
}

async function replay(a: Args): Promise<number> {
  const factory = TARGETS[a.target];
  if (!factory || a.replay === null) return 2;
  const inst = await factory();
  const input = inst.generate(rngFor(a.seed, a.replay));
  const shown =
    typeof input === "string" ? JSON.stringify(input) : `hex:${Buffer.from(input).toString("hex")}`;
  process.stdout.write(`input ${a.replay} of seed ${a.seed} (${a.target}): ${shown}\n`);
  try {
    const outcome = await inst.run(input);
    process.stdout.write(`outcome: ${outcome}\n`);
    return 0;
  } catch (e) {
    const ok = isExpectedError(e, inst.typedErrors !== false);
    process.stdout.write(
      `${ok ? "typed error (kept the contract)" : "CRASH"}: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`,
    );
    return ok ? 0 : 1;
  } finally {
    await inst.close?.();
  }
}

function inChild(a: Args, target: string): Promise<FuzzResult> {
  return new Promise((resolve, reject) => {
    const args = [
      "--target",
      target,
      "--count",
      String(a.count),
      "--seed",
      String(a.seed),
      "--hang-ms",
      String(a.hangMs),
      "--child",
    ];
    const child = fork(fileURLToPath(import.meta.url), args, {
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    });
    let result: FuzzResult | null = null;
    child.on("message", (m) => {
      result = m as FuzzResult;
    });
    child.on("error", reject);
    child.on("exit", (code) =>
      result ? resolve(result) : reject(new Error(`fuzz child for ${target} exited ${code}`)),
    );
  });
}

async function main(): Promise<number> {
  const a = parseArgs(process.argv.slice(2));
  if (a.replay !== null) return replay(a);
  if (a.child) {
    const started = Date.now();
    const r = await runFuzz({
      target: a.target,
      count: a.count,
      seed: a.seed,
      hangMs: a.hangMs,
      onProgress: (done) =>
        process.stderr.write(
          `  ${a.target}: ${done} inputs after ${Math.round((Date.now() - started) / 1000)} s\n`,
        ),
    });
    process.send?.(r);
    return 0;
  }
  const targets = a.target === "all" ? TARGET_NAMES : [a.target];
  const results: FuzzResult[] = [];
  process.stdout.write(
    `seed ${a.seed}, ${a.count} inputs per target, hang bound ${a.hangMs} ms\n${HEAD}\n`,
  );
  for (const t of targets) {
    const r = await inChild(a, t);
    results.push(r);
    process.stdout.write(`${row(r)}\n`);
    for (const c of r.crashSamples.slice(0, 5))
      process.stdout.write(
        `  crash at input ${c.index}: ${c.signature}\n    input ${c.input.slice(0, 300)}\n`,
      );
    for (const i of r.hangIndexes.slice(0, 5)) process.stdout.write(`  hang at input ${i}\n`);
  }
  if (a.json) fs.writeFileSync(a.json, `${JSON.stringify(results, null, 2)}\n`);
  return results.some((r) => r.crashes > 0 || r.hangs > 0) ? 1 : 0;
}

process.exitCode = await main();
