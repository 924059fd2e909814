/**
 * `show all|policy|filterlist|filteraction|rule|gpoassignedpolicy|store`.
 * Selection: name= (or guid=/id=/rule=), `all`, or nothing (= all). level=normal|verbose,
 * format=list|table, wide=yes|no. With --json each prints the model records as one JSON
 * document: show all -> the store; show policy -> {policies}; show filterlist ->
 * {filterLists}; show filteraction -> {filterActions}; show rule -> {policy, rules,
 * defaultRule?}; show store -> {location, domain}; show gpoassignedpolicy -> {assigned}.
 */
import { PosternError, UsageError } from "../../errors.js";
import { loadDomainAssigned } from "../../policy/effective.js";
import { loadStoreLocation } from "../../policy/location.js";
import type { FilterAction, FilterList, Policy, PolicyStore, Rule } from "../../policy/model.js";
import type { TagSpec } from "../args.js";
import { backendOf, type Ctx, readStore } from "./context.js";
import { findFilterAction, findFilterList, findPolicy, findRule } from "./lookup.js";
import {
  kv,
  type Level,
  type RenderOptions,
  renderDefaultRule,
  renderFilterAction,
  renderFilterList,
  renderPolicy,
  renderRule,
} from "./render.js";
import {
  filterActionTable,
  filterListTable,
  filterTable,
  policyTable,
  ruleTable,
} from "./table.js";
import { bool, keyword, type Parsed, parseArgs, str } from "./tags.js";

const VIEW: TagSpec[] = [{ tag: "level" }, { tag: "format" }, { tag: "wide" }];
export const SHOW_SPECS: Record<string, TagSpec[]> = {
  all: VIEW,
  policy: [{ tag: "name" }, { tag: "guid" }, ...VIEW],
  filterlist: [
    { tag: "name" },
    { tag: "rule" },
    { tag: "level" },
    { tag: "format" },
    { tag: "resolvedns" },
    { tag: "wide" },
  ],
  filteraction: [{ tag: "name" }, { tag: "rule" }, ...VIEW],
  rule: [{ tag: "name" }, { tag: "id" }, { tag: "policy" }, { tag: "type" }, ...VIEW],
  gpoassignedpolicy: [{ tag: "name" }],
  store: [],
};

interface View {
  p: Parsed;
  flags: Set<string>;
  level: Level;
  table: boolean;
  wide: boolean;
  opts: RenderOptions;
}

const STORE_NAMES = {
  local: "Local Store",
  domain: "Domain Store",
  persistent: "Persistent Store",
  dynamic: "Dynamic Store (ipseccmd)",
} as const;

function view(ctx: Ctx, object: string, tokens: string[], flagWords: string[]): View {
  const flags = new Set<string>();
  const rest = tokens.filter((t) => {
    const w = t.toLowerCase();
    if (flagWords.includes(w)) {
      flags.add(w);
      return false;
    }
    return true;
  });
  const p = parseArgs(rest, SHOW_SPECS[object] as TagSpec[], `show ${object}`);
  const level = keyword(p, "level", ["normal", "verbose"] as const) ?? "normal";
  const format = keyword(p, "format", ["list", "table"] as const) ?? "list";
  const kind = ctx.deps.backend ? backendOf(ctx).kind : loadStoreLocation(ctx.env.home).location;
  const storeName = STORE_NAMES[kind];
  return {
    p,
    flags,
    level,
    table: format === "table",
    wide: bool(p, "wide") ?? true,
    opts: { level, storeName },
  };
}

function print(ctx: Ctx, lines: readonly string[]): void {
  ctx.env.out(lines.join("\n"));
}

function json(ctx: Ctx, doc: unknown): void {
  ctx.env.out(JSON.stringify(doc, null, 2));
}

function blocks<T>(items: readonly T[], render: (t: T) => string[]): string[] {
  return items.flatMap((t, i) => (i > 0 ? ["", ...render(t)] : render(t)));
}

function policiesLines(ps: readonly Policy[], s: PolicyStore, v: View): string[] {
  if (ps.length === 0) return [`No policies in the ${v.opts.storeName}.`];
  if (!v.table) return blocks(ps, (p) => renderPolicy(p, s, v.opts));
  const out = policyTable(ps, v.wide);
  if (v.level === "verbose")
    for (const p of ps)
      out.push("", `Rules of policy '${p.name}'`, ...ruleTable(p.rules, s, v.wide));
  return out;
}

