/** Loads the JSON vectors under test/vectors/ (they are not compiled into dist/). */
import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";

// dist/test/kerberos-crypto/load-vectors.js -> repository root is three levels up.
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");

export function loadVectors<T>(rel: string): T {
  return JSON.parse(fs.readFileSync(path.join(ROOT, "test/vectors", rel), "utf8")) as T;
}

export const hex = (s: string): Buffer => Buffer.from(s, "hex");
export const toHex = (b: Uint8Array): string => Buffer.from(b).toString("hex");
