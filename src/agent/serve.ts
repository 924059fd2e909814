/**
 * The agent's life after setup: the control socket (the typed commands of
 * control/protocol.ts), SIGUSR1 -> stats file, the 10-second drop summary, "agent: ready",
 * then wait for SIGTERM/SIGINT and clean up.
 */
import * as fs from "node:fs";
import type { CliEnv } from "../cmdline/env.js";
import type { DataPathStats } from "../datapath/engine.js";
import { atomicWriteFile } from "../platform/home.js";
import { type ControlHandler, startControlServer } from "../control/socket.js";
import type { LogLevel } from "../platform/log.js";
import { notifySystemd } from "../platform/sd-notify.js";
import { createDropSummary, DROP_LOG_MS } from "./drop-log.js";

export interface ServeOptions {
  env: CliEnv;
  paths: { sock: string; stats: string };
  /** The raw snapshot SIGUSR1 writes (the `stats` command's answer). */
  snapshot: () => unknown;
  control: ControlHandler;
  dropStats: () => DataPathStats;
  ready: string;
  cleanup: () => Promise<void>;
  /** The agent's log (levels, journald, JSON); absent: "agent: LINE" on env.out. */
  log?: (line: string, level?: LogLevel) => void;
}

export async function serveAgent(o: ServeOptions): Promise<void> {
  const log = o.log ?? ((l: string) => o.env.out(`agent: ${l}`));
  let server: Awaited<ReturnType<typeof startControlServer>>;
  try {
    server = await startControlServer(o.paths.sock, o.control);
  } catch (e) {
    await o.cleanup();
    throw e;
  }
  const writeStats = () =>
    atomicWriteFile(o.paths.stats, `${JSON.stringify(o.snapshot(), null, 2)}\n`, 0o600);
  process.on("SIGUSR1", writeStats);
  const dropSummary = createDropSummary();
  const dropLog = setInterval(() => {
    const line = dropSummary.next(o.dropStats());
    if (line !== null) log(line, "warning");
  }, DROP_LOG_MS);
  log(o.ready);
  notifySystemd(`READY=1\nSTATUS=${o.ready}\nMAINPID=${process.pid}`, o.env.vars, log);
  await new Promise<void>((resolve) => {
    process.once("SIGTERM", () => resolve());
    process.once("SIGINT", () => resolve());
  });
  notifySystemd("STOPPING=1", o.env.vars, log);
  process.off("SIGUSR1", writeStats);
  clearInterval(dropLog);
  writeStats();
  server.close();
  await o.cleanup();
  fs.rmSync(o.paths.sock, { force: true });
  o.env.out("agent: stopped");
}
