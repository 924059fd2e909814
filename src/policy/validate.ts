/**
 * Deep validation of the IPsec policy model: a store read from disk, an imported export
 * file, or the store a netsh command is about to save. Every problem is one line that names
 * the field by its path (`policies[0].rules[1].auth[0].kind: expected one of ...`).
 *
 * 1. shape: every record has exactly its fields, of the right type and range;
 * 2. values: addresses in canonical form, server types facing `me`, ports only with TCP/UDP,
 *    security methods not refused (DES, MD5, DH 1), GUIDs well formed;
 * 3. references: unique GUIDs and names, rules name existing filter lists and actions,
 *    rule ids are 1..n, at most one policy assigned.
 */
import { PosternError } from "../errors.js";
import { addressSpecProblem, checkFilterSides, isDnsName } from "./address.js";
import { isGuid, POLICY_LIMITS } from "./defaults.js";
import { formatIp, parseIp } from "./ip.js";
import type {
  AddressSpec,
  AuthMethod,
  Filter,
  FilterAction,
  FilterList,
  MmSecMethod,
  Policy,
  PolicyStore,
  QmSecMethod,
  Rule,
} from "./model.js";
import { mmSecMethodProblem, qmSecMethodProblem } from "./secmethods.js";

type Obj = Record<string, unknown>;

class Invalid extends Error {}

function fail(path: string, msg: string): never {
  throw new Invalid(`${path}: ${msg}`);
}

function obj(
  v: unknown,
  path: string,
  fields: readonly string[],
  optional: readonly string[] = [],
): Obj {
  if (typeof v !== "object" || v === null || Array.isArray(v)) fail(path, "expected an object");
  const o = v as Obj;
  for (const k of Object.keys(o)) {
    if (!fields.includes(k) && !optional.includes(k)) fail(`${path}.${k}`, "unknown field");
  }
  for (const f of fields) if (!(f in o)) fail(`${path}.${f}`, "missing");
  return o;
}

function str(o: Obj, k: string, path: string): string {
  const v = o[k];
  if (typeof v !== "string") fail(`${path}.${k}`, `expected a string, got ${JSON.stringify(v)}`);
  return v;
}

function name(o: Obj, k: string, path: string): string {
  const v = str(o, k, path);
  if (v.trim() === "") fail(`${path}.${k}`, "must not be empty");
  return v;
}

function bool(o: Obj, k: string, path: string): boolean {
  const v = o[k];
  if (typeof v !== "boolean")
    fail(`${path}.${k}`, `expected true or false, got ${JSON.stringify(v)}`);
  return v;
}

function int(o: Obj, k: string, path: string, min: number, max: number): number {
  const v = o[k];
  if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) {
    fail(`${path}.${k}`, `expected an integer ${min}-${max}, got ${JSON.stringify(v)}`);
  }
  return v;
}

function oneOf<T extends string>(o: Obj, k: string, path: string, allowed: readonly T[]): T {
  const v = o[k];
  if (typeof v !== "string" || !allowed.includes(v as T)) {
    fail(`${path}.${k}`, `expected one of ${allowed.join("|")}, got ${JSON.stringify(v)}`);
  }
  return v as T;
}

function arr(o: Obj, k: string, path: string): unknown[] {
  const v = o[k];
  if (!Array.isArray(v)) fail(`${path}.${k}`, "expected an array");
  return v;
}

function guid(o: Obj, k: string, path: string): string {
  const v = str(o, k, path);
  if (!isGuid(v)) fail(`${path}.${k}`, `not a lower-case GUID: ${JSON.stringify(v)}`);
  return v;
}

function time(o: Obj, k: string, path: string): void {
  const v = str(o, k, path);
  if (Number.isNaN(Date.parse(v))) fail(`${path}.${k}`, `not a date: ${JSON.stringify(v)}`);
}

const ADDRESS_FIELDS: Record<AddressSpec["kind"], string[]> = {
  me: ["kind"],
  any: ["kind"],
  subnet: ["kind", "address", "prefix", "family"],
  range: ["kind", "from", "to", "family"],
  dns: ["kind", "name"],
  server: ["kind", "server"],
};

function address(v: unknown, path: string): void {
  const kinds = Object.keys(ADDRESS_FIELDS) as AddressSpec["kind"][];
  const pre = obj(
    v,
    path,
    ["kind"],
    ["address", "prefix", "family", "from", "to", "name", "server"],
  );
  const kind = oneOf(pre, "kind", path, kinds);
  obj(v, path, ADDRESS_FIELDS[kind]);
  const problem = addressSpecProblem(v as AddressSpec);
  if (problem) fail(path, problem);
}

