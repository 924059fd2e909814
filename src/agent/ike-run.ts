/**
 * `postern agent` from the local policy store: policy, IKE and the data path together.
 *   1. load the store, plan from the assigned policy (policy-plan.ts): SPD, steering
 *      selectors, responder peers
 *   2. open TUN and the UDP 4500 socket (SO_MARK bypass); the data path's workers own it:
 *      ESP is handled there, IKE messages (non-ESP marker, RFC 3948 §2.2) come back as
 *      `ike` events and go to the IKE engine; IKE sends on 4500 through the same fd with
 *      the marker prepended; IKE on UDP 500 uses its own socket
 *   3. the IKE engine: onChildSa -> two SaRecords (sa-convert.ts) into the data path
 *      (inbound first; a rekey then removes the pair it replaces); onChildSaDeleted
 *      removes the pair
 *   4. ACQUIRE (acquire.ts): packets with no SA come from the outbound worker, wait,
 *      start IKE, and are injected when the SA is in
 *   5. steering, control socket, drop log, SIGTERM as in manual mode (run.ts).
 */
import * as dgram from "node:dgram";
import * as fs from "node:fs";
import * as os from "node:os";
import type { CliEnv } from "../cmdline/env.js";
import { dhGenerateFast, randomBytes } from "../crypto/primitives.js";
import { type DataPath, spiHex, startDataPath } from "../datapath/engine.js";
import type { DataPathEvent } from "../datapath/events.js";
import { parseIpPacket } from "../datapath/ippacket.js";
import {
  applySteering,
  DEFAULT_STEERING,
  removeSteering,
  steeringRuleset,
} from "../datapath/steering.js";
import { PosternError } from "../errors.js";
import { createCertAuth } from "../ike/cert-auth.js";
import { systemClock } from "../ike/clock.js";
import { createIkeEngine, type IkeEngine } from "../ike/engine.js";
import { NON_ESP_MARKER } from "../ike/transport.js";
import type { ChildSaRecord, Datagram, IkeOptions, PeerConfig } from "../ike/types.js";
import { formatIp } from "../policy/ip.js";
import { loadEffectiveStore } from "../policy/effective.js";
import { createApplier } from "../firewall/apply.js";
import { clearBypassPeers, createBypassSet } from "../firewall/bypass.js";
import { createNftRunner } from "../firewall/nft.js";
import { loadSettings, settingsFile } from "../firewall/store.js";
import {
  createDomainResolver,
  type DomainResolver,
  resolveFilterNames,
} from "../member/resolver.js";
import { gpupdate } from "../member/join.js";
import type { PolicyStore } from "../policy/model.js";
import { machineCcachePath } from "../member/machine-keys.js";
import { createBypassTracker } from "./bypass-peers.js";
import { loadMember, type Member } from "./member.js";
import { ensureDir } from "../platform/home.js";
import { loadLibc } from "../platform/libc.js";
import { createNetConfig } from "../platform/routing.js";
import { openTun } from "../platform/tun.js";
import {
  createUdpPort,
  encodeSockaddrIn,
  openRawAhSocket,
  openUdpSocket,
} from "../platform/udp.js";
import { type AcquireVerdict, createAcquirer } from "./acquire.js";
import { type PolicyPlan, peerForPacket, planFromStore, type Providers } from "./policy-plan.js";
import { agentPaths } from "./run.js";
import { applyGuard, removeGuard } from "./inbound-guard.js";
import { type ChildView, createMonitor } from "./monitor.js";
import { serveAgent } from "./serve.js";
import { childToSaRecords } from "./sa-convert.js";

export interface IkeAgentOptions {
  address: string | null;
  ike: Partial<IkeOptions>;
  cert: string | null;
  key: string | null;
  maxQueue: number;
  holdDownMs: number;
  /** The domain's DNS server ("host" or "host:port"); default: the DC of machine.json, port 53. */
  dns: string | null;
  /** How often a domain member fetches its policy from the DC again (0: never). */
  gpRefreshMs: number;
}

function ourAddresses(): string[] {
  return Object.values(os.networkInterfaces())
    .flat()
    .filter((i) => i !== undefined && i.family === "IPv4" && !i.internal)
    .map((i) => (i as os.NetworkInterfaceInfo).address);
}

