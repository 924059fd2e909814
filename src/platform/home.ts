/**
 * Where postern keeps its state (`<home>`), and the one way files are written: atomic
 * replace (write a temporary file in the same directory, fsync it, rename it over the old
 * one, fsync the directory), so a crash leaves either the old file or the new one, never
 * half of either.
 */
import * as fs from "node:fs";
import * as path from "node:path";

export const DEFAULT_HOME = "/var/lib/postern";

/** `--home DIR` wins over `POSTERN_HOME`, which wins over the default. */
export function resolveHome(flag: string | undefined, envValue: string | undefined): string {
  return path.resolve(flag ?? envValue ?? DEFAULT_HOME);
}

export function ensureDir(dir: string, mode = 0o755): void {
  fs.mkdirSync(dir, { recursive: true, mode });
}

export function atomicWriteFile(file: string, data: string | Uint8Array, mode = 0o644): void {
  const dir = path.dirname(file);
  ensureDir(dir);
  const unique = `${process.pid}.${Date.now().toString(36)}.${Math.random().toString(36).slice(2)}`;
  const tmp = path.join(dir, `.${path.basename(file)}.${unique}.tmp`);
  const fd = fs.openSync(tmp, "w", mode);
  try {
    fs.writeSync(fd, typeof data === "string" ? Buffer.from(data, "utf8") : data);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  try {
    fs.renameSync(tmp, file);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw e;
  }
  const dfd = fs.openSync(dir, "r");
  try {
    fs.fsyncSync(dfd);
  } finally {
    fs.closeSync(dfd);
  }
}

/**
 * atomicWriteFile with its writes and fsyncs in libuv's thread pool, for callers on a hot
 * path (the agent's ticket cache): the event loop keeps running during the two fsyncs
 * (1-16 ms each measured on the lab machine's ext4).
 */
export async function atomicWriteFileAsync(
  file: string,
  data: string | Uint8Array,
  mode = 0o644,
): Promise<void> {
  const dir = path.dirname(file);
  await fs.promises.mkdir(dir, { recursive: true, mode: 0o755 });
  const unique = `${process.pid}.${Date.now().toString(36)}.${Math.random().toString(36).slice(2)}`;
  const tmp = path.join(dir, `.${path.basename(file)}.${unique}.tmp`);
  const fh = await fs.promises.open(tmp, "w", mode);
  try {
    await fh.writeFile(typeof data === "string" ? Buffer.from(data, "utf8") : data);
    await fh.sync();
  } finally {
    await fh.close();
  }
  try {
    await fs.promises.rename(tmp, file);
  } catch (e) {
    await fs.promises.rm(tmp, { force: true });
    throw e;
  }
  const dh = await fs.promises.open(dir, "r");
  try {
    await dh.sync();
  } finally {
    await dh.close();
  }
}