function listsLines(fls: readonly FilterList[], v: View): string[] {
  if (fls.length === 0) return [`No filter lists in the ${v.opts.storeName}.`];
  if (!v.table) return blocks(fls, (f) => renderFilterList(f, v.opts));
  const out = filterListTable(fls, v.wide);
  if (v.level === "verbose")
    for (const f of fls) out.push("", `Filters of '${f.name}'`, ...filterTable(f.filters, v.wide));
  return out;
}

function actionsLines(fas: readonly FilterAction[], v: View): string[] {
  if (fas.length === 0) return [`No filter actions in the ${v.opts.storeName}.`];
  if (!v.table) return blocks(fas, (f) => renderFilterAction(f, v.opts));
  return filterActionTable(fas, v.wide);
}

async function showAll(ctx: Ctx, tokens: string[]): Promise<void> {
  const v = view(ctx, "all", tokens, []);
  const s = await readStore(ctx);
  if (ctx.env.json) {
    json(ctx, s);
    return;
  }
  print(ctx, [
    ...policiesLines(s.policies, s, v),
    "",
    ...listsLines(s.filterLists, v),
    "",
    ...actionsLines(s.filterActions, v),
  ]);
}

async function showPolicy(ctx: Ctx, tokens: string[]): Promise<void> {
  const v = view(ctx, "policy", tokens, ["all"]);
  const s = await readStore(ctx);
  const name = str(v.p, "name");
  const guid = str(v.p, "guid");
  const ps = name === undefined && guid === undefined ? s.policies : [findPolicy(s, name, guid)];
  if (ctx.env.json) {
    json(ctx, { policies: ps });
    return;
  }
  print(ctx, policiesLines(ps, s, v));
}

function rulesNamed(s: PolicyStore, name: string): Rule[] {
  const rules = s.policies.flatMap((p) =>
    p.rules.filter((r) => r.name.toLowerCase() === name.toLowerCase()),
  );
  if (rules.length === 0)
    throw new PosternError("not-found", `rule '${name}' does not exist in any policy`);
  return rules;
}

async function resolveNames(ctx: Ctx, fls: readonly FilterList[]): Promise<Map<string, string[]>> {
  const names = new Set<string>();
  for (const f of fls.flatMap((x) => x.filters)) {
    for (const a of [f.src, f.dst]) if (a.kind === "dns") names.add(a.name);
  }
  const out = new Map<string, string[]>();
  for (const n of names) out.set(n, await ctx.deps.resolve(n));
  return out;
}

async function showFilterList(ctx: Ctx, tokens: string[]): Promise<void> {
  const v = view(ctx, "filterlist", tokens, ["all"]);
  const s = await readStore(ctx);
  const name = str(v.p, "name");
  const rule = str(v.p, "rule");
  if (name !== undefined && rule !== undefined)
    throw new UsageError("show filterlist: give name= or rule=, not both");
  let fls = s.filterLists;
  if (name !== undefined) fls = [findFilterList(s, name)];
  if (rule !== undefined) {
    const guids = new Set(rulesNamed(s, rule).map((r) => r.filterList));
    fls = s.filterLists.filter((f) => guids.has(f.guid));
  }
  if (ctx.env.json) {
    json(ctx, { filterLists: fls });
    return;
  }
  if (bool(v.p, "resolvedns")) v.opts.resolved = await resolveNames(ctx, fls);
  print(ctx, listsLines(fls, v));
}

async function showFilterAction(ctx: Ctx, tokens: string[]): Promise<void> {
  const v = view(ctx, "filteraction", tokens, ["all"]);
  const s = await readStore(ctx);
  const name = str(v.p, "name");
  const rule = str(v.p, "rule");
  if (name !== undefined && rule !== undefined)
    throw new UsageError("show filteraction: give name= or rule=, not both");
  let fas = s.filterActions;
  if (name !== undefined) fas = [findFilterAction(s, name)];
  if (rule !== undefined) {
    const guids = new Set(rulesNamed(s, rule).map((r) => r.filterAction));
    fas = s.filterActions.filter((f) => guids.has(f.guid));
  }
  if (ctx.env.json) {
    json(ctx, { filterActions: fas });
    return;
  }
  print(ctx, actionsLines(fas, v));
}

