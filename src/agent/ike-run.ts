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
import type { CliEnv } from "../cli/env.js";
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
import { createBypassSet } from "../firewall/bypass.js";
import { createNftRunner } from "../firewall/nft.js";
import { loadSettings, settingsFile } from "../firewall/store.js";
import { createDomainResolver } from "../domain/resolver.js";
import { machineCcachePath } from "../domain/machine-keys.js";
import { createBypassTracker } from "./bypass-peers.js";
import { loadMember, type Member } from "./member.js";
import { ensureDir } from "../platform/home.js";
import { loadLibc } from "../platform/libc.js";
import { createNetConfig } from "../platform/routing.js";
import { openTun } from "../platform/tun.js";
import { createUdpPort, encodeSockaddrIn, openUdpSocket } from "../platform/udp.js";
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
  plan: PolicyPlan,
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
  const effective = loadEffectiveStore(env.home);
  const store = effective.store;
  const ours = ourAddresses();
  const local = o.address ?? ours[0];
  if (local === undefined)
    throw new PosternError("agent", "no IPv4 address on this host; give --address");
  const log = (line: string) => env.out(`agent: ${line}`);
  const member = loadDomainMember(env.home, o.dns, log);
  const providers = providersFrom(o, env, member);
  const plan = planFromStore(store, ours, local, providers, log);
  if (plan.policy === null)
    throw new PosternError(
      "agent",
      "no IPsec policy is assigned in the local store (netsh ipsec static set policy ... assign=yes)",
    );
  const paths = agentPaths(env.home);
  ensureDir(paths.dir, 0o700);
  log(
    effective.source === "domain"
      ? `policy "${plan.policy.name}" assigned by GPO '${effective.gpo}' of ${effective.domain}`
      : `policy "${plan.policy.name}" from the local store`,
  );
  const firewall = await startFirewall(env.home, log);
  const cfg = { ...DEFAULT_STEERING, listenPort: 4500 };
  const libc = loadLibc();
  const net = createNetConfig();
  const tun = openTun(libc, cfg.tun);
  let udpFd = -1;
  const ike500 = dgram.createSocket("udp4");
  try {
    udpFd = openUdpSocket(libc, { address: local, port: 4500 }, cfg.bypassMark);
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
      plan,
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
        if (info) void firewall.tracker.onEstablished(info);
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
    rawFd: -1,
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
  const monitor = createMonitor({
    now: Date.now,
    localAddress: local,
    ikeSas: () => eng.sas(),
    ikeDrops: () => eng.stats(),
    establishedAtMs: (spis) => established.get(spis),
    children: () => [...pairs.values()].map((p) => p.child),
    data: () => data.stats(),
    acquire: () => acquirer.counters(),
    spd: plan.spd,
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
      if (cmd === "purge") return purgeMachineTickets(env.home, eng, log);
      return monitor.answer(cmd);
    },
    dropStats: () => data.stats(),
    ready: `ready: policy "${plan.policy.name}", ${plan.steering.length} steering selectors, ${plan.responders.length} IKE peers, TUN ${cfg.tun}, IKE ${local}:500/4500, pid ${process.pid}`,
    cleanup: async () => {
      eng.close();
      removeSteering(net, cfg);
      removeGuard(net);
      await data.stop();
      ike500.close();
      libc.close(udpFd);
      libc.close(tun.fd);
    },
  });
  return 0;
}

/** The machine account and its Kerberos, when this host has joined a domain. */
function loadDomainMember(home: string, dns: string | null, log: (l: string) => void) {
  const member = loadMember(home, lazyResolver(home, dns), Date.now);
  if (member !== null)
    log(`domain member ${member.id.sam} of ${member.id.realm}: Kerberos from the machine keytab`);
  return member;
}

function lazyResolver(home: string, dns: string | null) {
  let resolver: ReturnType<typeof createDomainResolver> | null = null;
  return {
    lookupPtr(address: string) {
      if (resolver === null) {
        const dc = loadMachineDc(home);
        const [host, port] = (dns ?? dc ?? "").split(":");
        if (!host) throw new PosternError("agent", "no DNS server known: give --dns HOST[:PORT]");
        resolver = createDomainResolver({ server: { host, port: Number(port ?? 53) } });
      }
      return resolver.lookupPtr(address);
    },
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
  const has = fs.existsSync(settingsFile(home));
  if (has) {
    const r = await createApplier({ runner }).apply(loadSettings(home));
    log(
      r.changed
        ? `firewall rules loaded (table inet postern ${r.digest})`
        : "firewall rules already current",
    );
  }
  const tracker = createBypassTracker({
    set: createBypassSet(runner),
    settings: () => (fs.existsSync(settingsFile(home)) ? loadSettings(home) : null),
    log,
    now: Date.now,
  });
  return { tracker };
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
