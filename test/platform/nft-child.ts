/**
 * Run by libnftables.test.ts inside a namespace (`ip netns exec NS node nft-child.js FILE`):
 * loads FILE through postern's nft runner, which in a process that runs in its own namespace
 * takes the in-process libnftables path, and prints "ok" or the one-line error. Does nothing
 * without an argument (node --test runs every .js it finds).
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import { createNftRunner } from "../../src/platform/commands.js";
import { libNftables } from "../../src/platform/libnftables.js";

async function main(file: string): Promise<void> {
  if (!libNftables()) {
    console.log("no-lib");
    process.exit(2);
  }
  try {
    await createNftRunner().nft(["-f", "-"], fs.readFileSync(file, "utf8"));
    console.log("ok");
  } catch (e) {
    console.log(`error ${(e as { code?: string }).code}: ${(e as Error).message}`);
    process.exit(1);
  }
}

/**
 * `--reuse`: one process, so the calls share kept contexts. Lists the tables, lets the `nft`
 * program add one behind the library's back, lists again (a stale cache would miss it), then
 * makes a call fail and one succeed (the error must not leak into the next call's output).
 * Prints one JSON line.
 */
async function reuse(): Promise<void> {
  const lib = libNftables();
  if (!lib) {
    console.log("no-lib");
    process.exit(2);
  }
  const first = lib.runSync("list tables", false);
  spawnSync("nft", ["add", "table", "inet", "behind_our_back"]);
  const second = await lib.run("list tables", false);
  const third = lib.runSync("list tables", false);
  let failed = "";
  try {
    await lib.run("delete table inet no_such_table", false);
  } catch (e) {
    failed = (e as Error).message;
  }
  const after = await lib.run("list tables", false);
  console.log(JSON.stringify({ first, second, third, failed, after }));
}

const file = process.argv[2];
if (file === "--reuse") void reuse();
else if (file) void main(file);