function filter(v: unknown, path: string): void {
  const o = obj(v, path, [
    "description",
    "src",
    "dst",
    "protocol",
    "srcPort",
    "dstPort",
    "mirrored",
  ]);
  str(o, "description", path);
  address(o.src, `${path}.src`);
  address(o.dst, `${path}.dst`);
  const proto = int(o, "protocol", path, 0, 255);
  const sp = int(o, "srcPort", path, 0, 65535);
  const dp = int(o, "dstPort", path, 0, 65535);
  bool(o, "mirrored", path);
  if ((sp !== 0 || dp !== 0) && proto !== 6 && proto !== 17) {
    fail(path, `ports need protocol TCP (6) or UDP (17), got protocol ${proto}`);
  }
  try {
    checkFilterSides((v as Filter).src, (v as Filter).dst);
  } catch (e) {
    fail(path, (e as Error).message);
  }
}

function filterList(v: unknown, path: string): void {
  const o = obj(v, path, ["guid", "name", "description", "filters", "lastModified"]);
  guid(o, "guid", path);
  name(o, "name", path);
  str(o, "description", path);
  arr(o, "filters", path).forEach((f, i) => {
    filter(f, `${path}.filters[${i}]`);
  });
  time(o, "lastModified", path);
}

function qmMethod(v: unknown, path: string): void {
  const o = obj(v, path, ["lifetimeKb", "lifetimeSec"], ["ah", "esp"]);
  if (o.ah !== undefined) obj(o.ah, `${path}.ah`, ["hash"]);
  if (o.esp !== undefined) obj(o.esp, `${path}.esp`, ["conf", "auth"]);
  const problem = qmSecMethodProblem(v as QmSecMethod);
  if (problem) fail(path, problem);
}

function mmMethod(v: unknown, path: string): void {
  obj(v, path, ["conf", "hash", "dhGroup"]);
  const problem = mmSecMethodProblem(v as MmSecMethod);
  if (problem) fail(path, problem);
}

function filterAction(v: unknown, path: string): void {
  const o = obj(v, path, [
    "guid",
    "name",
    "description",
    "action",
    "qmPfs",
    "inpass",
    "soft",
    "qmSecMethods",
    "lastModified",
  ]);
  guid(o, "guid", path);
  name(o, "name", path);
  str(o, "description", path);
  const action = oneOf(o, "action", path, ["permit", "block", "negotiate"] as const);
  for (const k of ["qmPfs", "inpass", "soft"]) bool(o, k, path);
  const ms = arr(o, "qmSecMethods", path);
  ms.forEach((m, i) => {
    qmMethod(m, `${path}.qmSecMethods[${i}]`);
  });
  if (action === "negotiate" && ms.length === 0)
    fail(`${path}.qmSecMethods`, "negotiate needs at least one method");
  time(o, "lastModified", path);
}

/** A tunnel endpoint: a canonical IP address or a lower-case DNS name. */
function tunnel(o: Obj, path: string): void {
  const t = str(o, "tunnel", path);
  const ip = parseIp(t);
  const ok = ip ? formatIp(ip) === t : isDnsName(t) && t === t.toLowerCase();
  if (!ok) fail(`${path}.tunnel`, `not an IP address or DNS name: ${JSON.stringify(t)}`);
}

function auth(v: unknown, path: string): void {
  const pre = obj(v, path, ["kind"], ["key", "ca", "certmap", "excludeCaName"]);
  const kind = oneOf(pre, "kind", path, ["kerberos", "psk", "rootca"] as const);
  if (kind === "kerberos") obj(v, path, ["kind"]);
  if (kind === "psk") name(obj(v, path, ["kind", "key"]), "key", path);
  if (kind === "rootca") {
    const o = obj(v, path, ["kind", "ca", "certmap", "excludeCaName"]);
    name(o, "ca", path);
    bool(o, "certmap", path);
    bool(o, "excludeCaName", path);
  }
}

function authList(o: Obj, path: string): void {
  const list = arr(o, "auth", path);
  if (list.length === 0) fail(`${path}.auth`, "needs at least one authentication method");
  list.forEach((a, i) => {
    auth(a, `${path}.auth[${i}]`);
  });
  if (list.filter((a) => (a as AuthMethod).kind === "kerberos").length > 1) {
    fail(`${path}.auth`, "kerberos listed twice");
  }
}

function rule(v: unknown, path: string, index: number): void {
  const o = obj(v, path, [
    "id",
    "guid",
    "name",
    "description",
    "filterList",
    "filterAction",
    "tunnel",
    "connType",
    "active",
    "auth",
    "lastModified",
  ]);
  const id = int(o, "id", path, 1, 2147483647);
  if (id !== index + 1) fail(`${path}.id`, `expected ${index + 1} (rules are numbered in order)`);
  guid(o, "guid", path);
  name(o, "name", path);
  str(o, "description", path);
  guid(o, "filterList", path);
  guid(o, "filterAction", path);
  if (o.tunnel !== null) tunnel(o, path);
  oneOf(o, "connType", path, ["lan", "dialup", "all"] as const);
  bool(o, "active", path);
  authList(o, path);
  time(o, "lastModified", path);
}

