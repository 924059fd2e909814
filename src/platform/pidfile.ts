/**
 * Pid files that name a process, not just a number: `PID STARTTIME\n`, where STARTTIME is
 * field 22 of /proc/PID/stat (clock ticks after boot). A pid file names a live owner only
 * if that pid runs and started at that time, so a stale file whose pid was reused by an
 * unrelated process (after `kill -9` and a reboot) no longer looks like a running daemon.
 *
 *   claimPidFile(file)   fails with the owner's pid if a live owner holds it, else writes
 *                        ours (created exclusively: two starters cannot both win)
 *   pidFileOwner(file)   the live owner's pid, or null
 *   releasePidFile(file) removes it if it is ours
 */
import * as fs from "node:fs";

/** Field 22 of /proc/PID/stat (after the parenthesised command, which may hold spaces). */
export function processStartTime(pid: number): string | null {
  let stat: string;
  try {
    stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return null;
  }
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // fields[0] is field 3 (state), so field 22 is fields[19].
  return fields[19] ?? null;
}

function parse(text: string): { pid: number; start: string | undefined } | null {
  const [p, start] = text.trim().split(/\s+/);
  const pid = Number(p);
  return Number.isSafeInteger(pid) && pid > 0 ? { pid, start } : null;
}

/** The pid of the live process the file names, or null (no file, no process, or another one). */
export function pidFileOwner(file: string): number | null {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch {
    return null;
  }
  const rec = parse(text);
  if (!rec) return null;
  const start = processStartTime(rec.pid);
  if (start === null) return null;
  // A file of the old format (a pid alone) is stale unless the process is a postern.
  if (rec.start === undefined) return isPostern(rec.pid) ? rec.pid : null;
  return start === rec.start ? rec.pid : null;
}

function isPostern(pid: number): boolean {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").includes("postern");
  } catch {
    return false;
  }
}

export class PidFileHeld extends Error {
  constructor(readonly pid: number) {
    super(`held by pid ${pid}`);
    this.name = "PidFileHeld";
  }
}

/** Writes `PID STARTTIME` of this process; throws PidFileHeld if a live owner holds the file. */
export function claimPidFile(file: string, mode = 0o644): void {
  const line = `${process.pid} ${processStartTime(process.pid) ?? ""}\n`;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      fs.writeFileSync(file, line, { flag: "wx", mode });
      return;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
    }
    const owner = pidFileOwner(file);
    if (owner !== null && owner !== process.pid) throw new PidFileHeld(owner);
    fs.rmSync(file, { force: true });
  }
  throw new PidFileHeld(pidFileOwner(file) ?? 0);
}

/** Removes the file if it names this process. */
export function releasePidFile(file: string): void {
  if (pidFileOwner(file) === process.pid) fs.rmSync(file, { force: true });
}
