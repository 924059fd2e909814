/**
 * `add|set|delete filterlist`. A filter list used by a rule cannot be deleted (delete the
 * rule first), as in 2003.
 */
import { PosternError } from "../../errors.js";
import type { PolicyStore } from "../../policy/model.js";
import type { TagSpec } from "../args.js";
import { changeStore, type Ctx } from "./context.js";
import { checkUnique, findFilterList } from "./lookup.js";
import { exactlyOne, nonEmpty, parseArgs, str } from "./tags.js";

export const ADD_FILTERLIST: TagSpec[] = [{ tag: "name", required: true }, { tag: "description" }];
export const SET_FILTERLIST: TagSpec[] = [
  { tag: "name" },
  { tag: "guid" },
  { tag: "newname" },
  { tag: "description" },
];
export const DELETE_FILTERLIST: TagSpec[] = [{ tag: "name" }, { tag: "guid" }];

export async function addFilterList(ctx: Ctx, tokens: string[]): Promise<void> {
  const p = parseArgs(tokens, ADD_FILTERLIST, "add filterlist");
  const name = nonEmpty(p, "name") as string;
  await changeStore(ctx, (store) => {
    checkUnique(store.filterLists, name, "filter list");
    store.filterLists.push({
      guid: ctx.guid(),
      name,
      description: str(p, "description") ?? "",
      filters: [],
      lastModified: ctx.stamp(),
    });
  });
}

export async function setFilterList(ctx: Ctx, tokens: string[]): Promise<void> {
  const p = parseArgs(tokens, SET_FILTERLIST, "set filterlist");
  exactlyOne(p, ["name", "guid"]);
  await changeStore(ctx, (store) => {
    const fl = findFilterList(store, str(p, "name"), str(p, "guid"));
    const newname = nonEmpty(p, "newname");
    if (newname !== undefined) {
      checkUnique(store.filterLists, newname, "filter list", fl.guid);
      fl.name = newname;
    }
    const d = str(p, "description");
    if (d !== undefined) fl.description = d;
    fl.lastModified = ctx.stamp();
  });
}

/** The rules (as "policy/rule") that use a filter list or filter action. */
export function usersOf(store: PolicyStore, guid: string): string[] {
  return store.policies.flatMap((pol) =>
    pol.rules
      .filter((r) => r.filterList === guid || r.filterAction === guid)
      .map((r) => `'${r.name}' of policy '${pol.name}'`),
  );
}

function refuseIfUsed(store: PolicyStore, guid: string, what: string): void {
  const users = usersOf(store, guid);
  if (users.length > 0) {
    throw new PosternError(
      "in-use",
      `${what} is used by rule ${users.join(", ")}; delete or change the rule first`,
    );
  }
}

export async function deleteFilterList(ctx: Ctx, tokens: string[]): Promise<void> {
  if (tokens.length === 1 && tokens[0]?.toLowerCase() === "all") {
    await changeStore(ctx, (store) => {
      for (const fl of store.filterLists) refuseIfUsed(store, fl.guid, `filter list '${fl.name}'`);
      store.filterLists = [];
    });
    return;
  }
  const p = parseArgs(tokens, DELETE_FILTERLIST, "delete filterlist");
  exactlyOne(p, ["name", "guid"]);
  await changeStore(ctx, (store) => {
    const fl = findFilterList(store, str(p, "name"), str(p, "guid"));
    refuseIfUsed(store, fl.guid, `filter list '${fl.name}'`);
    store.filterLists = store.filterLists.filter((x) => x !== fl);
  });
}

export { refuseIfUsed };
