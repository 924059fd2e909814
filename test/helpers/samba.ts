/**
 * Stopping a Samba AD DC a test started in its own namespace: SIGTERM to samba (its pid
 * file, else the child), then whatever is left in the namespace is killed after 2 s, the
 * namespace and the test's directory removed.
 */
import { type ChildProcess, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";

export function stopSambaInNetns(
  dir: string | undefined,
  ns: string | undefined,
  samba: ChildProcess | undefined,
): void {
  const pidFile = dir ? path.join(dir, "run", "samba.pid") : "";
  const pid =
    pidFile && fs.existsSync(pidFile)
      ? Number(fs.readFileSync(pidFile, "utf8").trim())
      : samba?.pid;
  if (pid) {
    try {
      process.kill(pid, "SIGTERM");
    } catch {}
  }
  if (ns) {
    for (let i = 0; i < 20; i++) {
      const pids = spawnSync("ip", ["netns", "pids", ns], { encoding: "utf8" })
        .stdout.split(/\s+/)
        .filter(Boolean);
      if (pids.length === 0) break;
      if (i >= 8) for (const p of pids) process.kill(Number(p), "SIGKILL");
      spawnSync("sleep", ["0.25"]);
    }
    spawnSync("ip", ["netns", "del", ns]);
  }
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
}
