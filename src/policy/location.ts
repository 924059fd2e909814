/**
 * Which store `netsh ipsec static` works on (`set store location=local|domain|persistent`), kept in
 * `<home>/ipsec/store-location.json` so the choice survives across commands, as netsh's
 * does within a session. A missing file means "local".
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { PosternError } from "../errors.js";
import { atomicWriteFile } from "../platform/home.js";
import type { StoreLocation } from "./model.js";

export interface StoreLocationRecord {
  location: StoreLocation;
  /** `set store location=domain domain=NAME`; null for the local and persistent stores. */
  domain: string | null;
  /** "ad": the domain store is an Active Directory's (this host joined with --ad). */
  directory?: "ad";
}

export function storeLocationPath(home: string): string {
  return path.join(home, "ipsec", "store-location.json");
}

export function loadStoreLocation(home: string): StoreLocationRecord {
  const file = storeLocationPath(home);
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return { location: "local", domain: null };
    throw new PosternError("store", `cannot read ${file}: ${(e as Error).message}`);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    throw new PosternError("store", `${file}: not valid JSON`);
  }
  const r = data as Partial<StoreLocationRecord>;
  if (
    typeof r !== "object" ||
    r === null ||
    (r.location !== "local" && r.location !== "domain" && r.location !== "persistent")
  ) {
    throw new PosternError(
      "store",
      `${file}: location: expected "local", "domain" or "persistent"`,
    );
  }
  if (r.domain !== null && typeof r.domain !== "string") {
    throw new PosternError("store", `${file}: domain: expected a string or null`);
  }
  return {
    location: r.location,
    domain: r.domain ?? null,
    ...(r.directory === "ad" ? { directory: "ad" as const } : {}),
  };
}

export function saveStoreLocation(home: string, rec: StoreLocationRecord): void {
  atomicWriteFile(storeLocationPath(home), `${JSON.stringify(rec, null, 2)}\n`, 0o644);
}
