/**
 * The postern side of bench/ike.ts, run inside the initiator's namespace. For each line
 * "setup" on stdin it runs one IKE_SA + child SA setup against the responder, timed from
 * initiate() to the child SA handed over, deletes the IKE SA, and prints the time in ms on
 * one stdout line ("error ..." on failure). EOF on stdin ends it.
 *
 *   node dist/bench/ike-worker.js PEERFILE [--trace]   (--trace: timed IKE log on stderr)
 */
import * as fs from "node:fs";
import { performance } from "node:perf_hooks";
import * as readline from "node:readline";
import { parsePeerFile } from "../src/ike/config.js";
import { startIkePeer } from "../src/ike/runner.js";

async function main(): Promise<void> {
  const [file, trace] = process.argv.slice(2);
  const peer = parsePeerFile(fs.readFileSync(file!, "utf8"), file!);
  let onChild: (() => void) | null = null;
  let onClosed: (() => void) | null = null;
  const runner = await startIkePeer([peer], peer.localAddress, {
    log:
      trace === "--trace"
        ? (l) => process.stderr.write(`${performance.now().toFixed(2)} ${l}\n`)
        : () => undefined,
    onChildSa: () => onChild?.(),
    onChildSaDeleted: () => undefined,
    onIkeSaState: (_p, _s, state) => {
      if (state === "closed") onClosed?.();
    },
  });
  const one = async (): Promise<number> => {
    const up = new Promise<void>((r, j) => {
      onChild = r;
      setTimeout(() => j(new Error("setup timed out")), 10_000).unref();
    });
    const t0 = performance.now();
    runner.engine.initiate(peer.name);
    await up;
    const dt = performance.now() - t0;
    const down = new Promise<void>((r) => {
      onClosed = r;
      setTimeout(r, 5_000).unref();
    });
    const sa = runner.engine.sas().find((s) => s.state === "established");
    if (sa) runner.engine.deleteIkeSa(sa.spis);
    await down;
    return dt;
  };
  process.stdout.write("ready\n");
  for await (const line of readline.createInterface({ input: process.stdin })) {
    if (line.trim() !== "setup") continue;
    try {
      process.stdout.write(`${(await one()).toFixed(3)}\n`);
    } catch (e) {
      process.stdout.write(`error ${(e as Error).message}\n`);
    }
  }
  await runner.close();
}

main().catch((e: Error) => {
  process.stderr.write(`ike-worker: ${e.message}\n`);
  process.exit(1);
});
