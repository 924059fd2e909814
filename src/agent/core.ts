/**
 * The agent as a core with injected I/O: policy, IKE and the data path together.
 *   start  1. the effective policy's plan (PolicySource: the domain's GPO or the local
 *             store): SPD, steering selectors, guard selectors, responder peers
 *          2. the firewall table (AgentKernel), then the data path (DataPathFactory: the
 *             real workers over TUN + UDP 4500, or the in-process fake)
 *          3. the IKE engine on the IKE transport (UDP 500) and on the data path's `ike`
 *             events (UDP 4500 behind the non-ESP marker, RFC 3948 §2.2)
 *          4. child SAs key the data path (children.ts); ACQUIRE (acquire.ts) starts IKE
 *             for packets with no SA and injects them when the SA is in
 *          5. steering + guard (AgentKernel); a timer refreshes the policy from the domain
 *   control  the typed commands of control/protocol.ts
 *   stop   timers, IKE, steering and guard, the data path (the firewall stays: fail closed)
 * Nothing here opens a device or reads the clock: `postern agent` (ike-run.ts) passes the
 * real parts, test/agent/inprocess.test.ts fakes.
 */
import type { LogLevel } from "../platform/log.js";
import { type DataPath, type DataPathStats, spiHex } from "../datapath/engine.js";
import type { TrafficSelector as DpSelector } from "../esp/sa.js";
import type { DataPathEvent } from "../datapath/events.js";
import { PosternError } from "../errors.js";
import type { FirewallSettings } from "../firewall/model.js";
import { createIkeEngine, type IkeEngine } from "../ike/engine.js";
import type { IkeTransport } from "../ike/transport.js";
import type { ChildSaRecord, Clock, IkeDeps, IkeOptions, PeerConfig } from "../ike/types.js";
import { type Acquirer, createAcquirer } from "./acquire.js";
import { type BypassTracker, createBypassTracker } from "./bypass-peers.js";
import { createRefusals, type RefusalMode, type Refusals } from "./refusal.js";
import { createRevocation, type Revocation } from "./revocation.js";
import type { DirectoryWatch } from "../member/directory-watch.js";
import { type ChildSaTable, createChildSaTable } from "./children.js";
import { createClassifier } from "./classify.js";
import type { ControlHandler } from "../control/socket.js";
import {
  type ControlArgs,
  ControlError,
  type ControlReplies,
  type StatsReply,
} from "../control/protocol.js";
import type { Datagram } from "../ike/types.js";
import { DEFAULT_IPSEC_CONFIG, type IpsecConfig } from "../policy/ipsec-config.js";
import { ikeTraceLine } from "./ike-trace.js";
import type { AgentKernel, KernelRules } from "./kernel.js";
import { createMonitor } from "./monitor.js";
import {
  acquirePeerOf,
  DEFAULT_RESPONSE_PEER,
  type PolicyPlan,
  type Providers,
} from "./policy-plan.js";
import { childToSaRecords } from "./sa-convert.js";

/** The effective policy as the directory (or the local store) gives it. */
export type LoadedPolicy =
  | { plan: PolicyPlan; source: "local" }
  | { plan: PolicyPlan; source: "domain"; gpo: string; domain: string };

/** The directory client: policy, its refresh, and the machine's tickets. */
export interface PolicySource {
  /**
   * Fetches the domain's policy again (gpupdate); never throws. No-op off a domain.
   * Resolves true when something new was applied (the agent then reloads).
   */
  refresh(): Promise<boolean>;
  load(): Promise<LoadedPolicy>;
  /** How often refresh + load run (0: never), plus a random offset up to refreshOffsetMs. */
  refreshMs: number;
  refreshOffsetMs: number;
  /** The authentication methods peers are built with. */
  providers: Providers;
  /** Drops the machine's Kerberos tickets (`klist --machine purge`). */
  purgeTickets(): void;
}

/** Starts the data path; its events go to `onEvent`. */
export type DataPathFactory = (
  onEvent: (e: DataPathEvent) => void,
  onError: (role: string, e: Error) => void,
) => DataPath;

