/**
 * The agent's directory client on a real host (`PolicySource` of core.ts):
 *   refresh  `postern gpupdate` against the DC, never fatal: on a member of postern's domain
 *            its API; on a member of an Active Directory (machine.json `kind: "ad"`) the GPOs
 *            themselves, read as the machine (member/ad-gpupdate.ts), digest-gated: an
 *            unchanged result is not applied and the agent does not reload; its KDCs come
 *            from the domain's SRV records, asked of the domain's DNS servers (member.ts,
 *            machine-tgt.ts)
 *   load     the effective store (the domain's GPO, else the local store), DNS names of
 *            filters resolved through the domain's DNS, planned (policy-plan.ts)
 *   purge    the machine's ticket cache removed
 *   start    a machine TGT obtained in an earlier boot (boot_id) is discarded, so a reboot
 *            refreshes the machine's groups as on Windows (machine-boot.ts)
 * and the providers of the authentication methods: Kerberos from the machine keytab
 * (member.ts), certificates from --cert/--key.
 */
import * as fs from "node:fs";
import type { CliEnv } from "../cmdline/env.js";
import { adGpupdate } from "../member/ad-gpupdate.js";
import { gpupdate } from "../member/join.js";
import type { MachineIdentity } from "../member/machine-keys.js";
import {
  type BootIdReader,
  discardEarlierBootTgt,
  purgeMachineTickets,
  readBootId,
} from "../member/machine-boot.js";
import { keytabWriter } from "../member/machine-keys.js";
import { machineDnsServers } from "../member/machine-tgt.js";
import {
  createDomainResolver,
  type DnsServer,
  type DomainResolver,
  resolveFilterNames,
} from "../member/resolver.js";
import { PosternError } from "../errors.js";
import type { LogLevel } from "../platform/log.js";
import { createCertAuth } from "../ike/cert-auth.js";
import { type EffectiveStore, loadEffectiveStore } from "../policy/effective.js";
import { removeDynamicStore } from "../policy/store.js";
import type { PolicyStore } from "../policy/model.js";
import type { LoadedPolicy, PolicySource } from "./core.js";
import { loadMember, type Member } from "./member.js";
import { knownKerberosPeers } from "./prefetch.js";
import { planFromStore, type Providers } from "./policy-plan.js";

export interface HostPolicyOptions {
  env: CliEnv;
  ours: string[];
  local: string;
  /** The domain's DNS servers ("host" or "host:port"), in order; []: machine.json's. */
  dns: string[];
  cert: string | null;
  key: string | null;
  gpRefreshMs: number;
  /** The random offset added to each interval, up to this (Windows: 30 minutes; default 0). */
  gpRefreshOffsetMs?: number;
  log: (line: string, level?: LogLevel) => void;
  /** The current boot's id (default: /proc/sys/kernel/random/boot_id). */
  bootId?: BootIdReader;
}

export function createHostPolicySource(o: HostPolicyOptions): PolicySource {
  const home = o.env.home;
  const resolver = lazyResolver(home, o.dns);
  const bootId = o.bootId ?? readBootId;
  discardEarlierBootTgt(home, bootId(), o.log);
  // ipseccmd's dynamic policy lives as long as the agent that applied it (XP: the service)
  if (removeDynamicStore(home))
    o.log("dynamic IPsec policy of the previous agent run removed (ipseccmd without -w)");
  const member = loadMember(home, resolver, Date.now, bootId, o.log);
  if (member !== null)
    o.log(`domain member ${member.id.sam} of ${member.id.realm}: Kerberos from the machine keytab`);
  const providers = providersFrom(o, member);
  const ad = member?.id.kind === "ad" ? member.id : null;
  if (ad !== null && o.gpRefreshMs > 0)
    o.log(
      `${ad.domain} is an Active Directory domain: Group Policy refreshed every ${minutes(o.gpRefreshMs)} min plus up to ${minutes(o.gpRefreshOffsetMs ?? 0)} at random`,
    );
  return {
    refresh: () =>
      member === null
        ? Promise.resolve(false)
        : ad !== null
          ? refreshFromAd(o.env, ad, o.log)
          : refreshFromDomain(o.env, o.log),
    async load(): Promise<LoadedPolicy> {
      const eff = loadEffectiveStore(home);
      const names = member === null ? new Map() : await filterNames(eff.store, resolver, o.log);
      const plan = planFromStore(eff.store, o.ours, o.local, providers, o.log, names);
      // the peers the policy names: their names and tickets before their first packet
      if (member !== null)
        for (const peer of knownKerberosPeers(eff.store, o.ours)) member.kerberos.prepare?.(peer);
      if (eff.persistent !== null) plan.notes.unshift(persistentNote(eff));
      if (eff.dynamic > 0) plan.notes.unshift(dynamicNote(eff));
      return eff.source === "domain"
        ? { plan, source: "domain", gpo: eff.gpo ?? "?", domain: eff.domain ?? "?" }
        : { plan, source: "local" };
    },
    refreshMs: member !== null ? o.gpRefreshMs : 0,
    refreshOffsetMs: o.gpRefreshOffsetMs ?? 0,
    providers,
    purgeTickets: () => {
      purgeMachineTickets(home);
      member?.forgetTickets();
    },
  };
}