function providersFrom(o: IkeAgentOptions, env: CliEnv, member: Member | null): Providers {
  const kerberos = member === null ? {} : { kerberos: () => member.kerberos };
  if (o.cert === null || o.key === null) return kerberos;
  const certPem = fs.readFileSync(o.cert, "utf8");
  const keyPem = fs.readFileSync(o.key, "utf8");
  return {
    ...kerberos,
    rootca: (m) => {
      if (!fs.existsSync(m.ca)) {
        env.err(`agent: rootca "${m.ca}" is not a readable PEM file; certificates skipped`);
        return null;
      }
      const rootPem = fs.readFileSync(m.ca, "utf8");
      return createCertAuth({ certPem, keyPem, rootsPem: [rootPem], now: Date.now });
    },
  };
}

/** Which peer an outbound packet needs, from the SPD decision. */
function classifier(
  planOf: () => PolicyPlan,
  local: string,
  providers: Providers,
  ensurePeer: (p: PeerConfig) => void,
  initiate: (name: string) => void,
): (packet: Uint8Array) => AcquireVerdict {
  return (packet) => {
    const ip = parseIpPacket(packet);
    if (ip === null) return { kind: "malformed" };
    const family = ip.version === 4 ? 4 : 6;
    const big = (b: Uint8Array) => b.reduce((v, x) => (v << 8n) | BigInt(x), 0n);
    const pkt = {
      src: formatIp({ family, value: big(ip.src) }),
      dst: formatIp({ family, value: big(ip.dst) }),
      protocol: ip.protocol,
      srcPort: Math.max(ip.srcPort, 0),
      dstPort: Math.max(ip.dstPort, 0),
    };
    const plan = planOf();
    const d = plan.spd.lookup(pkt);
    if (d.action === "block") return { kind: "discard" };
    if (d.action !== "negotiate") return { kind: "bypass" };
    try {
      const peer = peerForPacket(plan, d, pkt, local, providers);
      const soft = plan.ruleOf(d)?.action.soft ?? false;
      return {
        kind: "negotiate",
        peer: peer.name,
        soft,
        start: () => {
          ensurePeer(peer);
          initiate(peer.name);
        },
      };
    } catch {
      return { kind: "malformed" };
    }
  };
}

