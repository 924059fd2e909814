/**
 * The local IPsec policy store: `<home>/ipsec/local-store.json`, one JSON document holding a
 * PolicyStore, replaced atomically on every change (never half-written). A missing file is
 * an empty store. A file that does not parse, or does not validate deeply (validate.ts),
 * gives one clear error naming the field, and is left untouched. The persistent store
 * (`set store location=persistent`) is the same in `<home>/ipsec/persistent-store.json`,
 * and so is the dynamic store (`<home>/ipsec/dynamic-store.json`: ipseccmd's dynamic mode,
 * volatile: the agent removes it when it starts, see removeDynamicStore).
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

export function persistentStorePath(home: string): string {
  return path.join(home, "ipsec", "persistent-store.json");
}

export function dynamicStorePath(home: string): string {
  return path.join(home, "ipsec", "dynamic-store.json");
}

export function loadLocalStore(home: string): PolicyStore {
  return loadStoreFile(localStorePath(home));
}

export function loadPersistentStore(home: string): PolicyStore {
  return loadStoreFile(persistentStorePath(home));
}

export function loadDynamicStore(home: string): PolicyStore {
  return loadStoreFile(dynamicStorePath(home));
}

function loadStoreFile(file: string): PolicyStore {
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

export function savePersistentStore(home: string, store: PolicyStore): void {
  atomicWriteFile(persistentStorePath(home), `${JSON.stringify(store, null, 2)}\n`, 0o600);
}

export function saveDynamicStore(home: string, store: PolicyStore): void {
  atomicWriteFile(dynamicStorePath(home), `${JSON.stringify(store, null, 2)}\n`, 0o600);
}

/**
 * Removes the dynamic store (call it under the store lock, or where no writer runs: the
 * agent's start). Windows' dynamic policy lives in the running IPsec service and is lost
 * when it stops; here the file outlives the agent, so the next agent deletes it.
 * Returns whether there was one.
 */
export function removeDynamicStore(home: string): boolean {
  const file = dynamicStorePath(home);
  if (!fs.existsSync(file)) return false;
  fs.rmSync(file, { force: true });
  return true;
}
