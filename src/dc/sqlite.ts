/**
 * The typed face of better-sqlite3 (12.x) that the directory uses. The package ships no
 * TypeScript types and we add no @types package: this file declares the few methods we call
 * and loads the CommonJS module through createRequire.
 */
import * as fs from "node:fs";
import { createRequire } from "node:module";

export interface RunResult {
  changes: number;
  lastInsertRowid: number | bigint;
}

export interface Statement {
  run(...params: unknown[]): RunResult;
  get(...params: unknown[]): unknown;
  all(...params: unknown[]): unknown[];
}

export interface SqliteDatabase {
  readonly open: boolean;
  readonly inTransaction: boolean;
  prepare(sql: string): Statement;
  exec(sql: string): SqliteDatabase;
  pragma(sql: string, options?: { simple?: boolean }): unknown;
  transaction<A extends unknown[], R>(fn: (...args: A) => R): (...args: A) => R;
  backup(destination: string): Promise<{ totalPages: number; remainingPages: number }>;
  close(): void;
}

export interface OpenOptions {
  readonly?: boolean;
  fileMustExist?: boolean;
  timeout?: number;
}

type DatabaseConstructor = new (file: string, options?: OpenOptions) => SqliteDatabase;

/**
 * Opens (or creates) a database. A file it creates is 0600 whatever the umask: it holds
 * keys (SQLite gives its -wal, -shm and -journal files the mode of the database file).
 */
export function openSqlite(file: string, options: OpenOptions = {}): SqliteDatabase {
  if (!options.readonly && !options.fileMustExist && file !== "" && !file.startsWith(":"))
    fs.closeSync(fs.openSync(file, "a", 0o600));
  const require = createRequire(import.meta.url);
  const Database = require("better-sqlite3") as DatabaseConstructor;
  return new Database(file, options);
}
