/**
 * One writer at a time for the local policy store: a command that changes the store holds
 * `<home>/ipsec/local-store.lock` (created with O_EXCL, holding the writer's pid) from load
 * to save, so two commands run side by side cannot lose each other's change. Atomic replace
 * (store.ts) already keeps readers safe; the lock is only for read-modify-write.
 * A lock whose pid is gone is stale and taken over. Waiting is bounded in time.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { PosternError } from "../errors.js";
import { ensureDir } from "../platform/home.js";

export const LOCK_WAIT_MS = 10_000;
const POLL_MS = 10;

export function storeLockPath(home: string): string {
  return path.join(home, "ipsec", "local-store.lock");
}

function sleepMs(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function holder(file: string): number | null {
  try {
    const pid = Number(fs.readFileSync(file, "utf8").trim());
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

function tryAcquire(file: string): boolean {
  try {
    const fd = fs.openSync(file, "wx", 0o600);
    fs.writeSync(fd, `${process.pid}\n`);
    fs.closeSync(fd);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
    return false;
  }
}

/** Runs `fn` holding the store lock; throws "store-locked" after LOCK_WAIT_MS. */
export function withStoreLock<T>(home: string, fn: () => T, waitMs = LOCK_WAIT_MS): T {
  const file = storeLockPath(home);
  ensureDir(path.dirname(file));
  const deadline = Date.now() + waitMs;
  for (;;) {
    if (tryAcquire(file)) break;
    const pid = holder(file);
    if (pid !== null && pid !== process.pid && !alive(pid)) {
      fs.rmSync(file, { force: true });
      continue;
    }
    if (Date.now() >= deadline) {
      throw new PosternError(
        "store-locked",
        `policy store is locked by ${pid === null ? "another command" : `pid ${pid}`} (${file})`,
      );
    }
    sleepMs(POLL_MS);
  }
  try {
    return fn();
  } finally {
    fs.rmSync(file, { force: true });
  }
}