function defaultRule(v: unknown, path: string): void {
  const o = obj(v, path, ["active", "qmPfs", "qmSecMethods", "auth"]);
  bool(o, "active", path);
  bool(o, "qmPfs", path);
  const ms = arr(o, "qmSecMethods", path);
  if (ms.length === 0) fail(`${path}.qmSecMethods`, "needs at least one method");
  ms.forEach((m, i) => {
    qmMethod(m, `${path}.qmSecMethods[${i}]`);
  });
  authList(o, path);
}

function policy(v: unknown, path: string): void {
  const o = obj(v, path, [
    "guid",
    "name",
    "description",
    "mmPfs",
    "qmPerMm",
    "mmLifetimeMin",
    "activateDefaultRule",
    "pollingIntervalMin",
    "assigned",
    "mmSecMethods",
    "rules",
    "defaultRule",
    "lastModified",
  ]);
  guid(o, "guid", path);
  name(o, "name", path);
  str(o, "description", path);
  bool(o, "mmPfs", path);
  int(o, "qmPerMm", path, ...POLICY_LIMITS.qmPerMm);
  int(o, "mmLifetimeMin", path, ...POLICY_LIMITS.mmLifetimeMin);
  bool(o, "activateDefaultRule", path);
  int(o, "pollingIntervalMin", path, ...POLICY_LIMITS.pollingIntervalMin);
  bool(o, "assigned", path);
  const ms = arr(o, "mmSecMethods", path);
  if (ms.length === 0) fail(`${path}.mmSecMethods`, "needs at least one method");
  ms.forEach((m, i) => {
    mmMethod(m, `${path}.mmSecMethods[${i}]`);
  });
  arr(o, "rules", path).forEach((r, i) => {
    rule(r, `${path}.rules[${i}]`, i);
  });
  defaultRule(o.defaultRule, `${path}.defaultRule`);
  time(o, "lastModified", path);
}

function unique<T>(items: readonly T[], key: (t: T) => string, path: string, what: string): void {
  const seen = new Map<string, number>();
  items.forEach((t, i) => {
    const k = key(t);
    const prev = seen.get(k);
    if (prev !== undefined)
      fail(`${path}[${i}]`, `duplicate ${what} ${JSON.stringify(k)} (also at [${prev}])`);
    seen.set(k, i);
  });
}

function references(s: PolicyStore): void {
  unique(s.filterLists, (f) => f.name.toLowerCase(), "filterLists", "name");
  unique(s.filterActions, (f) => f.name.toLowerCase(), "filterActions", "name");
  unique(s.policies, (p) => p.name.toLowerCase(), "policies", "name");
  const all = [
    ...s.filterLists.map((f) => f.guid),
    ...s.filterActions.map((f) => f.guid),
    ...s.policies.flatMap((p) => [p.guid, ...p.rules.map((r) => r.guid)]),
  ];
  unique(all, (g) => g, "guids", "GUID");
  const lists = new Set(s.filterLists.map((f: FilterList) => f.guid));
  const actions = new Set(s.filterActions.map((f: FilterAction) => f.guid));
  s.policies.forEach((p: Policy, pi) => {
    unique(p.rules, (r) => r.name.toLowerCase(), `policies[${pi}].rules`, "rule name");
    p.rules.forEach((r: Rule, ri) => {
      const path = `policies[${pi}].rules[${ri}]`;
      if (!lists.has(r.filterList))
        fail(`${path}.filterList`, `no filter list with GUID ${r.filterList}`);
      if (!actions.has(r.filterAction))
        fail(`${path}.filterAction`, `no filter action with GUID ${r.filterAction}`);
    });
  });
  const assigned = s.policies.filter((p) => p.assigned);
  if (assigned.length > 1) {
    fail(
      "policies",
      `${assigned.length} policies assigned (${assigned.map((p) => p.name).join(", ")}); at most one`,
    );
  }
}

/** Checks a whole store; returns it typed, or throws PosternError("store-invalid"). */
export function validateStore(data: unknown, where: string): PolicyStore {
  try {
    const o = obj(data, "store", ["version", "filterLists", "filterActions", "policies"]);
    if (o.version !== 1) fail("version", `expected 1, got ${JSON.stringify(o.version)}`);
    arr(o, "filterLists", "store").forEach((f, i) => {
      filterList(f, `filterLists[${i}]`);
    });
    arr(o, "filterActions", "store").forEach((f, i) => {
      filterAction(f, `filterActions[${i}]`);
    });
    arr(o, "policies", "store").forEach((p, i) => {
      policy(p, `policies[${i}]`);
    });
    references(data as PolicyStore);
    return data as PolicyStore;
  } catch (e) {
    if (e instanceof Invalid) throw new PosternError("store-invalid", `${where}: ${e.message}`);
    throw e;
  }
}