export interface AgentDeps {
  /** Our IKE/ESP address. */
  local: string;
  dataPath: DataPathFactory;
  /** IKE on UDP 500; on 4500 `send` goes out through the data path's socket. */
  ike: IkeTransport;
  kernel: AgentKernel;
  policy: PolicySource;
  clock: Clock;
  random: (n: number) => Buffer;
  dh: IkeDeps["dh"];
  log: (line: string, level?: LogLevel) => void;
  /**
   * False when debug lines are not written (no --verbose): IKE then formats no message
   * for them (each exchange's payload list, on the first page's path). Default true.
   */
  debug?: boolean;
  ikeOptions: Partial<IkeOptions>;
  maxQueue: number;
  holdDownMs: number;
  /** What a peer we authenticate but do not admit is told (agent/refusal.ts); default reason. */
  refusalNotice?: RefusalMode;
  /**
   * `netsh ipsec dynamic set config` as stored (policy/ipsec-config.ts): read at start and
   * on the control command `config`. Absent: Windows' defaults.
   */
  ipsecConfig?: () => IpsecConfig;
  /** Immediate revocation's directory watch (agent/revocation.ts); absent: off, as in the article. */
  revocation?: DirectoryWatch | null;
  /**
   * Writes one step of a setup with a sub-millisecond time (--verbose): acquire, IKE's
   * steps (IkeDeps.mark), the child SA keyed and the queued packets released. Written only
   * while `ikelogging` is 1, for bench/lab.ts's breakdown; absent: never.
   */
  mark?: (line: string) => void;
}

/** Logs one IKE message when `ikelogging` is 1 (ike-trace.ts). */
type IkeTrace = (direction: "sent" | "received", d: Datagram) => void;

/** AgentDeps.mark while `ikelogging` is 1: `step` of `who` (an IKE SA's SPIs, or a peer). */
type Mark = ((step: string, who: string) => void) | undefined;

export interface Agent {
  /** Runs the policy; resolves with the ready line's text. */
  start(): Promise<string>;
  stop(): Promise<void>;
  control: ControlHandler;
  snapshot(): StatsReply;
  dropStats(): DataPathStats;
  /** The plan in force (after start). */
  plan(): PolicyPlan;
  /** Peers whose IKE SA admitted them to the firewall's bypass set, and why (or why not). */
  bypass: BypassTracker;
}

/** What start() builds; the core's state while it runs. */
interface Running {
  /** The plan in force; a reload replaces it. */
  current: { plan: PolicyPlan };
  engine: IkeEngine;
  data: DataPath;
  children: ChildSaTable;
  acquirer: Acquirer;
  established: Map<string, number>;
  clearPeers: string[];
  /**
   * Flows the default response rule protects, by inbound SPI of their child SA: steered
   * while the SA lives (Windows adds such filters dynamically for the SA's life).
   */
  answered: Map<number, DpSelector[]>;
  /** Ends the answered flows' kernel updates (stop: nothing may re-add steering after). */
  stopAnswered: () => void;
  /** The IKE engine's peers: the plan's responders and the initiators ACQUIRE added. */
  peers: PeerConfig[];
  monitor: ReturnType<typeof createMonitor>;
  cancelRefresh: () => void;
}

