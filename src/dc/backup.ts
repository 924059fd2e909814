/**
 * Backup and restore of the directory.
 * - backup: SQLite's online backup API (better-sqlite3 `db.backup`), through the running DC
 *   when there is one, so the copy is a consistent snapshot while changes go on; then the
 *   copy is checked with `PRAGMA integrity_check`. The file holds every key, krbtgt's too:
 *   it is created new (never over an existing file or a symlink), mode 0600 whatever the
 *   umask, before a byte is written into it.
 * - restore: only with the DC stopped; the file must pass integrity_check and hold a domain
 *   of a schema this postern reads; it replaces directory.db atomically (the old -wal and
 *   -shm files are removed first, so no stale log is replayed over the restored copy).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { dcDir, dbPath } from "./paths.js";
import { DirectoryError } from "./errors.js";
import { SCHEMA_VERSION, schemaVersion } from "./schema.js";
import { openSqlite, type SqliteDatabase } from "./sqlite.js";

/** An online copy of `db` into the new file `file`, mode 0600. */
export async function backupDatabase(db: SqliteDatabase, file: string): Promise<void> {
  // O_EXCL with mode 0600: SQLite then writes into a file only its owner can read.
  fs.closeSync(fs.openSync(file, "wx", 0o600));
  try {
    await db.backup(file);
    fs.chmodSync(file, 0o600);
  } catch (e) {
    fs.rmSync(file, { force: true });
    throw e;
  }
}

/** Checks a database file: integrity, schema version, a domain row. Returns the domain name. */
export function checkDatabaseFile(file: string): string {
  let db: ReturnType<typeof openSqlite>;
  try {
    db = openSqlite(file, { readonly: true, fileMustExist: true });
  } catch (e) {
    throw new DirectoryError(
      "dc.backup",
      `${file}: cannot open as SQLite: ${(e as Error).message}`,
    );
  }
  try {
    const ok = db.pragma("integrity_check", { simple: true });
    if (ok !== "ok")
      throw new DirectoryError("dc.backup", `${file}: integrity check failed: ${String(ok)}`);
    const v = schemaVersion(db);
    if (v < 1 || v > SCHEMA_VERSION)
      throw new DirectoryError(
        "dc.backup",
        `${file}: not a postern directory of schema 1-${SCHEMA_VERSION} (found ${v})`,
      );
    const row = db.prepare("SELECT dns_name FROM domain WHERE id = 1").get() as
      | { dns_name: string }
      | undefined;
    if (!row) throw new DirectoryError("dc.backup", `${file}: holds no domain`);
    return row.dns_name;
  } catch (e) {
    if (e instanceof DirectoryError) throw e;
    throw new DirectoryError(
      "dc.backup",
      `${file}: not a postern directory: ${(e as Error).message}`,
    );
  } finally {
    db.close();
  }
}

export function restoreDirectory(home: string, file: string): string {
  const domain = checkDatabaseFile(file);
  const target = dbPath(home);
  fs.mkdirSync(dcDir(home), { recursive: true, mode: 0o700 });
  const tmp = path.join(dcDir(home), `.restore.${process.pid}.tmp`);
  fs.copyFileSync(file, tmp);
  fs.chmodSync(tmp, 0o600);
  const fd = fs.openSync(tmp, "r+");
  fs.fsyncSync(fd);
  fs.closeSync(fd);
  fs.rmSync(`${target}-wal`, { force: true });
  fs.rmSync(`${target}-shm`, { force: true });
  fs.renameSync(tmp, target);
  return domain;
}
