/**
 * Whole-store commands: `set store`, `delete all`, `exportpolicy`, `importpolicy`
 * (show store is in show.ts).
 * - `set store location=local|domain [domain=NAME]` persists the choice under
 *   <home>/ipsec/; the domain store answers "no domain controller configured" until postern
 *   has a DC to talk to.
 * - `delete all` deletes every policy, filter list and filter action of the store.
 * - `exportpolicy file=F` writes the store as policy/exportfile.ts describes;
 *   `importpolicy file=F` merges F into the store by GUID (see that file).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { PosternError } from "../../errors.js";
import { exportDocument, mergeImport, parseExportDocument } from "../../policy/exportfile.js";
import { saveStoreLocation } from "../../policy/location.js";
import type { StoreLocation } from "../../policy/model.js";
import { atomicWriteFile } from "../../platform/home.js";
import type { TagSpec } from "../args.js";
import { changeStore, type Ctx, readStore } from "./context.js";
import { keyword, nonEmpty, parseArgs } from "./tags.js";

export const SET_STORE: TagSpec[] = [{ tag: "location", required: true }, { tag: "domain" }];
export const FILE_TAG: TagSpec[] = [{ tag: "file", required: true }];

export function setStore(ctx: Ctx, tokens: string[]): void {
  const p = parseArgs(tokens, SET_STORE, "set store");
  const location = keyword(p, "location", ["local", "domain"] as const) as StoreLocation;
  const domain = nonEmpty(p, "domain") ?? null;
  if (location === "local" && domain !== null) {
    throw new PosternError("usage", "set store: domain= applies to location=domain only", 2);
  }
  saveStoreLocation(ctx.env.home, { location, domain });
  if (location === "domain") {
    ctx.env.err(
      "note: no domain controller configured yet; commands on the domain store will fail until one is",
    );
  }
}

export function deleteAll(ctx: Ctx, tokens: string[]): void {
  if (tokens.length > 0)
    throw new PosternError("usage", `delete all: unexpected '${tokens[0]}'`, 2);
  changeStore(ctx, (store) => {
    store.policies = [];
    store.filterLists = [];
    store.filterActions = [];
  });
}

function fileOf(ctx: Ctx, tokens: string[], command: string): string {
  const p = parseArgs(tokens, FILE_TAG, command);
  return path.resolve(ctx.env.cwd, nonEmpty(p, "file") as string);
}

export function exportPolicy(ctx: Ctx, tokens: string[]): void {
  const file = fileOf(ctx, tokens, "exportpolicy");
  const store = readStore(ctx);
  try {
    atomicWriteFile(file, exportDocument(store, ctx.deps.now()), 0o600);
  } catch (e) {
    throw new PosternError("io", `exportpolicy: cannot write ${file}: ${(e as Error).message}`);
  }
}

export function importPolicy(ctx: Ctx, tokens: string[]): void {
  const file = fileOf(ctx, tokens, "importpolicy");
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (e) {
    throw new PosternError("io", `importpolicy: cannot read ${file}: ${(e as Error).message}`);
  }
  const incoming = parseExportDocument(text, `importpolicy ${file}`);
  changeStore(ctx, (store) => {
    const merged = mergeImport(store, incoming, `importpolicy ${file}`);
    store.filterLists = merged.filterLists;
    store.filterActions = merged.filterActions;
    store.policies = merged.policies;
  });
}