export function createAgent(deps: AgentDeps): Agent {
  const { log, kernel } = deps;
  const now = () => deps.clock.now();
  const settings = () => kernel.firewallSettings();
  const revocation: Revocation | null = deps.revocation
    ? createRevocation({
        watch: deps.revocation,
        settings,
        clock: deps.clock,
        log,
        revoke: async (spis, why) => {
          const was = bypass.list().find((d) => d.spis === spis);
          await bypass.revoke(spis, why);
          const engine = run?.engine;
          const sa = engine?.sas().find((x) => x.spis === spis);
          // the peer is told why inside the SA, then the SA is deleted (the same queue)
          if (engine && sa)
            refusals.onRevoked(sa, groupName(settings, was?.authorizedBy ?? null), (x, n) =>
              engine.tellRefusal(x, n),
            );
          engine?.deleteIkeSa(spis);
        },
      })
    : null;
  const bypass = createBypassTracker({
    set: kernel.bypass,
    settings,
    log,
    now,
    ...(revocation ? { revoked: revocation.refusal } : {}),
  });
  const refusals = createRefusals({
    clock: deps.clock,
    log,
    mode: deps.refusalNotice ?? "reason",
    settings: () => kernel.firewallSettings(),
  });
  let run: Running | null = null;
  let config: IpsecConfig = { ...DEFAULT_IPSEC_CONFIG };
  /** Reads the stored configuration; a change of ikelogging is logged. Throws a bad file's error. */
  const applyConfig = (why: string): IpsecConfig => {
    const next = deps.ipsecConfig?.() ?? { ...DEFAULT_IPSEC_CONFIG };
    if (next.ikelogging !== config.ikelogging)
      log(
        `IKE detail logging ${next.ikelogging ? "on" : "off"} (ikelogging=${next.ikelogging}, ${why})`,
      );
    config = next;
    return { ...config };
  };
  const trace: IkeTrace = (direction, d) => {
    if (config.ikelogging) log(ikeTraceLine(direction, d));
  };
  const mark: Mark =
    deps.mark &&
    ((step, who) => {
      if (config.ikelogging) deps.mark?.(`${who} ${step}`);
    });
  /** Policy loads by result: loaded, unchanged (nothing assigned any more), failed. */
  const loads: Record<string, number> = { loaded: 0, none_assigned: 0, failed: 0 };
  const running = (): Running => {
    if (run === null) throw new ControlError("failed", "the agent is not running");
    return run;
  };
  const reload = async (why: string) => {
    try {
      const r = await reloadPolicy(deps, running(), why);
      bump(loads, r.reloaded ? "loaded" : "none_assigned");
      return r;
    } catch (e) {
      bump(loads, "failed");
      throw e;
    }
  };

  const start = async (): Promise<string> => {
    try {
      applyConfig("at start");
    } catch (e) {
      // A damaged file must not keep IPsec down: Windows' defaults, and say so.
      log(`${(e as Error).message}: Windows' defaults used (ikelogging=0)`, "warning");
    }
    await deps.policy.refresh();
    const first = await deps.policy.load();
    const policy = first.plan.policy;
    if (policy === null)
      throw new PosternError(
        "agent",
        "no IPsec policy is assigned: none from the domain's GPOs, none in the local store (netsh ipsec static set policy ... assign=yes)",
      );
    log(
      first.source === "domain"
        ? `policy "${policy.name}" assigned by GPO '${first.gpo}' of ${first.domain}`
        : `policy "${policy.name}" from the local store`,
    );
    const fw = await kernel.loadFirewall();
    if (fw !== null) log(fw);
    bump(loads, "loaded");
    run = wire(deps, first.plan, bypass, reload, refusals, trace, mark, revocation);
    await kernel.install(rulesOf(run));
    // "ready" means packets are read: not before the data path's workers poll the TUN
    await run.data.ready;
    revocation?.start();
    for (const n of first.plan.notes) log(`policy note: ${n}`, "notice");
    return `policy "${policy.name}", ${first.plan.steering.length} steering selectors, ${first.plan.responders.length} IKE peers`;
  };

  let ikeClosed = false;
  /** Idempotent; also after a start() that failed half-way. */
  const stop = async () => {
    const r = run;
    run = null;
    revocation?.stop();
    if (r !== null) {
      r.cancelRefresh();
      r.engine.close();
      r.stopAnswered();
      kernel.remove();
      await r.data.stop();
    }
    if (!ikeClosed) {
      ikeClosed = true;
      await deps.ike.close();
    }
  };

  const snapshot = () => ({
    ...snapshotOf(running(), now()),
    bypass: bypass.counts(),
    policy: { ...loads },
  });

  return {
    start,
    stop,
    control: {
      ...controlOf(deps, running, bypass, reload, refusals, snapshot),
      config: () => applyConfig("asked by netsh ipsec dynamic set config"),
    },
    snapshot,
    dropStats: () => running().data.stats(),
    plan: () => running().current.plan,
    bypass,
  };
}

const bump = (m: Record<string, number>, k: string) => {
  m[k] = (m[k] ?? 0) + 1;
};

