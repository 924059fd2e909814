/**
 * The local IPsec policy store: `<home>/ipsec/local-store.json`, one JSON document holding a
 * PolicyStore, replaced atomically on every change (never half-written). A missing file is
 * an empty store. A file that does not parse, or does not validate deeply (validate.ts),
 * gives one clear error naming the field, and is left untouched.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { PosternError } from "../errors.js";
import { atomicWriteFile } from "../platform/home.js";
import { emptyStore, type PolicyStore } from "./model.js";
import { validateStore } from "./validate.js";

export function localStorePath(home: string): string {
  return path.join(home, "ipsec", "local-store.json");
}

export function loadLocalStore(home: string): PolicyStore {
  const file = localStorePath(home);
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return emptyStore();
    throw new PosternError("store", `cannot read policy store ${file}: ${(e as Error).message}`);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw new PosternError(
      "store",
      `policy store ${file} is not valid JSON: ${(e as Error).message}`,
    );
  }
  return validateStore(data, `policy store ${file}`);
}

export function saveLocalStore(home: string, store: PolicyStore): void {
  atomicWriteFile(localStorePath(home), `${JSON.stringify(store, null, 2)}\n`, 0o600);
}
