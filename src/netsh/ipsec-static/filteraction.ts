/**
 * `add|set|delete filteraction`: permit, block, or negotiate with ordered quick-mode
 * offers (secmethods.ts), PFS, inpass and soft. "Quick mode security methods are ignored
 * if the action is not negotiate": they are kept (and a warning says so) so that a later
 * `set filteraction action=negotiate` finds them.
 */
import type { FilterAction, FilterActionKind } from "../../policy/model.js";
import { defaultQmSecMethods, parseQmSecMethods } from "../../policy/secmethods.js";
import { FILTER_ACTION_DEFAULTS } from "../../policy/defaults.js";
import type { TagSpec } from "../args.js";
import { changeStore, type Ctx } from "./context.js";
import { refuseIfUsed } from "./filterlist.js";
import { checkUnique, findFilterAction } from "./lookup.js";
import { bool, exactlyOne, keyword, nonEmpty, type Parsed, parseArgs, str } from "./tags.js";

const SETTINGS: TagSpec[] = [
  { tag: "description" },
  { tag: "qmpfs" },
  { tag: "inpass" },
  { tag: "soft" },
  { tag: "action" },
  { tag: "qmsecmethods" },
];
export const ADD_FILTERACTION: TagSpec[] = [{ tag: "name", required: true }, ...SETTINGS];
export const SET_FILTERACTION: TagSpec[] = [
  { tag: "name" },
  { tag: "guid" },
  { tag: "newname" },
  ...SETTINGS,
];
export const DELETE_FILTERACTION: TagSpec[] = [{ tag: "name" }, { tag: "guid" }];

const KINDS: readonly FilterActionKind[] = ["permit", "block", "negotiate"];

function apply(ctx: Ctx, p: Parsed, fa: FilterAction): void {
  const d = str(p, "description");
  if (d !== undefined) fa.description = d;
  for (const [tag, key] of [
    ["qmpfs", "qmPfs"],
    ["inpass", "inpass"],
    ["soft", "soft"],
  ] as const) {
    const v = bool(p, tag);
    if (v !== undefined) fa[key] = v;
  }
  const action = keyword(p, "action", KINDS);
  if (action !== undefined) fa.action = action;
  const qm = str(p, "qmsecmethods");
  if (qm !== undefined) {
    fa.qmSecMethods = parseQmSecMethods(qm, ctx.warn, `${p.command}: qmsecmethods`);
    if (fa.action !== "negotiate") {
      ctx.warn(`warning: ${p.command}: qmsecmethods are ignored unless action=negotiate`);
    }
  }
  fa.lastModified = ctx.stamp();
}

export async function addFilterAction(ctx: Ctx, tokens: string[]): Promise<void> {
  const p = parseArgs(tokens, ADD_FILTERACTION, "add filteraction");
  const name = nonEmpty(p, "name") as string;
  await changeStore(ctx, (store) => {
    checkUnique(store.filterActions, name, "filter action");
    const fa: FilterAction = {
      guid: ctx.guid(),
      name,
      description: "",
      ...FILTER_ACTION_DEFAULTS,
      qmSecMethods: defaultQmSecMethods(),
      lastModified: ctx.stamp(),
    };
    apply(ctx, p, fa);
    store.filterActions.push(fa);
  });
}

export async function setFilterAction(ctx: Ctx, tokens: string[]): Promise<void> {
  const p = parseArgs(tokens, SET_FILTERACTION, "set filteraction");
  exactlyOne(p, ["name", "guid"]);
  await changeStore(ctx, (store) => {
    const fa = findFilterAction(store, str(p, "name"), str(p, "guid"));
    const newname = nonEmpty(p, "newname");
    if (newname !== undefined) {
      checkUnique(store.filterActions, newname, "filter action", fa.guid);
      fa.name = newname;
    }
    apply(ctx, p, fa);
  });
}

export async function deleteFilterAction(ctx: Ctx, tokens: string[]): Promise<void> {
  if (tokens.length === 1 && tokens[0]?.toLowerCase() === "all") {
    await changeStore(ctx, (store) => {
      for (const fa of store.filterActions)
        refuseIfUsed(store, fa.guid, `filter action '${fa.name}'`);
      store.filterActions = [];
    });
    return;
  }
  const p = parseArgs(tokens, DELETE_FILTERACTION, "delete filteraction");
  exactlyOne(p, ["name", "guid"]);
  await changeStore(ctx, (store) => {
    const fa = findFilterAction(store, str(p, "name"), str(p, "guid"));
    refuseIfUsed(store, fa.guid, `filter action '${fa.name}'`);
    store.filterActions = store.filterActions.filter((x) => x !== fa);
  });
}