/** gpupdate's `reload` and the refresh timer: the policy again, kernel and firewall after it. */
async function reloadPolicy(
  deps: AgentDeps,
  r: Running,
  why: string,
): Promise<ControlReplies["reload"]> {
  const next = await deps.policy.load();
  if (next.plan.policy === null) {
    deps.log(`reload (${why}): no policy assigned any more; the running one stays until restart`);
    return { reloaded: false, policy: r.current.plan.policy?.name ?? null };
  }
  r.current.plan = next.plan;
  r.peers.splice(0, r.peers.length, ...next.plan.responders);
  await deps.kernel.update(rulesOf(r));
  const fw = await deps.kernel.reloadFirewall();
  if (fw !== null) deps.log(fw);
  const origin = next.source === "domain" ? `GPO '${next.gpo}'` : "local store";
  deps.log(
    `reload (${why}): policy "${next.plan.policy.name}" (${origin}), ${next.plan.steering.length} steering selectors, ${next.plan.responders.length} IKE peers`,
  );
  return { reloaded: true, policy: next.plan.policy.name, source: next.source };
}

function rulesOf(r: Pick<Running, "current" | "answered" | "clearPeers">): KernelRules {
  return {
    steering: [...r.current.plan.steering, ...[...r.answered.values()].flat()],
    guard: r.current.plan.guard,
    clearPeers: r.clearPeers,
    routes: r.current.plan.tunnelRoutes,
  };
}

/** `stats`: the raw snapshot (SIGUSR1 writes the same). */
function snapshotOf(r: Running, nowMs: number): StatsReply {
  return {
    time: new Date(nowMs).toISOString(),
    ...r.data.stats(),
    acquire: r.acquirer.counters(),
    peers: r.acquirer.peers(),
    ike: { drops: r.engine.stats(), sas: r.engine.sas() },
  };
}

/** One typed answer per control command (control/protocol.ts). */
function controlOf(
  deps: AgentDeps,
  running: () => Running,
  bypass: BypassTracker,
  reload: (why: string) => Promise<ControlReplies["reload"]>,
  refusals: Refusals,
  snapshot: () => StatsReply,
): Omit<ControlHandler, "config"> {
  return {
    stats: snapshot,
    bypass: () => ({ peers: bypass.list() }),
    reload: () => reload("asked by gpupdate"),
    "delete-sas": (args) => deleteSas(deps, running(), args ?? {}),
    purge: () => purge(deps, running().engine),
    mmsas: () =>
      running()
        .monitor.mmsas()
        .map((v) => ({ ...v, refusal: refusals.of(v.spis) })),
    qmsas: () => running().monitor.qmsas(),
    dstats: () => running().monitor.dstats(),
    mmfilter: () => running().monitor.mmfilter(),
    qmfilter: () => running().monitor.qmfilter(),
  };
}

/**
 * `postern agent delete-sas` and `netsh ipsec dynamic delete mmsas|qmsas|all`: args.kind
 * "mm" (default) deletes IKE SAs with their child SAs, "qm" child SAs only; args.src and
 * args.dst (addresses, "any" or absent: all) pick them by local and remote address, as
 * `show mmsas|qmsas srcaddr= dstaddr=` shows them. Each deletion sends the peer a Delete.
 */
function deleteSas(deps: AgentDeps, r: Running, args: ControlArgs): ControlReplies["delete-sas"] {
  const kind = args.kind ?? "mm";
  if (kind !== "mm" && kind !== "qm")
    throw new ControlError("malformed-request", `delete-sas: kind "${kind}" (expected mm or qm)`);
  const want = (w: string | undefined, have: string) =>
    w === undefined || w.toLowerCase() === "any" || w.toLowerCase() === have.toLowerCase();
  const picks = (local: string, remote: string) => want(args.src, local) && want(args.dst, remote);
  const scope =
    args.src === undefined && args.dst === undefined
      ? ""
      : ` (${args.src ?? "any"} -> ${args.dst ?? "any"})`;
  if (kind === "qm") {
    const gone = r.children
      .views()
      .filter((v) => picks(v.record.local.address, v.record.remote.address))
      .filter((v) => r.engine.deleteChild(v.record.spiIn))
      .map((v) => spiHex(v.record.spiIn));
    deps.log(
      `${gone.length} child SAs deleted on request${scope}; the next packet negotiates again`,
    );
    return { deletedIkeSas: [], deletedChildSas: gone };
  }
  const gone = r.engine
    .sas()
    .filter((x) => picks(deps.local, x.remote.address))
    .filter((x) => r.engine.deleteIkeSa(x.spis));
  deps.log(`${gone.length} IKE SAs deleted on request${scope}; the next packet negotiates again`);
  return { deletedIkeSas: gone.map((x) => x.spis) };
}

