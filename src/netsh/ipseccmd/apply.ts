/**
 * ipseccmd's static mode (-w REG) applied to the local policy store, in one locked
 * read-modify-write (the same backend and validation `netsh ipsec static` uses):
 * 1. the policy of -p is found or created (store defaults, as `add policy` makes it), and
 *    -p's polling interval, -1s, -1k and -1p are set on it;
 * 2. with -f, the rule of -r (default `ipseccmd rule N`) is found or created; its filter
 *    list and filter action are named `POLICY: RULE` and hold -f's filters and -n's
 *    negotiation (pass-through `( )` filters make a permit action, blocking `[ ]` a block
 *    action); -a, -t, -dialup|-lan go on the rule;
 * 3. -x assigns the policy (unassigning the others), -y unassigns it, -o deletes it.
 * -w DS makes the same change in the domain's directory store (runStatic).
 */
import type { CliEnv } from "../../cmdline/env.js";
import { adminCall } from "../../dc/admin/client.js";
import type { DomainInfo } from "../../dc/directory.js";
import { PosternError, UsageError } from "../../errors.js";
import { defaultDefaultRule, defaultAuth, POLICY_DEFAULTS } from "../../policy/defaults.js";
import type { FilterAction, FilterList, Policy, PolicyStore, Rule } from "../../policy/model.js";
import { defaultMmSecMethods, defaultQmSecMethods } from "../../policy/secmethods.js";
import { domainBackend, localBackend } from "../ipsec-static/backend.js";
import { parseTunnel } from "../ipsec-static/rule.js";
import type { FilterKind } from "./filterspec.js";
import type { IpseccmdRequest, RuleRequest } from "./switches.js";

export type StaticRequest = Extract<IpseccmdRequest, { mode: "static" }>;

export interface ApplyDeps {
  guid: () => string;
  stamp: () => string;
  warn: (message: string) => void;
}

export const DS_ASSIGN_IGNORED =
  "warning: -x/-y: in the directory a policy applies when a Group Policy object assigns it (postern netsh ipsec static set policy name=POLICY assign=yes gponame=GPO); ignored";

const byName = <T extends { name: string }>(items: readonly T[], name: string): T | undefined =>
  items.find((x) => x.name.toLowerCase() === name.toLowerCase());

function upsertPolicy(store: PolicyStore, req: StaticRequest, d: ApplyDeps): Policy {
  let pol = byName(store.policies, req.policy);
  if (!pol) {
    pol = {
      guid: d.guid(),
      name: req.policy,
      description: "",
      ...POLICY_DEFAULTS,
      mmSecMethods: defaultMmSecMethods(),
      rules: [],
      defaultRule: defaultDefaultRule(),
      lastModified: d.stamp(),
    };
    store.policies.push(pol);
  }
  const r = req.rule;
  if (req.pollMin !== undefined) pol.pollingIntervalMin = req.pollMin;
  if (r.mmSecMethods !== undefined) pol.mmSecMethods = r.mmSecMethods;
  if (r.qmPerMm !== undefined) pol.qmPerMm = r.qmPerMm;
  if (r.mmLifetimeMin !== undefined) pol.mmLifetimeMin = r.mmLifetimeMin;
  if (r.mmPfs) {
    pol.mmPfs = true;
    pol.qmPerMm = 1;
  }
  pol.lastModified = d.stamp();
  return pol;
}

function kindOf(r: RuleRequest): FilterKind {
  const kinds = new Set((r.filters ?? []).map((f) => f.kind));
  if (kinds.size > 1)
    throw new UsageError(
      "-f: one rule has one filter action: give plain, pass-through ( ) and blocking [ ] filters in separate ipseccmd runs (-r)",
    );
  return [...kinds][0] ?? "negotiate";
}

function upsertList(store: PolicyStore, name: string, r: RuleRequest, d: ApplyDeps): FilterList {
  const filters = (r.filters ?? []).map((f) => f.filter);
  const seen = new Set<string>();
  for (const f of filters) {
    const k = JSON.stringify(f);
    if (seen.has(k)) throw new UsageError("-f: the same filter is given twice");
    seen.add(k);
  }
  let fl = byName(store.filterLists, name);
  if (!fl) {
    fl = { guid: d.guid(), name, description: "made by ipseccmd", filters, lastModified: "" };
    store.filterLists.push(fl);
  }
  fl.filters = filters;
  fl.lastModified = d.stamp();
  return fl;
}

