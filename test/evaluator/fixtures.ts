/**
 * Builders of policy-model objects for the evaluator's tests and benchmark: stores are made
 * directly as PolicyStore values (the netsh commands are another subsystem's).
 */
import type {
  AddressSpec,
  Filter,
  FilterAction,
  FilterActionKind,
  Policy,
  PolicyStore,
  Rule,
} from "../../src/policy/model.js";
import { defaultDefaultRule } from "../../src/policy/defaults.js";

const STAMP = "2026-01-01T00:00:00.000Z";

/** A deterministic GUID for a kind tag (0-15) and a number. */
export function guid(kind: number, n: number): string {
  const hex = n.toString(16).padStart(12, "0");
  return `0000000${kind.toString(16)}-0000-4000-8000-${hex}`;
}

export function filter(
  src: AddressSpec,
  dst: AddressSpec,
  opts: Partial<Omit<Filter, "src" | "dst">> = {},
): Filter {
  return {
    description: opts.description ?? "",
    src,
    dst,
    protocol: opts.protocol ?? 0,
    srcPort: opts.srcPort ?? 0,
    dstPort: opts.dstPort ?? 0,
    mirrored: opts.mirrored ?? false,
  };
}

export const any: AddressSpec = { kind: "any" };
export const me: AddressSpec = { kind: "me" };

export function host(address: string): AddressSpec {
  return {
    kind: "subnet",
    address,
    prefix: address.includes(":") ? 128 : 32,
    family: address.includes(":") ? 6 : 4,
  };
}

export function subnet(address: string, prefix: number): AddressSpec {
  return { kind: "subnet", address, prefix, family: address.includes(":") ? 6 : 4 };
}

export function range(from: string, to: string): AddressSpec {
  return { kind: "range", from, to, family: from.includes(":") ? 6 : 4 };
}

export interface RuleSpec {
  name: string;
  action: FilterActionKind;
  filters: Filter[];
  active?: boolean;
  /** Filter list and action names (default: derived from the rule name). */
  listName?: string;
  actionName?: string;
}

export interface PolicySpec {
  name: string;
  assigned?: boolean;
  rules: RuleSpec[];
}

/** A store with the given policies; each rule gets its own filter list and filter action. */
export function makeStore(policies: PolicySpec[]): PolicyStore {
  const store: PolicyStore = { version: 1, filterLists: [], filterActions: [], policies: [] };
  let n = 0;
  policies.forEach((ps, pi) => {
    const rules: Rule[] = ps.rules.map((rs, ri) => {
      n++;
      const listGuid = guid(1, n);
      const actionGuid = guid(2, n);
      store.filterLists.push({
        guid: listGuid,
        name: rs.listName ?? `${rs.name} list`,
        description: "",
        filters: rs.filters,
        lastModified: STAMP,
      });
      const action: FilterAction = {
        guid: actionGuid,
        name: rs.actionName ?? `${rs.name} action`,
        description: "",
        action: rs.action,
        qmPfs: false,
        inpass: false,
        soft: false,
        qmSecMethods:
          rs.action === "negotiate"
            ? [{ ah: { hash: "sha1" }, lifetimeKb: 100000, lifetimeSec: 3600 }]
            : [],
        lastModified: STAMP,
      };
      store.filterActions.push(action);
      return {
        id: ri + 1,
        guid: guid(3, n),
        name: rs.name,
        description: "",
        filterList: listGuid,
        filterAction: actionGuid,
        tunnel: null,
        connType: "all",
        active: rs.active ?? true,
        auth: [{ kind: "kerberos" }],
        lastModified: STAMP,
      };
    });
    const policy: Policy = {
      guid: guid(4, pi + 1),
      name: ps.name,
      description: "",
      mmPfs: false,
      qmPerMm: 0,
      mmLifetimeMin: 480,
      activateDefaultRule: true,
      pollingIntervalMin: 180,
      assigned: ps.assigned ?? false,
      mmSecMethods: [{ conf: "aes256", hash: "sha256", dhGroup: 14 }],
      rules,
      defaultRule: defaultDefaultRule(),
      lastModified: STAMP,
    };
    store.policies.push(policy);
  });
  return store;
}

/** The article's server1 policy: any -> me TCP 80, mirrored, negotiate (sign SHA1), Kerberos. */
export function articleServerStore(): PolicyStore {
  return makeStore([
    {
      name: "Secure web server",
      assigned: true,
      rules: [
        {
          name: "Web traffic",
          action: "negotiate",
          listName: "Web from anyone",
          actionName: "Sign with SHA1",
          filters: [filter(any, me, { protocol: 6, dstPort: 80, mirrored: true })],
        },
      ],
    },
  ]);
}

/** The article's xpclient policy: me -> server1 (198.18.0.20) TCP 80, mirrored, negotiate. */
export function articleClientStore(): PolicyStore {
  return makeStore([
    {
      name: "Secure web client",
      assigned: true,
      rules: [
        {
          name: "Web to server1",
          action: "negotiate",
          listName: "Web to server1",
          actionName: "Sign with SHA1",
          filters: [filter(me, host("198.18.0.20"), { protocol: 6, dstPort: 80, mirrored: true })],
        },
      ],
    },
  ]);
}
