/**
 * The file `exportpolicy` writes and `importpolicy` reads: one JSON document of ours,
 * versioned (Windows writes a binary `.ipsec` file that postern does not read):
 *
 *   { "format": "postern-ipsec-policy", "version": 1, "exported": "<ISO time>",
 *     "filterLists": [...], "filterActions": [...], "policies": [...] }
 *
 * The three arrays are the store's records exactly (GUIDs, times and the assigned flag
 * kept), so export -> delete all -> import gives back the same store.
 *
 * Import merges by GUID (netsh imports into the existing store): an object whose GUID is in
 * the store replaces it; a new object is added; an object whose name belongs to a different
 * object of the store is refused (names are unique). If the file carries an assigned
 * policy, it becomes the only assigned one. The merged store is validated before it is
 * saved, so a bad file changes nothing.
 */
import { PosternError } from "../errors.js";
import type { PolicyStore } from "./model.js";
import { validateStore } from "./validate.js";

export const EXPORT_FORMAT = "postern-ipsec-policy";
export const EXPORT_VERSION = 1;

export function exportDocument(store: PolicyStore, now: Date): string {
  const doc = {
    format: EXPORT_FORMAT,
    version: EXPORT_VERSION,
    exported: now.toISOString(),
    filterLists: store.filterLists,
    filterActions: store.filterActions,
    policies: store.policies,
  };
  return `${JSON.stringify(doc, null, 2)}\n`;
}

/** Parses and validates an export file on its own (references must resolve inside it). */
export function parseExportDocument(text: string, where: string): PolicyStore {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw new PosternError("import", `${where}: not valid JSON: ${(e as Error).message}`);
  }
  const d = data as Record<string, unknown>;
  if (typeof d !== "object" || d === null || d.format !== EXPORT_FORMAT) {
    throw new PosternError(
      "import",
      `${where}: format: not a postern policy export (expected "${EXPORT_FORMAT}")`,
    );
  }
  if (d.version !== EXPORT_VERSION) {
    throw new PosternError(
      "import",
      `${where}: version: expected ${EXPORT_VERSION}, got ${JSON.stringify(d.version)}`,
    );
  }
  if (typeof d.exported !== "string") {
    throw new PosternError("import", `${where}: exported: expected a time string`);
  }
  const store = {
    version: 1,
    filterLists: d.filterLists,
    filterActions: d.filterActions,
    policies: d.policies,
  };
  const extra = Object.keys(d).filter(
    (k) =>
      !["format", "version", "exported", "filterLists", "filterActions", "policies"].includes(k),
  );
  if (extra.length > 0) throw new PosternError("import", `${where}: ${extra[0]}: unknown field`);
  return validateStore(store, where);
}

function mergeByGuid<T extends { guid: string; name: string }>(
  into: T[],
  from: readonly T[],
  what: string,
  where: string,
): void {
  for (const item of from) {
    const clash = into.find(
      (x) => x.name.toLowerCase() === item.name.toLowerCase() && x.guid !== item.guid,
    );
    if (clash) {
      throw new PosternError(
        "import",
        `${where}: ${what} "${item.name}" already exists in the store with another GUID; rename or delete it first`,
      );
    }
    const i = into.findIndex((x) => x.guid === item.guid);
    if (i >= 0) into[i] = item;
    else into.push(item);
  }
}

/** The store after importing `file` into `store` (neither argument is changed). */
export function mergeImport(store: PolicyStore, file: PolicyStore, where: string): PolicyStore {
  const out: PolicyStore = structuredClone(store);
  const incoming = structuredClone(file);
  mergeByGuid(out.filterLists, incoming.filterLists, "filter list", where);
  mergeByGuid(out.filterActions, incoming.filterActions, "filter action", where);
  if (incoming.policies.some((p) => p.assigned)) {
    for (const p of out.policies) p.assigned = false;
  }
  mergeByGuid(out.policies, incoming.policies, "policy", where);
  return validateStore(out, where);
}