function upsertAction(
  store: PolicyStore,
  name: string,
  r: RuleRequest,
  d: ApplyDeps,
): FilterAction {
  const kind = kindOf(r);
  const n = r.negotiation;
  if (kind !== "negotiate" && n !== undefined)
    d.warn(
      `warning: -n: ignored, the filters of -f are ${kind === "permit" ? "pass-through ( )" : "blocking [ ]"}`,
    );
  let fa = byName(store.filterActions, name);
  if (!fa) {
    fa = {
      guid: d.guid(),
      name,
      description: "made by ipseccmd",
      action: "negotiate",
      qmPfs: false,
      inpass: false,
      soft: false,
      qmSecMethods: defaultQmSecMethods(),
      lastModified: "",
    };
    store.filterActions.push(fa);
  }
  fa.action = kind === "negotiate" ? (n?.action ?? "negotiate") : kind;
  fa.qmPfs = n?.qmPfs ?? false;
  fa.inpass = n?.inpass ?? false;
  fa.soft = r.soft;
  fa.qmSecMethods = n?.qmSecMethods ?? defaultQmSecMethods();
  fa.lastModified = d.stamp();
  return fa;
}

function upsertRule(store: PolicyStore, pol: Policy, req: StaticRequest, d: ApplyDeps): void {
  const r = req.rule;
  const name = req.ruleName ?? `ipseccmd rule ${pol.rules.length + 1}`;
  const qualified = `${pol.name}: ${name}`;
  const fl = upsertList(store, qualified, r, d);
  const fa = upsertAction(store, qualified, r, d);
  let rule = byName(pol.rules, name);
  if (!rule) {
    rule = {
      id: pol.rules.length + 1,
      guid: d.guid(),
      name,
      description: "",
      filterList: fl.guid,
      filterAction: fa.guid,
      tunnel: null,
      connType: "all",
      active: true,
      auth: defaultAuth(),
      lastModified: "",
    } satisfies Rule;
    pol.rules.push(rule);
  }
  rule.filterList = fl.guid;
  rule.filterAction = fa.guid;
  rule.tunnel = r.tunnel === undefined ? null : parseTunnel(r.tunnel, "-t");
  rule.connType = r.connType ?? "all";
  rule.auth = r.auth ?? defaultAuth();
  rule.lastModified = d.stamp();
}

/** Removes the filter lists and actions ipseccmd made for a deleted policy, unless still used. */
function dropOrphans(store: PolicyStore, prefix: string): void {
  const used = new Set(
    store.policies.flatMap((p) => p.rules.flatMap((r) => [r.filterList, r.filterAction])),
  );
  const mine = (x: { guid: string; name: string }) =>
    x.name.startsWith(prefix) && !used.has(x.guid);
  store.filterLists = store.filterLists.filter((x) => !mine(x));
  store.filterActions = store.filterActions.filter((x) => !mine(x));
}

/** Applies one static-mode request to the store (a pure change on a copy). */
export function applyStatic(store: PolicyStore, req: StaticRequest, d: ApplyDeps): void {
  if (req.deletePolicy) {
    const pol = byName(store.policies, req.policy);
    if (!pol)
      throw new PosternError("not-found", `-p: no policy named '${req.policy}' to delete (-o)`);
    store.policies = store.policies.filter((p) => p !== pol);
    dropOrphans(store, `${pol.name}: `);
    return;
  }
  const pol = upsertPolicy(store, req, d);
  if (req.rule.filters !== undefined) upsertRule(store, pol, req, d);
  if (req.assign === true) for (const p of store.policies) p.assigned = p === pol;
  if (req.assign === false) pol.assigned = false;
}

/** Warns of the switches parsed but not kept in a store. */
export function warnNotKept(r: RuleRequest, warn: (message: string) => void): void {
  if (r.softExpireSec !== undefined)
    warn(
      "warning: -1e: soft SA expiration is not kept in the store (IKEv2 rekeys by lifetime); ignored",
    );
}

/** -w DS:DOMAIN must name this DC's domain (DNS or NetBIOS name), as netsh's domain= must. */
async function checkDsDomain(env: CliEnv, name: string): Promise<void> {
  const d = (await adminCall(env, "domain.show")).result as DomainInfo;
  if (![d.dnsName, d.netbios].some((n) => n.toLowerCase() === name.toLowerCase()))
    throw new PosternError("no-dc", `-w DS:${name}: this DC serves ${d.dnsName} (${d.netbios})`);
}

/**
 * Runs static mode: -w REG on `<home>`'s local store; -w DS on the domain's directory store
 * (what `netsh ipsec static set store location=domain` edits: only on the DC, see
 * ipsec-static/backend.ts). In the directory a policy applies when a GPO assigns it, so
 * -x/-y there are ignored with a warning naming the netsh command that does it.
 */
export async function runStatic(env: CliEnv, req: StaticRequest, d: ApplyDeps): Promise<void> {
  warnNotKept(req.rule, d.warn);
  if (req.store === "ds") {
    const backend = domainBackend(env);
    if (req.domain !== undefined) await checkDsDomain(env, req.domain);
    const { assign, ...rest } = req;
    if (assign !== undefined) d.warn(DS_ASSIGN_IGNORED);
    await backend.update((store) => applyStatic(store, rest, d));
    return;
  }
  if (req.domain !== undefined)
    d.warn(`warning: -w REG:${req.domain}: the domain part is ignored for the local store`);
  await localBackend(env.home).update((store) => applyStatic(store, req, d));
}
