/**
 * The policy step of a trace (and all of `postern ipsec explain`): which rule, filter and
 * action of the host's effective IPsec policy govern the flow.
 *
 * 1. load the effective store (policy/effective.ts: a Group Policy assignment overrides
 *    the local store), choose the assigned policy (or a named one);
 * 2. gather what "apply time" means here: host addresses (given, else the interfaces),
 *    DNS names resolved now with node:dns, the DNS servers and default gateway;
 * 3. compile (pure core, src/policy/evaluate.ts) and explain.
 */
import * as dns from "node:dns";
import * as fs from "node:fs";
import * as os from "node:os";
import type { AuthMethod, FilterAction, Policy, PolicyStore } from "../policy/model.js";
import {
  compilePolicy,
  type Explanation,
  type ServerAddresses,
  selectPolicy,
} from "../policy/evaluate.js";
import { dnsNamesOf, serverTypesOf } from "../policy/expand.js";
import { type EffectiveStore, loadEffectiveStore } from "../policy/effective.js";
import type { Flow } from "./flow.js";

const DNS_TIMEOUT_MS = 3000;

export interface PolicyStep {
  explanation: Explanation;
  /** Where the store came from: a domain GPO or the local store. */
  source: EffectiveStore["source"];
  gpo: string | null;
  me: string[];
  /** The winning rule's filter action flags, when a rule won. */
  filterAction: Pick<FilterAction, "inpass" | "soft"> | null;
  /** The winning rule's authentication methods, in order. */
  auth: string[];
  /** The policy's default response rule: whether it answers peers asking to negotiate. */
  defaultResponse: { active: boolean; auth: string[] } | null;
}

export function authName(a: AuthMethod): string {
  return a.kind === "rootca" ? `rootca "${a.ca}"` : a.kind;
}

/** This host's addresses (loopback excluded, as Windows' "My IP address"). */
export function interfaceAddresses(): string[] {
  const out: string[] = [];
  for (const list of Object.values(os.networkInterfaces())) {
    for (const a of list ?? []) if (!a.internal) out.push(a.address);
  }
  return out;
}

async function resolveName(name: string): Promise<string[]> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<string[]>((resolve) => {
    timer = setTimeout(() => resolve([]), DNS_TIMEOUT_MS);
  });
  const lookup = dns.promises
    .lookup(name, { all: true, verbatim: true })
    .then((rs) => rs.map((r) => r.address))
    .catch(() => [] as string[]);
  try {
    return await Promise.race([lookup, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function readText(file: string): string {
  try {
    return fs.readFileSync(file, "utf8");
  } catch {
    return "";
  }
}

/** DNS servers from resolv.conf and the IPv4 default gateway from /proc/net/route. */
function serverAddresses(): ServerAddresses {
  const dnsServers = [...readText("/etc/resolv.conf").matchAll(/^\s*nameserver\s+(\S+)/gm)].map(
    (m) => m[1] as string,
  );
  const gateway: string[] = [];
  for (const line of readText("/proc/net/route").split("\n").slice(1)) {
    const [, dest, gw] = line.trim().split(/\s+/);
    if (dest === "00000000" && gw && gw !== "00000000") {
      const n = Number.parseInt(gw, 16);
      gateway.push([n & 255, (n >>> 8) & 255, (n >>> 16) & 255, n >>> 24].join("."));
    }
  }
  return { dns: dnsServers, wins: [], dhcp: [], gateway };
}

function ruleOf(policy: Policy | null, name: string | null) {
  return policy?.rules.find((r) => r.name === name) ?? null;
}

export async function policyStep(
  home: string,
  flow: Flow,
  meGiven: readonly string[],
  policyName: string | null,
): Promise<PolicyStep> {
  const { store, source, gpo } = loadEffectiveStore(home);
  const policy = selectPolicy(store, policyName);
  const me = meGiven.length > 0 ? [...meGiven] : interfaceAddresses();
  const answers = new Map<string, string[]>();
  if (policy) {
    const names = dnsNamesOf(store, policy);
    const resolved = await Promise.all(names.map(resolveName));
    for (const [i, n] of names.entries()) answers.set(n, resolved[i] ?? []);
  }
  const servers = policy && serverTypesOf(store, policy).length > 0 ? serverAddresses() : undefined;
  return policyStepOf(store, policyName, { source, gpo: gpo ?? null, me }, flow, {
    resolve: (n) => answers.get(n) ?? [],
    servers,
  });
}

/**
 * The pure part: the step for `flow` under `store`'s chosen policy, with the names and
 * servers of "apply time" given (policy tests give the directory's records).
 */
export function policyStepOf(
  store: PolicyStore,
  policyName: string | null,
  host: Pick<PolicyStep, "source" | "gpo" | "me">,
  flow: Flow,
  apply: { resolve: (name: string) => string[]; servers?: ServerAddresses | undefined },
): PolicyStep {
  const policy = selectPolicy(store, policyName);
  const spd = compilePolicy(
    store,
    policy?.guid ?? null,
    { addresses: host.me },
    apply.resolve,
    apply.servers,
  );
  const explanation = spd.explain(flow);
  const rule = ruleOf(policy, explanation.rule);
  const fa = store.filterActions.find((a) => a.guid === rule?.filterAction) ?? null;
  return {
    explanation,
    source: host.source,
    gpo: host.gpo,
    me: [...host.me],
    filterAction: fa === null ? null : { inpass: fa.inpass, soft: fa.soft },
    auth: rule?.auth.map(authName) ?? [],
    defaultResponse:
      policy === null
        ? null
        : {
            active: policy.activateDefaultRule && policy.defaultRule.active,
            auth: policy.defaultRule.auth.map(authName),
          },
  };
}
