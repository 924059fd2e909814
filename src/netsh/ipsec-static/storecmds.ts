/**
 * Whole-store commands: `set store`, `delete all`, `exportpolicy`, `importpolicy`
 * (show store is in show.ts).
 * - `set store location=local|domain|persistent [domain=NAME]` persists the choice under
 *   <home>/ipsec/; location=domain needs a DC home (backend.ts) and domain= must name its
 *   domain; location=persistent is this host's persistent store (policy/effective.ts).
 * - `delete all` deletes every policy, filter list and filter action of the store.
 * - `exportpolicy file=F` writes the store as policy/exportfile.ts describes, into an
 *   existing directory only (a missing one is refused, not created);
 *   `importpolicy file=F` merges F into the store by GUID (see that file).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { DomainInfo } from "../../dc/directory.js";
import { adminCall } from "../../dc/admin/client.js";
import { PosternError } from "../../errors.js";
import { exportDocument, mergeImport, parseExportDocument } from "../../policy/exportfile.js";
import { saveStoreLocation } from "../../policy/location.js";
import type { StoreLocation } from "../../policy/model.js";
import { atomicWriteFile } from "../../platform/home.js";
import type { TagSpec } from "../args.js";
import { adMember } from "./ad-member.js";
import { requireDcHome } from "./backend.js";
import { changeStore, type Ctx, readStore } from "./context.js";
import { keyword, nonEmpty, parseArgs } from "./tags.js";

export const SET_STORE: TagSpec[] = [{ tag: "location", required: true }, { tag: "domain" }];
export const FILE_TAG: TagSpec[] = [{ tag: "file", required: true }];

/** `domain=NAME` must name this DC's domain (DNS or NetBIOS name, any case). */
async function checkDomainName(ctx: Ctx, name: string | null): Promise<string> {
  const d = (await adminCall(ctx.env, "domain.show")).result as DomainInfo;
  if (name !== null && ![d.dnsName, d.netbios].some((n) => n.toLowerCase() === name.toLowerCase()))
    throw new PosternError(
      "no-dc",
      `set store: this DC serves ${d.dnsName} (${d.netbios}), not '${name}'`,
    );
  return d.dnsName;
}

export async function setStore(ctx: Ctx, tokens: string[]): Promise<void> {
  const p = parseArgs(tokens, SET_STORE, "set store");
  const location = keyword(p, "location", [
    "local",
    "domain",
    "persistent",
  ] as const) as StoreLocation;
  const domain = nonEmpty(p, "domain") ?? null;
  if (location !== "domain" && domain !== null) {
    throw new PosternError("usage", "set store: domain= applies to location=domain only", 2);
  }
  if (location === "domain") {
    const ad = adMember(ctx.env.home);
    if (ad) {
      if (domain !== null && domain.toLowerCase() !== ad.domain.toLowerCase())
        throw new PosternError(
          "no-dc",
          `set store: this host is a member of ${ad.domain}, not '${domain}'`,
        );
      saveStoreLocation(ctx.env.home, { location, domain: ad.domain, directory: "ad" });
      return;
    }
    requireDcHome(ctx.env.home);
    const dnsName = await checkDomainName(ctx, domain);
    saveStoreLocation(ctx.env.home, { location, domain: dnsName });
    return;
  }
  saveStoreLocation(ctx.env.home, { location, domain });
}

export async function deleteAll(ctx: Ctx, tokens: string[]): Promise<void> {
  if (tokens.length > 0)
    throw new PosternError("usage", `delete all: unexpected '${tokens[0]}'`, 2);
  await changeStore(ctx, (store) => {
    store.policies = [];
    store.filterLists = [];
    store.filterActions = [];
  });
}

function fileOf(ctx: Ctx, tokens: string[], command: string): string {
  const p = parseArgs(tokens, FILE_TAG, command);
  return path.resolve(ctx.env.cwd, nonEmpty(p, "file") as string);
}

/** exportpolicy writes into an existing directory only, as Windows does: a mistyped path
 * is refused rather than created. */
function requireDirectory(dir: string): void {
  let isDir = false;
  try {
    isDir = fs.statSync(dir).isDirectory();
  } catch {
    throw new PosternError(
      "io",
      `exportpolicy: directory ${dir} does not exist (create it first, or give another file=)`,
    );
  }
  if (!isDir) throw new PosternError("io", `exportpolicy: ${dir} is not a directory`);
}

export async function exportPolicy(ctx: Ctx, tokens: string[]): Promise<void> {
  const file = fileOf(ctx, tokens, "exportpolicy");
  requireDirectory(path.dirname(file));
  const store = await readStore(ctx);
  try {
    atomicWriteFile(file, exportDocument(store, ctx.deps.now()), 0o600);
  } catch (e) {
    throw new PosternError("io", `exportpolicy: cannot write ${file}: ${(e as Error).message}`);
  }
}

export async function importPolicy(ctx: Ctx, tokens: string[]): Promise<void> {
  const file = fileOf(ctx, tokens, "importpolicy");
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (e) {
    throw new PosternError("io", `importpolicy: cannot read ${file}: ${(e as Error).message}`);
  }
  const incoming = parseExportDocument(text, `importpolicy ${file}`);
  await changeStore(ctx, (store) => {
    const merged = mergeImport(store, incoming, `importpolicy ${file}`);
    store.filterLists = merged.filterLists;
    store.filterActions = merged.filterActions;
    store.policies = merged.policies;
  });
}
