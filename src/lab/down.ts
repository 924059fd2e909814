/**
 * `postern lab down`: undoes what the lab state records, also a half-built lab after a
 * crash: every process of the lab's namespaces (`ip netns pids`, which also finds
 * children the state never saw) and every recorded process that still runs the lab's
 * command line gets SIGTERM, then SIGKILL after 5 s; the namespaces go (their veths and
 * the bridge with them), with the resolv.conf a Samba lab gave a DC's namespace in
 * /etc/netns/; the lab directory is removed.
 */
import * as fs from "node:fs";
import type { CliEnv } from "../cmdline/env.js";
import { run } from "./run.js";
import { removeNetnsResolver } from "./samba.js";
import { type LabState, loadLabState, removeLabState } from "./state.js";

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Whether `pid` is still the process the lab started (not a recycled pid). */
function isOurs(pid: number, s: LabState): boolean {
  try {
    const cmd = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8");
    return cmd.includes(s.dir) || cmd.includes(`${s.id}-`);
  } catch {
    return false;
  }
}

function pidsOf(s: LabState): number[] {
  const pids = new Set<number>();
  for (const ns of s.namespaces) {
    const r = run(null, ["ip", "netns", "pids", ns], { timeoutMs: 5000 });
    for (const t of r.out.split(/\s+/)) if (/^\d+$/.test(t)) pids.add(Number(t));
  }
  for (const p of s.processes) if (isOurs(p.pid, s)) pids.add(p.pid);
  return [...pids];
}

async function stopAll(pids: number[]): Promise<number> {
  for (const pid of pids) {
    try {
      process.kill(pid, "SIGTERM");
    } catch {
      // already gone
    }
  }
  const deadline = Date.now() + 5000;
  while (Date.now() < deadline && pids.some(alive)) await new Promise((r) => setTimeout(r, 50));
  let killed = 0;
  for (const pid of pids.filter(alive)) {
    try {
      process.kill(pid, "SIGKILL");
      killed++;
    } catch {
      // gone meanwhile
    }
  }
  return killed;
}

export async function labDown(env: CliEnv, progress: (l: string) => void): Promise<boolean> {
  const s = loadLabState(env.home);
  if (s === null) {
    progress("lab: nothing to take down (no lab state in this home)");
    return false;
  }
  const pids = pidsOf(s);
  const killed = await stopAll(pids);
  progress(`lab: ${pids.length} processes stopped${killed ? ` (${killed} needed SIGKILL)` : ""}`);
  let gone = 0;
  for (const ns of [...s.namespaces].reverse()) {
    const r = run(null, ["ip", "netns", "del", ns], { timeoutMs: 10_000 });
    removeNetnsResolver(ns);
    if (r.code === 0) gone++;
    else if (!/No such file/.test(r.err)) progress(`lab: ip netns del ${ns}: ${r.err.trim()}`);
  }
  progress(`lab: ${gone} namespaces removed (${s.id}-*)`);
  removeLabState(env.home);
  return true;
}
