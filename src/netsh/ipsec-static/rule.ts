/**
 * `add|set|delete rule` and `set defaultrule`. A rule binds one filter list and one filter
 * action (by name) inside one policy, with authentication methods in order of preference,
 * a tunnel endpoint (none = transport mode), a connection type and an active flag. Rules
 * are numbered 1..n in the policy (`id=`); deleting one renumbers those after it. Giving
 * any of kerberos=/psk=/rootca= to `set` replaces the whole list of methods.
 */
import { UsageError } from "../../errors.js";
import { isDnsName } from "../../policy/address.js";
import { defaultAuth, RULE_DEFAULTS } from "../../policy/defaults.js";
import { formatIp, parseIp } from "../../policy/ip.js";
import type { ConnectionType, Policy, PolicyStore, Rule } from "../../policy/model.js";
import { parseQmSecMethods } from "../../policy/secmethods.js";
import type { TagSpec } from "../args.js";
import { parseAuth } from "./auth.js";
import { changeStore, type Ctx } from "./context.js";
import { checkUnique, findFilterAction, findFilterList, findPolicy, findRule } from "./lookup.js";
import { bool, exactlyOne, keyword, nonEmpty, type Parsed, parseArgs, str } from "./tags.js";

const AUTH: TagSpec[] = [{ tag: "kerberos" }, { tag: "psk" }, { tag: "rootca", repeatable: true }];

export const ADD_RULE: TagSpec[] = [
  { tag: "name", required: true },
  { tag: "policy", required: true },
  { tag: "filterlist", required: true },
  { tag: "filteraction", required: true },
  { tag: "tunnel" },
  { tag: "conntype" },
  { tag: "activate" },
  { tag: "description" },
  ...AUTH,
];
export const SET_RULE: TagSpec[] = [
  { tag: "name" },
  { tag: "id" },
  { tag: "policy", required: true },
  { tag: "newname" },
  { tag: "description" },
  { tag: "filterlist" },
  { tag: "filteraction" },
  { tag: "tunnel" },
  { tag: "conntype" },
  { tag: "activate" },
  ...AUTH,
];
export const DELETE_RULE: TagSpec[] = [
  { tag: "name" },
  { tag: "id" },
  { tag: "policy", required: true },
];
export const SET_DEFAULTRULE: TagSpec[] = [
  { tag: "policy", required: true },
  { tag: "qmpfs" },
  { tag: "activate" },
  { tag: "qmsecmethods" },
  ...AUTH,
];

const CONNTYPES: readonly ConnectionType[] = ["lan", "dialup", "all"];

/** A tunnel endpoint: an IP address or DNS name; none, 0 or 0.0.0.0 mean transport mode. */
export function parseTunnel(text: string, command: string): string | null {
  const t = text.trim();
  if (["", "none", "0", "0.0.0.0", "::"].includes(t.toLowerCase())) return null;
  const ip = parseIp(t);
  if (ip) return formatIp(ip);
  if (isDnsName(t)) return t.toLowerCase();
  throw new UsageError(`${command}: tunnel: '${text}' is not an IP address or DNS name`);
}

function apply(ctx: Ctx, p: Parsed, store: PolicyStore, rule: Rule): void {
  const fl = str(p, "filterlist");
  if (fl !== undefined) rule.filterList = findFilterList(store, fl).guid;
  const fa = str(p, "filteraction");
  if (fa !== undefined) rule.filterAction = findFilterAction(store, fa).guid;
  const tunnel = str(p, "tunnel");
  if (tunnel !== undefined) rule.tunnel = parseTunnel(tunnel, p.command);
  const conn = keyword(p, "conntype", CONNTYPES);
  if (conn !== undefined) rule.connType = conn;
  const active = bool(p, "activate");
  if (active !== undefined) rule.active = active;
  const d = str(p, "description");
  if (d !== undefined) rule.description = d;
  const auth = parseAuth(p);
  if (auth !== undefined) rule.auth = auth;
  rule.lastModified = ctx.stamp();
}

