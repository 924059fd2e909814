/**
 * Finding objects by what the administrator types: a name (case-insensitive, as Windows
 * compares them) or a GUID (`{...}` or bare, any case). Not found is one clear line.
 */
import { PosternError, UsageError } from "../../errors.js";
import { parseGuid } from "../../policy/defaults.js";
import type { FilterAction, FilterList, Policy, PolicyStore, Rule } from "../../policy/model.js";

function notFound(what: string, key: string): never {
  throw new PosternError("not-found", `${what} '${key}' does not exist`);
}

function byKey<T extends { guid: string; name: string }>(
  items: readonly T[],
  name: string | undefined,
  guid: string | undefined,
  what: string,
): T {
  if (guid !== undefined) {
    const g = parseGuid(guid);
    if (!g) throw new UsageError(`guid: '${guid}' is not a GUID`);
    return items.find((x) => x.guid === g) ?? notFound(what, guid);
  }
  if (name === undefined) throw new UsageError(`give name= or guid= of the ${what}`);
  return items.find((x) => x.name.toLowerCase() === name.toLowerCase()) ?? notFound(what, name);
}

export function findPolicy(s: PolicyStore, name?: string, guid?: string): Policy {
  return byKey(s.policies, name, guid, "policy");
}

export function findFilterList(s: PolicyStore, name?: string, guid?: string): FilterList {
  return byKey(s.filterLists, name, guid, "filter list");
}

export function findFilterAction(s: PolicyStore, name?: string, guid?: string): FilterAction {
  return byKey(s.filterActions, name, guid, "filter action");
}

/** A rule of a policy by name or by id (its 1-based number). */
export function findRule(p: Policy, name?: string, id?: string): Rule {
  if (id !== undefined) {
    if (!/^\d+$/.test(id)) throw new UsageError(`id: expected a rule number, got '${id}'`);
    return p.rules.find((r) => r.id === Number(id)) ?? notFound(`rule id ${id} of policy`, p.name);
  }
  if (name === undefined) throw new UsageError("give name= or id= of the rule");
  return (
    p.rules.find((r) => r.name.toLowerCase() === name.toLowerCase()) ??
    notFound(`rule '${name}' of policy`, p.name)
  );
}

/** Refuses a name that another object of the same kind already has. */
export function checkUnique(
  items: readonly { guid: string; name: string }[],
  name: string,
  what: string,
  self?: string,
): void {
  if (name.trim() === "") throw new UsageError(`${what} name must not be empty`);
  const clash = items.find((x) => x.name.toLowerCase() === name.toLowerCase() && x.guid !== self);
  if (clash) throw new PosternError("duplicate", `${what} '${name}' already exists`);
}