export async function runIkeAgent(o: IkeAgentOptions, env: CliEnv): Promise<number> {
  if (!env.isRoot)
    throw new PosternError(
      "agent",
      "postern agent needs root (TUN device, nftables, policy routing)",
    );
  const ours = ourAddresses();
  const local = o.address ?? ours[0];
  if (local === undefined)
    throw new PosternError("agent", "no IPv4 address on this host; give --address");
  const log = (line: string) => env.out(`agent: ${line}`);
  const resolver = lazyResolver(env.home, o.dns);
  const member = loadDomainMember(env.home, resolver, log);
  if (member !== null) await refreshFromDomain(env, log);
  const providers = providersFrom(o, env, member);
  const effective = loadEffectiveStore(env.home);
  const first = await planOf(effective.store, ours, local, providers, member, resolver, log);
  if (first.policy === null)
    throw new PosternError(
      "agent",
      "no IPsec policy is assigned: none from the domain's GPOs, none in the local store (netsh ipsec static set policy ... assign=yes)",
    );
  let plan: PolicyPlan = first;
  const paths = agentPaths(env.home);
  ensureDir(paths.dir, 0o700);
  log(
    effective.source === "domain"
      ? `policy "${first.policy.name}" assigned by GPO '${effective.gpo}' of ${effective.domain}`
      : `policy "${first.policy.name}" from the local store`,
  );
  const firewall = await startFirewall(env.home, log);
  const cfg = { ...DEFAULT_STEERING, listenPort: 4500 };
  const libc = loadLibc();
  const net = createNetConfig();
  const tun = openTun(libc, cfg.tun);
  let udpFd = -1;
  let rawFd = -1;
  const ike500 = dgram.createSocket("udp4");
  try {
    udpFd = openUdpSocket(libc, { address: local, port: 4500 }, cfg.bypassMark);
    // AH[...] methods: AH travels over a raw socket (IP protocol 51), opened only when the
    // policy asks for AH (a policy that gains AH on reload needs a restart).
    if (usesAh(effective.store)) rawFd = openRawAhSocket(libc, cfg.bypassMark);
    await new Promise<void>((resolve, reject) => {
      ike500.once("error", reject);
      ike500.bind(500, local, () => resolve());
    });
  } catch (e) {
    try {
      ike500.close();
    } catch {
      // never bound
    }
    if (udpFd >= 0) libc.close(udpFd);
    if (rawFd >= 0) libc.close(rawFd);
    libc.close(tun.fd);
    const code = (e as NodeJS.ErrnoException).code;
    if (code === undefined) throw e;
    throw new PosternError("agent", `cannot bind IKE to ${local}:500: ${code}`);
  }
  const udp = createUdpPort(libc, udpFd);
  const peers: PeerConfig[] = [...plan.responders];
  const remoteOf = new Map<string, string>();
  const pairs = new Map<number, { spiOut: number; peer: string; child: ChildView }>();
  let engine: IkeEngine | null = null;
  let dp: DataPath | null = null;
  const bypass: string[] = [];
  const acquirer = createAcquirer({
    now: Date.now,
    classify: classifier(
      () => plan,
      local,
      providers,
      (p) => {
        remoteOf.set(p.name, p.remoteAddress);
        if (!peers.some((q) => q.name === p.name)) peers.unshift(p);
      },
      (name) => {
        try {
          engine?.initiate(name);
        } catch (e) {
          log(`IKE with ${name} not started: ${(e as Error).message}`);
        }
      },
    ),
    inject: (p) => dp?.inject(p),
    fallback: (peer) => {
      const h = remoteOf.get(peer);
      if (h === undefined || bypass.includes(h)) return;
      bypass.push(h);
      net.nft(steeringRuleset(cfg, plan.steering, bypass));
      applyGuard(net, cfg.tun, plan.guard, bypass);
    },
    log,
    maxQueue: o.maxQueue,
    holdDownMs: o.holdDownMs,
  });
  const removePair = (spiIn: number) => {
    const p = pairs.get(spiIn);
    if (!p) return;
    pairs.delete(spiIn);
    dp?.removeSa("in", spiIn);
    dp?.removeSa("out", p.spiOut);
  };
  const onChildSa = (c: ChildSaRecord) => {
    const r = childToSaRecords(c);
    if ("error" in r) {
      log(`child SA ${spiHex(c.spiIn)} with ${c.peerName}: not installed: ${r.error}`);
      return;
    }
    dp?.addSa(r.in);
    dp?.addSa(r.out);
    pairs.set(c.spiIn, {
      spiOut: c.spiOut,
      peer: c.peerName,
      child: { record: c, installedAtMs: Date.now() },
    });
    if (c.replacesSpiIn !== null) removePair(c.replacesSpiIn);
    log(
      `child SA installed: ${c.peerName} in ${spiHex(c.spiIn)} out ${spiHex(c.spiOut)} ${r.in.transform} ${c.mode}`,
    );
    acquirer.onChildSa(c.peerName);
  };
  const onChildSaDeleted = (spiIn: number) => {
    const peer = pairs.get(spiIn)?.peer;
    removePair(spiIn);
    if (peer !== undefined) acquirer.onChildSaDeleted(peer);
  };
  const established = new Map<string, number>();
  engine = createIkeEngine({
    peers,
    clock: systemClock(),
    random: randomBytes,
    dh: dhGenerateFast,
    log,
    onChildSa,
    onChildSaDeleted,
    onIkeSaState: (peer, spis, state) => {
      if (state === "established") {
        established.set(spis, Date.now());
        const info = engine?.sas().find((x) => x.spis === spis);
        // Awaited by a responder before it answers: the peer's first packet finds the
        // bypass set already holding its address.
        if (info) return firewall.tracker.onEstablished(info).then(() => undefined);
      }
      if (state === "closed") {
        void firewall.tracker.onClosed(spis);
        acquirer.onIkeClosed(peer, established.delete(spis));
      }
    },
    options: o.ike,
    send: (d: Datagram) => {
      if (d.local.port === 4500) {
        const data = Buffer.concat([NON_ESP_MARKER, d.data]);
        if (!udp.send(data, encodeSockaddrIn(d.remote)))
          log(`IKE send to ${d.remote.address}:4500 failed`);
      } else ike500.send(d.data, d.remote.port, d.remote.address);
    },
  });
  const eng = engine;
  ike500.on(
    "message",
    (msg, r) =>
      void eng.receive({
        data: msg,
        local: { address: local, port: 500 },
        remote: { address: r.address, port: r.port },
      }),
  );
  ike500.on("error", (e) => log(`IKE socket error: ${e.message}`));
  const onEvent = (e: DataPathEvent) => {
    if (e.type === "ike") {
      void eng.receive({
        data: Buffer.from(e.data),
        local: { address: local, port: 4500 },
        remote: e.from,
      });
    } else if (e.type === "acquire") acquirer.onPacket(e.packet);
    else if (e.type === "soft") {
      const spiIn =
        e.direction === "in" ? e.spi : [...pairs].find(([, p]) => p.spiOut === e.spi)?.[0];
      log(`SA ${e.direction} ${spiHex(e.spi)}: soft byte lifetime reached, rekeying`);
      if (spiIn !== undefined) eng.rekeyChild(spiIn);
    } else
      log(`SA ${e.direction} ${spiHex(e.spi)} (${e.label}): hard lifetime reached, SA expired`);
  };
  dp = startDataPath({
    tunFd: tun.fd,
    udpFd,
    rawFd,
    acquire: true,
    onEvent,
    onError: (role, e) => env.err(`agent: ${role} worker failed: ${e.message}`),
  });
  const data = dp;
  applySteering(net, cfg, plan.steering);
  applyGuard(net, cfg.tun, plan.guard, bypass);
  const snapshot = () => ({
    time: new Date().toISOString(),
    ...data.stats(),
    acquire: acquirer.counters(),
    peers: acquirer.peers(),
    ike: { drops: eng.stats(), sas: eng.sas() },
  });
  /** The effective policy and firewall settings again (gpupdate, the refresh interval). */
  const reload = async (why: string) => {
    const eff = loadEffectiveStore(env.home);
    const next = await planOf(eff.store, ours, local, providers, member, resolver, log);
    if (next.policy === null) {
      log(`reload (${why}): no policy assigned any more; the running one stays until restart`);
      return { reloaded: false, policy: plan.policy?.name ?? null };
    }
    plan = next;
    peers.splice(0, peers.length, ...next.responders);
    applySteering(net, cfg, next.steering);
    applyGuard(net, cfg.tun, next.guard, bypass);
    await firewall.reapply();
    log(
      `reload (${why}): policy "${next.policy.name}" (${eff.source === "domain" ? `GPO '${eff.gpo}'` : "local store"}), ${next.steering.length} steering selectors, ${next.responders.length} IKE peers`,
    );
    return { reloaded: true, policy: next.policy.name, source: eff.source };
  };
  const refresh =
    member === null || o.gpRefreshMs <= 0
      ? null
      : setInterval(() => {
          void refreshFromDomain(env, log).then(() => reload("policy refresh interval"));
        }, o.gpRefreshMs);
  refresh?.unref();
  const monitor = createMonitor({
    now: Date.now,
    localAddress: local,
    ikeSas: () => eng.sas(),
    ikeDrops: () => eng.stats(),
    establishedAtMs: (spis) => established.get(spis),
    children: () => [...pairs.values()].map((p) => p.child),
    data: () => data.stats(),
    acquire: () => acquirer.counters(),
    get spd() {
      return plan.spd;
    },
    ruleAuth: (name) =>
      plan.policy?.rules.find((r) => r.name === name)?.auth.map((m) => m.kind) ?? [],
  });
  for (const n of plan.notes) log(`policy note: ${n}`);
  await serveAgent({
    env,
    paths,
    snapshot,
    monitor: (cmd) => {
      if (cmd === "bypass") return { peers: firewall.tracker.list() };
      if (cmd === "reload") return reload("asked by gpupdate");
      if (cmd === "delete-sas") {
        const gone = eng.sas().filter((x) => eng.deleteIkeSa(x.spis));
        log(`${gone.length} IKE SAs deleted on request; the next packet negotiates again`);
        return { deletedIkeSas: gone.map((x) => x.spis) };
      }
      if (cmd === "purge") return purgeMachineTickets(env.home, eng, log);
      return monitor.answer(cmd);
    },
    dropStats: () => data.stats(),
    ready: `ready: policy "${first.policy.name}", ${plan.steering.length} steering selectors, ${plan.responders.length} IKE peers, TUN ${cfg.tun}, IKE ${local}:500/4500, pid ${process.pid}`,
    cleanup: async () => {
      if (refresh) clearInterval(refresh);
      eng.close();
      removeSteering(net, cfg);
      removeGuard(net);
      await data.stop();
      ike500.close();
      libc.close(udpFd);
      if (rawFd >= 0) libc.close(rawFd);
      libc.close(tun.fd);
    },
  });
  return 0;
}