/** The persistent policy in one line: first in the policy, or alone (and why). */
function persistentNote(eff: EffectiveStore): string {
  if (eff.source !== "persistent")
    return `persistent policy "${eff.persistent}": its rules apply first (set store location=persistent)`;
  return `persistent policy "${eff.persistent}" applies alone${eff.note ? ` (${eff.note})` : " (no local or domain policy assigned)"}`;
}

/** The dynamic (ipseccmd) rules in one line: first in the policy, or alone (and why). */
function dynamicNote(eff: EffectiveStore): string {
  if (eff.source !== "dynamic")
    return `${eff.dynamic} dynamic rules (ipseccmd) apply first, until the agent stops`;
  return `the dynamic rules (ipseccmd) apply alone${eff.note ? ` (${eff.note})` : " (no other policy assigned)"}`;
}

/** Whether the effective policy offers AH (the data path then needs the raw AH socket). */
export function effectiveUsesAh(home: string): boolean {
  const store = loadEffectiveStore(home).store;
  return store.filterActions.some(
    (a) => a.action === "negotiate" && a.qmSecMethods.some((m) => m.ah !== undefined),
  );
}

function providersFrom(o: HostPolicyOptions, member: Member | null): Providers {
  const kerberos = member === null ? {} : { kerberos: () => member.kerberos };
  if (o.cert === null || o.key === null) return kerberos;
  const certPem = fs.readFileSync(o.cert, "utf8");
  const keyPem = fs.readFileSync(o.key, "utf8");
  return {
    ...kerberos,
    rootca: (m) => {
      if (!fs.existsSync(m.ca)) {
        o.env.err(`agent: rootca "${m.ca}" is not a readable PEM file; certificates skipped`);
        return null;
      }
      const rootPem = fs.readFileSync(m.ca, "utf8");
      return createCertAuth({ certPem, keyPem, rootsPem: [rootPem], now: Date.now });
    },
  };
}

/** The domain's DNS, made at its first question (a member without DNS may never ask). */
function lazyResolver(home: string, dns: string[]): DomainResolver {
  let resolver: DomainResolver | null = null;
  const get = () => {
    if (resolver === null) {
      const servers = dns.length > 0 ? dns.map(hostPort) : machineServers(home);
      if (servers.length === 0)
        throw new PosternError("agent", "no DNS server known: give --dns HOST[:PORT]");
      // a silent server costs 2 x 1 s before the next is asked (then it is asked last)
      resolver = createDomainResolver({ servers, timeoutMs: 1000 });
    }
    return resolver;
  };
  return {
    lookupA: (name) => get().lookupA(name),
    lookupPtr: (address) => get().lookupPtr(address),
  };
}

/** "host" or "host:port" (IPv4; an IPv6 address alone takes port 53). */
function hostPort(spec: string): DnsServer {
  const m = /^([^:]+):(\d+)$/.exec(spec);
  return m ? { host: m[1] as string, port: Number(m[2]) } : { host: spec, port: 53 };
}

function machineServers(home: string): DnsServer[] {
  const id = keytabWriter.read(home);
  return id === null ? [] : machineDnsServers(id);
}

/** The filters' DNS names, resolved through the domain's DNS (failures logged). */
async function filterNames(
  store: PolicyStore,
  resolver: DomainResolver,
  log: (l: string) => void,
): Promise<Map<string, string[]>> {
  try {
    const r = await resolveFilterNames(store, resolver);
    for (const n of r.notes) log(`DNS: ${n}`);
    return r.names;
  } catch (e) {
    log(`DNS: filter names not resolved: ${(e as Error).message}`);
    return new Map();
  }
}

const minutes = (ms: number) => String(Math.round((ms / 60_000) * 100) / 100);

/** The agent's env for a gpupdate: its lines go to the agent's log, prefixed. */
function logged(env: CliEnv, log: (l: string) => void): CliEnv {
  const out = (l: string) => log(`gpupdate: ${l}`);
  return { ...env, json: false, out, err: out };
}

/** `postern gpupdate` in the agent: the DC's effective policy, logged, never fatal. */
async function refreshFromDomain(env: CliEnv, log: (l: string) => void): Promise<boolean> {
  try {
    await gpupdate(logged(env, log), [], undefined, false);
    return true;
  } catch (e) {
    log(`gpupdate: ${(e as Error).message}; keeping the policy held`);
    return false;
  }
}

/**
 * The same on an Active Directory member: what changed since the last gpupdate is applied
 * (the firewall in one nft transaction, firewall/apply.ts), one line logged; unchanged: no
 * reload.
 */
async function refreshFromAd(
  env: CliEnv,
  id: MachineIdentity,
  log: (l: string) => void,
): Promise<boolean> {
  try {
    return (await adGpupdate(logged(env, log), id, false)).changed;
  } catch (e) {
    log(`gpupdate: ${(e as Error).message}; keeping the policy held`);
    return false;
  }
}