/** The bypass list's name for `sid` (the group that admitted a peer), or null. */
function groupName(settings: () => FirewallSettings | null, sid: string | null): string | null {
  if (sid === null) return null;
  try {
    const e = settings()?.bypass.find((b) => b.sid.toUpperCase() === sid.toUpperCase());
    return e?.name || null;
  } catch {
    return null;
  }
}

/**
 * `postern klist --machine purge`: the machine's tickets are dropped and every IKE SA
 * authenticated with Kerberos is deleted (peers learn our groups only from a ticket we
 * present as initiator), so the next packet negotiates again with a new TGT, whose PAC
 * carries the groups of now (on Windows 2003: a reboot).
 */
function purge(deps: AgentDeps, engine: IkeEngine): ControlReplies["purge"] {
  deps.policy.purgeTickets();
  const gone: string[] = [];
  for (const sa of engine.sas()) {
    if (sa.auth === "kerberos" && engine.deleteIkeSa(sa.spis)) gone.push(sa.spis);
  }
  deps.log(`machine tickets purged; ${gone.length} Kerberos IKE SAs deleted to renegotiate`);
  return { purged: true, deletedIkeSas: gone };
}

type Reload = (why: string) => Promise<unknown>;

/** The running parts of start(): data path, IKE engine, ACQUIRE, monitor, refresh timer. */
function wire(
  deps: AgentDeps,
  plan: PolicyPlan,
  bypass: BypassTracker,
  reload: Reload,
  refusals: Refusals,
  trace: IkeTrace,
  mark: Mark,
  revocation: Revocation | null,
): Running {
  const { log } = deps;
  const now = () => deps.clock.now();
  const peers: PeerConfig[] = [...plan.responders];
  const established = new Map<string, number>();
  const clearPeers: string[] = [];
  // Filled in below; the callbacks only run once the engine and data path exist.
  const late: { engine?: IkeEngine; data?: DataPath } = {};
  const current = { plan };
  const answered = new Map<number, DpSelector[]>();
  const steerAnswered = answeredSteering(deps, { current, answered, clearPeers });
  const acquirer = acquirerOf(deps, current, peers, clearPeers, answered, late, mark);
  const children = createChildSaTable(
    {
      addSa: (r) => late.data?.addSa(r),
      removeSa: (dir, spi) => late.data?.removeSa(dir, spi),
    },
    now,
    // IKE calls onIkeSaState("established") before it installs the SA's first child, and
    // the tracker decides synchronously: the first packet already finds its class.
    (ikeSa) => bypass.admits(ikeSa),
  );
  const engine = createEngine(
    deps,
    peers,
    children,
    acquirer,
    bypass,
    established,
    refusals,
    steerAnswered,
    trace,
    mark,
    revocation,
  );
  late.engine = engine;
  deps.ike.onReceive((d) => void engine.receive(d));
  const data = deps.dataPath(
    (e) => onDataPathEvent(e, deps, engine, children, acquirer),
    (role, e) => log(`${role} worker failed: ${e.message}`, "error"),
  );
  late.data = data;
  const monitor = createMonitor({
    now,
    localAddress: deps.local,
    ikeSas: () => engine.sas(),
    ikeDrops: () => engine.stats(),
    establishedAtMs: (spis) => established.get(spis),
    children: () => children.views(),
    data: () => data.stats(),
    acquire: () => acquirer.counters(),
    get spd() {
      return current.plan.spd;
    },
    ruleAuth: (name) => ruleAuth(current.plan, name),
  });
  const cancelRefresh = scheduleRefresh(deps, reload);
  return {
    current,
    engine,
    data,
    children,
    acquirer,
    established,
    clearPeers,
    answered,
    stopAnswered: steerAnswered.stop,
    monitor,
    cancelRefresh,
    peers,
  };
}

/** A rule's authentication methods in order (the monitor's mmfilter). */
function ruleAuth(plan: PolicyPlan, name: string): string[] {
  return plan.policy?.rules.find((r) => r.name === name)?.auth.map((m) => m.kind) ?? [];
}

