/**
 * Run by libnftables.test.ts inside a namespace (`ip netns exec NS node nft-child.js FILE`):
 * loads FILE through postern's nft runner, which in a process that runs in its own namespace
 * takes the in-process libnftables path, and prints "ok" or the one-line error. Does nothing
 * without an argument (node --test runs every .js it finds).
 */
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

const file = process.argv[2];
if (file) void main(file);