/** The machine account and its Kerberos, when this host has joined a domain. */
function loadDomainMember(home: string, dns: DomainResolver, log: (l: string) => void) {
  const member = loadMember(home, dns, Date.now);
  if (member !== null)
    log(`domain member ${member.id.sam} of ${member.id.realm}: Kerberos from the machine keytab`);
  return member;
}

function lazyResolver(home: string, dns: string | null): DomainResolver {
  let resolver: DomainResolver | null = null;
  const get = () => {
    if (resolver === null) {
      const [host, port] = (dns ?? loadMachineDc(home) ?? "").split(":");
      if (!host) throw new PosternError("agent", "no DNS server known: give --dns HOST[:PORT]");
      resolver = createDomainResolver({ server: { host, port: Number(port ?? 53) } });
    }
    return resolver;
  };
  return {
    lookupA: (name) => get().lookupA(name),
    lookupPtr: (address) => get().lookupPtr(address),
  };
}

function loadMachineDc(home: string): string | null {
  try {
    const info = JSON.parse(fs.readFileSync(`${home}/agent/machine.json`, "utf8")) as {
      dc?: { host?: string };
    };
    return info.dc?.host ?? null;
  } catch {
    return null;
  }
}

/** Loads the host's firewall settings (if any) and keeps the bypass set from live SAs. */
async function startFirewall(home: string, log: (l: string) => void) {
  const runner = createNftRunner({});
  // Stale peers of an agent that died went with its SAs: empty the sets, live SAs refill.
  await clearBypassPeers(runner);
  const has = fs.existsSync(settingsFile(home));
  if (has) {
    const r = await createApplier({ runner }).apply(loadSettings(home));
    log(
      r.changed
        ? `firewall rules loaded (table inet postern ${r.digest})`
        : "firewall rules already current",
    );
  }
  const reapply = async () => {
    if (!fs.existsSync(settingsFile(home))) return;
    try {
      const r = await createApplier({ runner }).apply(loadSettings(home));
      if (r.changed) log(`firewall rules reloaded (${r.keptPeers} bypass peers kept)`);
    } catch (e) {
      log(`firewall rules not reloaded: ${(e as Error).message}`);
    }
  };
  const tracker = createBypassTracker({
    set: createBypassSet(runner),
    settings: () => (fs.existsSync(settingsFile(home)) ? loadSettings(home) : null),
    log,
    now: Date.now,
  });
  return { tracker, reapply };
}