/** ACQUIRE: packets with no SA start IKE with the peer their rule derives (acquire.ts). */
function acquirerOf(
  deps: AgentDeps,
  current: { plan: PolicyPlan },
  peers: PeerConfig[],
  clearPeers: string[],
  answered: Map<number, DpSelector[]>,
  late: { engine?: IkeEngine; data?: DataPath },
  mark: Mark,
): Acquirer {
  const remoteOf = new Map<string, string>();
  return createAcquirer({
    now: () => deps.clock.now(),
    classify: createClassifier({
      plan: () => current.plan,
      providers: () => deps.policy.providers,
      local: deps.local,
      start: (p) => {
        mark?.("acquire", `peer ${p.remoteAddress}`);
        remoteOf.set(p.name, p.remoteAddress);
        if (!peers.some((q) => q.name === p.name)) peers.unshift(p);
        try {
          late.engine?.initiate(p.name);
        } catch (e) {
          deps.log(`IKE with ${p.name} not started: ${(e as Error).message}`, "warning");
        }
      },
    }),
    inject: (p) => late.data?.inject(p),
    // `soft`: the peer did not answer IKE; its traffic goes in clear, unsteered, unguarded.
    fallback: (peer) => {
      const h = remoteOf.get(peer);
      if (h === undefined || clearPeers.includes(h)) return;
      clearPeers.push(h);
      deps.kernel
        .update(rulesOf({ current, answered, clearPeers }))
        .catch((e: Error) => deps.log(`soft fallback to ${h}: steering not updated: ${e.message}`));
    },
    log: deps.log,
    maxQueue: deps.maxQueue,
    holdDownMs: deps.holdDownMs,
  });
}

/** What the default response rule's child SAs do to steering (answeredSteering). */
interface AnsweredSteering {
  installed(c: ChildSaRecord): void;
  deleted(spiIn: number): void;
  stop(): void;
}

/**
 * The flows the default response rule answered are steered for their SA's life: added when
 * its child SA is installed, removed with it (a rekey swaps one for the other). Kernel
 * updates run one after the other, each with the table of now.
 */
function answeredSteering(
  deps: AgentDeps,
  r: Pick<Running, "current" | "answered" | "clearPeers">,
): AnsweredSteering {
  let chain = Promise.resolve();
  let stopped = false;
  const update = (why: string) => {
    chain = chain
      .then(() => (stopped ? undefined : deps.kernel.update(rulesOf(r))))
      .catch((e: Error) =>
        deps.log(`default response rule: steering not updated (${why}): ${e.message}`),
      );
  };
  return {
    installed(c) {
      if (c.peerName !== DEFAULT_RESPONSE_PEER) return;
      const sa = childToSaRecords(c);
      if ("error" in sa) return;
      if (c.replacesSpiIn !== null) r.answered.delete(c.replacesSpiIn);
      r.answered.set(c.spiIn, sa.out.selectors);
      deps.log(
        `default response rule: protecting ${sa.out.selectors.map((x) => `${x.local} <-> ${x.remote}`).join(", ")} for ${c.remote.address}`,
      );
      update(`child SA ${spiHex(c.spiIn)} installed`);
    },
    deleted(spiIn) {
      if (r.answered.delete(spiIn)) update(`child SA ${spiHex(spiIn)} deleted`);
    },
    stop() {
      stopped = true;
    },
  };
}