async function showRule(ctx: Ctx, tokens: string[]): Promise<void> {
  const v = view(ctx, "rule", tokens, ["all", "default"]);
  const s = await readStore(ctx);
  const policyName = str(v.p, "policy");
  if (policyName === undefined) throw new UsageError("show rule: policy= is required");
  const pol = findPolicy(s, policyName);
  const name = str(v.p, "name");
  const id = str(v.p, "id");
  const onlyDefault = v.flags.has("default") && name === undefined && id === undefined;
  let rules = onlyDefault
    ? []
    : name !== undefined || id !== undefined
      ? [findRule(pol, name, id)]
      : pol.rules;
  const type = keyword(v.p, "type", ["tunnel", "transport"] as const);
  if (type !== undefined) rules = rules.filter((r) => (type === "tunnel") === (r.tunnel !== null));
  const everything = name === undefined && id === undefined && type === undefined;
  // A table lists rules; the default response rule joins it only when asked for by name.
  const withDefault = v.flags.has("default") || (everything && (ctx.env.json || !v.table));
  if (ctx.env.json) {
    json(ctx, {
      policy: pol.name,
      rules,
      ...(withDefault ? { defaultRule: pol.defaultRule } : {}),
    });
    return;
  }
  const lines = v.table
    ? ruleTable(rules, s, v.wide)
    : blocks(rules, (r) => renderRule(r, s, v.opts));
  if (withDefault)
    lines.push(...(lines.length > 0 ? [""] : []), ...renderDefaultRule(pol.defaultRule, v.opts));
  print(ctx, [kv("Policy Name", pol.name), "", ...lines]);
}

/**
 * Domain store: the policy assigned to GPO name= (every GPO without name=). Local store:
 * the locally assigned policy and, on a member, the one Group Policy assigned (which wins).
 */
async function showGpoAssigned(ctx: Ctx, tokens: string[]): Promise<void> {
  const v = view(ctx, "gpoassignedpolicy", tokens, []);
  const backend = backendOf(ctx);
  const gpo = str(v.p, "name");
  if (backend.kind === "domain") {
    const list = await backend.assignments(gpo);
    if (ctx.env.json) return json(ctx, { assignments: list });
    return print(
      ctx,
      list.flatMap((a, i) => [
        ...(i > 0 ? [""] : []),
        kv("GPO Name", a.gpo),
        kv("GPO GUID", `{${a.guid.toUpperCase()}}`),
        kv("Assigned Policy", a.policy ? a.policy.name : "NONE"),
        ...(a.policy ? [kv("Policy GUID", `{${a.policy.guid.toUpperCase()}}`)] : []),
      ]),
    );
  }
  if (gpo !== undefined) {
    throw new PosternError(
      "no-dc",
      "show gpoassignedpolicy: name= needs the domain store (set store location=domain, on the DC)",
    );
  }
  const s = await readStore(ctx);
  const p = s.policies.find((x) => x.assigned) ?? null;
  const d = loadDomainAssigned(ctx.env.home);
  const dp = d?.store.policies.find((x) => x.assigned) ?? null;
  if (ctx.env.json) {
    json(ctx, {
      assigned: p,
      domain: d && dp ? { gpo: d.gpo, domain: d.domain, policy: dp } : null,
    });
    return;
  }
  print(ctx, [
    kv(
      "Source Machine",
      backend.kind === "persistent" ? "Persistent Policy" : "Local Computer Policy",
    ),
    kv("Assigned Policy", p ? p.name : "NONE"),
    ...(p ? [kv("Policy GUID", `{${p.guid.toUpperCase()}}`)] : []),
    kv(
      "Group Policy",
      d && dp
        ? `${dp.name} (GPO ${d.gpo}, domain ${d.domain}; overrides the local policy)`
        : d
          ? `none assigned (domain ${d.domain})`
          : "none (not fetched: postern gpupdate on a domain member)",
    ),
  ]);
}

function showStore(ctx: Ctx, tokens: string[]): void {
  view(ctx, "store", tokens, []);
  const loc = loadStoreLocation(ctx.env.home);
  if (ctx.env.json) {
    json(ctx, loc);
    return;
  }
  const name = `${STORE_NAMES[loc.location]}${loc.domain ? ` (${loc.domain})` : ""}`;
  print(ctx, [`The current IPsec policy store is the ${name}.`]);
}

export const SHOW_OBJECTS: Record<string, (ctx: Ctx, tokens: string[]) => void | Promise<void>> = {
  all: showAll,
  policy: showPolicy,
  filterlist: showFilterList,
  filteraction: showFilterAction,
  rule: showRule,
  gpoassignedpolicy: showGpoAssigned,
  store: showStore,
};
