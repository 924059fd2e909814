/**
 * `add|set|delete policy`. A policy carries main-mode settings, its rules and the default
 * response rule; at most one policy is assigned (assign=yes unassigns the others).
 * In the domain store the flag is not used: `set policy assign=yes|no gponame=G` assigns the
 * policy to (or removes it from) Group Policy object G, in the same DC transaction.
 * "If mmpfs is specified, qmpermm is set to 1" (2003 help).
 */
import { UsageError } from "../../errors.js";
import { defaultDefaultRule, POLICY_DEFAULTS, POLICY_LIMITS } from "../../policy/defaults.js";
import type { Policy, PolicyStore } from "../../policy/model.js";
import { defaultMmSecMethods, parseMmSecMethods } from "../../policy/secmethods.js";
import type { TagSpec } from "../args.js";
import { backendOf, changeStore, type Ctx } from "./context.js";
import { checkUnique, findPolicy } from "./lookup.js";
import { bool, exactlyOne, int, nonEmpty, type Parsed, parseArgs, str } from "./tags.js";

const SETTINGS: TagSpec[] = [
  { tag: "description" },
  { tag: "mmpfs" },
  { tag: "qmpermm" },
  { tag: "mmlifetime" },
  { tag: "activatedefaultrule" },
  { tag: "pollinginterval" },
  { tag: "assign" },
  { tag: "mmsecmethods" },
];

export const ADD_POLICY: TagSpec[] = [{ tag: "name", required: true }, ...SETTINGS];
export const SET_POLICY: TagSpec[] = [
  { tag: "name" },
  { tag: "guid" },
  { tag: "newname" },
  ...SETTINGS.slice(0, 7),
  { tag: "gponame" },
  { tag: "mmsecmethods" },
];
export const DELETE_POLICY: TagSpec[] = [{ tag: "name" }, { tag: "guid" }];

function assignOnly(store: PolicyStore, p: Policy, assign: boolean): void {
  if (assign) for (const q of store.policies) q.assigned = false;
  p.assigned = assign;
}

/** Domain store: the `assigned` flag means nothing there; assignment is per GPO. */
function domainAssignNote(ctx: Ctx, p: Parsed): void {
  if (bool(p, "assign") !== undefined && !p.args.has("gponame"))
    ctx.warn(
      `${p.command}: note: in the domain store a policy takes effect when assigned to a Group Policy object (assign=yes gponame=NAME); assign= without gponame= is ignored`,
    );
}

function applySettings(ctx: Ctx, p: Parsed, pol: Policy, store: PolicyStore, domain = false): void {
  const description = str(p, "description");
  if (description !== undefined) pol.description = description;
  const qmPerMm = int(p, "qmpermm", ...POLICY_LIMITS.qmPerMm);
  if (qmPerMm !== undefined) pol.qmPerMm = qmPerMm;
  const mmPfs = bool(p, "mmpfs");
  if (mmPfs !== undefined) {
    pol.mmPfs = mmPfs;
    if (mmPfs) pol.qmPerMm = 1;
  }
  const life = int(p, "mmlifetime", ...POLICY_LIMITS.mmLifetimeMin);
  if (life !== undefined) pol.mmLifetimeMin = life;
  const adr = bool(p, "activatedefaultrule");
  if (adr !== undefined) {
    pol.activateDefaultRule = adr;
    pol.defaultRule.active = adr;
  }
  const poll = int(p, "pollinginterval", ...POLICY_LIMITS.pollingIntervalMin);
  if (poll !== undefined) pol.pollingIntervalMin = poll;
  const mm = str(p, "mmsecmethods");
  if (mm !== undefined)
    pol.mmSecMethods = parseMmSecMethods(mm, ctx.warn, `${p.command}: mmsecmethods`);
  const assign = bool(p, "assign");
  if (assign !== undefined && !domain) assignOnly(store, pol, assign);
  pol.lastModified = ctx.stamp();
}

export async function addPolicy(ctx: Ctx, tokens: string[]): Promise<void> {
  const p = parseArgs(tokens, ADD_POLICY, "add policy");
  const name = nonEmpty(p, "name") as string;
  const domain = backendOf(ctx).kind === "domain";
  if (domain) domainAssignNote(ctx, p);
  await changeStore(ctx, (store) => {
    checkUnique(store.policies, name, "policy");
    const pol: Policy = {
      guid: ctx.guid(),
      name,
      description: "",
      ...POLICY_DEFAULTS,
      mmSecMethods: defaultMmSecMethods(),
      rules: [],
      defaultRule: defaultDefaultRule(),
      lastModified: ctx.stamp(),
    };
    store.policies.push(pol);
    applySettings(ctx, p, pol, store, domain);
  });
}

export async function setPolicy(ctx: Ctx, tokens: string[]): Promise<void> {
  const p = parseArgs(tokens, SET_POLICY, "set policy");
  exactlyOne(p, ["name", "guid"]);
  const gpo = nonEmpty(p, "gponame");
  const assign = bool(p, "assign");
  const domain = backendOf(ctx).kind === "domain";
  if (gpo !== undefined && !domain) {
    throw new UsageError(
      "set policy: gponame= applies to the domain store only (set store location=domain, on the DC)",
    );
  }
  if (gpo !== undefined && assign === undefined)
    throw new UsageError("set policy: gponame= needs assign=yes|no");
  if (domain) domainAssignNote(ctx, p);
  await changeStore(ctx, (store, tx) => {
    const pol = findPolicy(store, str(p, "name"), str(p, "guid"));
    const newname = nonEmpty(p, "newname");
    if (newname !== undefined) {
      checkUnique(store.policies, newname, "policy", pol.guid);
      pol.name = newname;
    }
    applySettings(ctx, p, pol, store, domain);
    if (gpo !== undefined) tx.assign(gpo, assign ? pol.guid : null);
  });
}

export async function deletePolicy(ctx: Ctx, tokens: string[]): Promise<void> {
  if (tokens.length === 1 && tokens[0]?.toLowerCase() === "all") {
    await changeStore(ctx, (store) => {
      store.policies = [];
    });
    return;
  }
  const p = parseArgs(tokens, DELETE_POLICY, "delete policy");
  exactlyOne(p, ["name", "guid"]);
  await changeStore(ctx, (store) => {
    const pol = findPolicy(store, str(p, "name"), str(p, "guid"));
    store.policies = store.policies.filter((x) => x !== pol);
  });
}