/**
 * `postern klist --machine purge`: the machine's tickets are dropped and every IKE SA
 * authenticated with Kerberos is deleted (peers learn our groups only from a ticket we
 * present as initiator), so the next packet negotiates again with a new TGT, whose PAC
 * carries the groups of now (on Windows 2003: a reboot).
 */
function purgeMachineTickets(home: string, eng: IkeEngine, log: (l: string) => void) {
  fs.rmSync(machineCcachePath(home), { force: true });
  const gone: string[] = [];
  for (const sa of eng.sas()) {
    if (sa.auth === "kerberos" && eng.deleteIkeSa(sa.spis)) gone.push(sa.spis);
  }
  log(`machine tickets purged; ${gone.length} Kerberos IKE SAs deleted to renegotiate`);
  return { purged: true, deletedIkeSas: gone };
}

/** The plan of `store`, the filters' DNS names resolved through the domain's DNS first. */
async function planOf(
  store: PolicyStore,
  ours: string[],
  local: string,
  providers: Providers,
  member: Member | null,
  resolver: DomainResolver,
  log: (l: string) => void,
): Promise<PolicyPlan> {
  let names = new Map<string, string[]>();
  if (member !== null) {
    try {
      const r = await resolveFilterNames(store, resolver);
      names = r.names;
      for (const n of r.notes) log(`DNS: ${n}`);
    } catch (e) {
      log(`DNS: filter names not resolved: ${(e as Error).message}`);
    }
  }
  return planFromStore(store, ours, local, providers, log, names);
}

/** `postern gpupdate` in the agent: the DC's effective policy, logged, never fatal. */
async function refreshFromDomain(env: CliEnv, log: (l: string) => void): Promise<void> {
  try {
    const quiet = { ...env, json: false, out: (l: string) => log(`gpupdate: ${l}`) };
    await gpupdate({ ...quiet, err: quiet.out }, [], undefined, false);
  } catch (e) {
    log(`gpupdate: ${(e as Error).message}; keeping the policy held`);
  }
}

/** Whether a negotiate action of the store offers AH (the raw AH socket is then needed). */
function usesAh(store: PolicyStore): boolean {
  return store.filterActions.some(
    (a) => a.action === "negotiate" && a.qmSecMethods.some((m) => m.ah !== undefined),
  );
}