function createEngine(
  deps: AgentDeps,
  peers: PeerConfig[],
  children: ChildSaTable,
  acquirer: Acquirer,
  bypass: BypassTracker,
  established: Map<string, number>,
  refusals: Refusals,
  answered: AnsweredSteering,
  trace: IkeTrace,
  mark: Mark,
  revocation: Revocation | null,
): IkeEngine {
  const { log } = deps;
  const onChildSa = (c: ChildSaRecord) => {
    const r = children.install(c);
    if (!r.ok) {
      log(`child SA ${spiHex(c.spiIn)} with ${c.peerName}: not installed: ${r.error}`, "error");
      return;
    }
    log(
      `child SA installed: ${c.peerName} in ${spiHex(c.spiIn)} out ${spiHex(c.spiOut)} ${r.transform} ${c.mode}`,
    );
    mark?.("child SA handed to the data path", c.ikeSa);
    answered.installed(c);
    acquirer.onChildSa(acquirePeerOf(c));
    mark?.("queued packets released", c.ikeSa);
  };
  const engine: IkeEngine = createIkeEngine({
    peers,
    clock: deps.clock,
    random: deps.random,
    dh: deps.dh,
    log,
    ...(deps.debug === false ? {} : { debug: (line: string) => log(line, "debug") }),
    ...(mark ? { mark } : {}),
    onChildSa,
    onChildSaDeleted: (spiIn) => {
      answered.deleted(spiIn);
      const gone = children.remove(spiIn);
      if (gone !== null) acquirer.onChildSaDeleted(acquirePeerOf(gone));
    },
    onIkeSaState: (peer, spis, state) => {
      if (state === "established") {
        established.set(spis, deps.clock.now());
        const info = engine.sas().find((x) => x.spis === spis);
        // The decision is taken at once (the child SAs installed next carry it); the nft
        // set it then writes is only the record `peer list` shows, so nothing waits for it.
        if (info)
          void bypass.onEstablished(info).then((d) => {
            refusals.onDecision(info, d, (x, n) => engine.tellRefusal(x, n));
            const live = engine.sas().some((x) => x.spis === spis);
            if (live && d.authorizedBy !== null && d.principal !== null)
              revocation?.track(spis, d.principal, info.identity?.authTime);
          });
      }
      if (state === "closed") {
        void bypass.onClosed(spis);
        revocation?.untrack(spis);
        refusals.onClosed(spis);
        acquirer.onIkeClosed(peer, established.delete(spis));
      }
    },
    onRefusal: (spis, n) => {
      const sa = engine.sas().find((x) => x.spis === spis);
      if (sa) refusals.onReceived(spis, sa.remote.address, n);
    },
    options: deps.ikeOptions,
    send: (d) => {
      trace("sent", d);
      deps.ike.send(d);
    },
  });
  // Both ways in: UDP 500 (deps.ike) and 4500 (the data path's "ike" events).
  return {
    ...engine,
    receive: (d) => {
      trace("received", d);
      return engine.receive(d);
    },
  };
}

function onDataPathEvent(
  e: DataPathEvent,
  deps: AgentDeps,
  engine: IkeEngine,
  children: ChildSaTable,
  acquirer: Acquirer,
): void {
  switch (e.type) {
    case "ike":
      void engine.receive({
        data: Buffer.from(e.data),
        local: { address: deps.local, port: 4500 },
        remote: e.from,
      });
      return;
    case "acquire":
      acquirer.onPacket(e.packet);
      return;
    case "unknown_spi":
      engine.unknownSpi(e.from, e.spi, e.protocol);
      return;
    case "soft": {
      const spiIn = e.direction === "in" ? e.spi : children.spiInOf(e.spi);
      deps.log(`SA ${e.direction} ${spiHex(e.spi)}: soft byte lifetime reached, rekeying`);
      if (spiIn !== undefined) engine.rekeyChild(spiIn);
      return;
    }
    case "expired":
      deps.log(
        `SA ${e.direction} ${spiHex(e.spi)} (${e.label}): hard lifetime reached, SA expired`,
      );
      return;
  }
}

/**
 * gpupdate every refreshMs plus a random offset up to refreshOffsetMs (drawn again each
 * time, as Windows spreads its members' refreshes over the DCs), on the injected clock; a
 * reload follows only when the refresh applied something new. Returns the cancel.
 */
function scheduleRefresh(deps: AgentDeps, reload: Reload): () => void {
  if (deps.policy.refreshMs <= 0) return () => undefined;
  let cancel: () => void = () => undefined;
  let stopped = false;
  const delay = () =>
    deps.policy.refreshMs +
    Math.floor((deps.random(4).readUInt32LE(0) / 2 ** 32) * deps.policy.refreshOffsetMs);
  const arm = () => {
    cancel = deps.clock.setTimer(delay(), () => {
      void deps.policy
        .refresh()
        .then((changed) => (changed ? reload("policy refresh interval") : undefined))
        .catch((e: Error) => deps.log(`policy refresh: ${e.message}`, "warning"))
        .finally(() => {
          if (!stopped) arm();
        });
    });
  };
  arm();
  return () => {
    stopped = true;
    cancel();
  };
}