/** "Rule name should be unique and cannot be 'all'" (netsh help). */
function checkRuleName(name: string, command: string): void {
  if (name.trim().toLowerCase() === "all") {
    throw new UsageError(`${command}: a rule cannot be named 'all'`);
  }
}

function renumber(pol: Policy): void {
  pol.rules.forEach((r, i) => {
    r.id = i + 1;
  });
}

export async function addRule(ctx: Ctx, tokens: string[]): Promise<void> {
  const p = parseArgs(tokens, ADD_RULE, "add rule");
  const name = nonEmpty(p, "name") as string;
  checkRuleName(name, p.command);
  await changeStore(ctx, (store) => {
    const pol = findPolicy(store, str(p, "policy"));
    checkUnique(pol.rules, name, `rule of policy '${pol.name}':`);
    const rule: Rule = {
      id: pol.rules.length + 1,
      guid: ctx.guid(),
      name,
      description: "",
      filterList: "",
      filterAction: "",
      ...RULE_DEFAULTS,
      auth: defaultAuth(),
      lastModified: ctx.stamp(),
    };
    apply(ctx, p, store, rule);
    pol.rules.push(rule);
    pol.lastModified = ctx.stamp();
  });
}

export async function setRule(ctx: Ctx, tokens: string[]): Promise<void> {
  const p = parseArgs(tokens, SET_RULE, "set rule");
  exactlyOne(p, ["name", "id"]);
  await changeStore(ctx, (store) => {
    const pol = findPolicy(store, str(p, "policy"));
    const rule = findRule(pol, str(p, "name"), str(p, "id"));
    const newname = nonEmpty(p, "newname");
    if (newname !== undefined) {
      checkRuleName(newname, p.command);
      checkUnique(pol.rules, newname, `rule of policy '${pol.name}':`, rule.guid);
      rule.name = newname;
    }
    apply(ctx, p, store, rule);
    pol.lastModified = ctx.stamp();
  });
}

export async function deleteRule(ctx: Ctx, tokens: string[]): Promise<void> {
  const all = tokens.some((t) => t.toLowerCase() === "all");
  const rest = tokens.filter((t) => t.toLowerCase() !== "all");
  const p = parseArgs(rest, DELETE_RULE, "delete rule");
  if (all && (p.args.has("name") || p.args.has("id"))) {
    throw new UsageError("delete rule: give all, name= or id=, not several");
  }
  if (!all) exactlyOne(p, ["name", "id"]);
  await changeStore(ctx, (store) => {
    const pol = findPolicy(store, str(p, "policy"));
    if (all) {
      pol.rules = [];
    } else {
      const rule = findRule(pol, str(p, "name"), str(p, "id"));
      pol.rules = pol.rules.filter((r) => r !== rule);
      renumber(pol);
    }
    pol.lastModified = ctx.stamp();
  });
}

export async function setDefaultRule(ctx: Ctx, tokens: string[]): Promise<void> {
  const p = parseArgs(tokens, SET_DEFAULTRULE, "set defaultrule");
  await changeStore(ctx, (store) => {
    const pol = findPolicy(store, str(p, "policy"));
    const d = pol.defaultRule;
    const pfs = bool(p, "qmpfs");
    if (pfs !== undefined) d.qmPfs = pfs;
    const active = bool(p, "activate");
    if (active !== undefined) {
      d.active = active;
      pol.activateDefaultRule = active;
    }
    const qm = str(p, "qmsecmethods");
    if (qm !== undefined)
      d.qmSecMethods = parseQmSecMethods(qm, ctx.warn, `${p.command}: qmsecmethods`);
    const auth = parseAuth(p);
    if (auth !== undefined) d.auth = auth;
    pol.lastModified = ctx.stamp();
  });
}
