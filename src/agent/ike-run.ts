/**
 * `postern agent` from the effective policy: the shell that opens the real devices and
 * runs the core (core.ts) on them.
 *   1. root, our addresses, the directory client (host-policy.ts)
 *   2. TUN `postern0`, the UDP 4500 socket (SO_MARK bypass) the data path's workers own,
 *      IKE on UDP 500 (ike/transport.ts createSharedNattTransport: 4500 sends go through
 *      the data path's socket), the raw AH socket when the policy asks for AH
 *   3. the kernel adapter (kernel.ts): steering, guard, firewall and its bypass set
 *   4. createAgent(...).start(), then the control socket, drop log and SIGTERM (serve.ts)
 */
import * as os from "node:os";
import { performance } from "node:perf_hooks";
import type { CliEnv } from "../cmdline/env.js";
import { dhGenerateFast, randomBytes } from "../crypto/primitives.js";
import { startDataPath } from "../datapath/engine.js";
import { PosternError } from "../errors.js";
import { readDropCounters } from "../firewall/drop-counters.js";
import { systemClock } from "../ike/clock.js";
import { createDhPool, createRandomPool } from "../ike/prepared.js";
import { createSharedNattTransport } from "../ike/transport.js";
import type { DhGroupId } from "../ike/transforms.js";
import type { IkeOptions } from "../ike/types.js";
import { agentMetrics } from "../metrics/agent.js";
import { type MetricsListen, type MetricsServer, startMetricsServer } from "../metrics/server.js";
import { createNftRunner } from "../platform/commands.js";
import { ensureDir } from "../platform/home.js";
import { loadIpsecConfig } from "../policy/ipsec-config.js";
import { createLogger, journaldStream, type LogFormat, type LogLevel } from "../platform/log.js";
import { type LibcApi, loadLibc } from "../platform/libc.js";
import { createNetConfig } from "../platform/routing.js";
import { createUdpPort, encodeSockaddrIn } from "../platform/udp.js";
import { createAgent, type DataPathFactory } from "./core.js";
import { openDataPathDevices } from "./devices.js";
import { createHostPolicySource, effectiveUsesAh } from "./host-policy.js";
import { createHostKernel, hostSteering, type SteeringConfig } from "./kernel.js";
import { keytabWriter } from "../member/machine-keys.js";
import { probeDomainDc } from "../member/dc-probe.js";
import { createProfileWatch } from "./profile-watch.js";
import { agentPaths } from "./run.js";
import type { RefusalMode } from "./refusal.js";
import type { RevocationMode } from "./revocation.js";
import { directoryWatchOf } from "./watch-of.js";
import { serveAgent } from "./serve.js";

export interface IkeAgentOptions {
  address: string | null;
  ike: Partial<IkeOptions>;
  cert: string | null;
  key: string | null;
  maxQueue: number;
  holdDownMs: number;
  /** The domain's DNS servers ("host" or "host:port"), asked in order; []: machine.json's. */
  dns: string[];
  /** How often a domain member fetches its policy from the DC again (0: never). */
  gpRefreshMs: number;
  /** The random offset added to each refresh interval, up to this. */
  gpRefreshOffsetMs: number;
  /** Where /metrics is served (--metrics); null: not served. */
  metrics: MetricsListen | null;
  /** --log-format (text or json) and the lowest level written (--verbose: debug). */
  logFormat: LogFormat;
  logLevel: LogLevel;
  /** What a peer authenticated but not admitted is told (agent/refusal.ts). */
  refusalNotice: RefusalMode;
  /** Immediate revocation (agent/revocation.ts); absent: off. */
  revocation?: RevocationMode;
  /** The AD watch's poll interval (--revocation-poll); absent: its default. */
  revocationPollMs?: number | undefined;
  /** Between checks of the firewall's current profile, ms (profile-watch.ts); 0: at start only. */
  profileCheckMs: number;
}

/** Every DH group IKE supports gets its first key pair at start; the next as each is taken. */
const PREPARED_GROUPS: readonly DhGroupId[] = [14, 19, 31];

function ourAddresses(): string[] {
  return Object.values(os.networkInterfaces())
    .flat()
    .filter((i) => i !== undefined && i.family === "IPv4" && !i.internal)
    .map((i) => (i as os.NetworkInterfaceInfo).address);
}

/** The data path's devices and IKE on UDP 500 (4500 sends through the data path's socket). */
async function openDevices(
  libc: LibcApi,
  steering: SteeringConfig,
  local: string,
  log: (l: string) => void,
) {
  const dev = openDataPathDevices(libc, {
    tun: steering.tun,
    bypassTun: steering.bypassTun,
    listen: { address: local, port: steering.listenPort },
    mark: steering.bypassMark,
  });
  try {
    const udp = createUdpPort(libc, dev.udpFd);
    const ike = await createSharedNattTransport({
      address: local,
      sendNatt: (data, to) => udp.send(data, encodeSockaddrIn(to)),
      log,
    });
    return { dev, ike };
  } catch (e) {
    dev.close();
    const code = (e as NodeJS.ErrnoException).code;
    if (code === undefined) throw e;
    throw new PosternError("agent", `cannot bind IKE to ${local}:500: ${code}`);
  }
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
  const log = createLogger({
    component: "agent",
    format: o.logFormat,
    journald: journaldStream(env.vars),
    minLevel: o.logLevel,
    write: env.out,
  });
  const policy = createHostPolicySource({ ...o, env, ours, local, log });
  const watch =
    o.revocation === "immediate" ? directoryWatchOf(env, log, o.revocationPollMs) : null;
  const paths = agentPaths(env.home);
  ensureDir(paths.dir, 0o700);
  const steering = hostSteering({ listenPort: 4500, bypassDevice: true });
  const libc = loadLibc();
  const { dev, ike } = await openDevices(libc, steering, local, log);
  // AH[...] methods: AH travels over a raw socket (IP protocol 51), opened only when the
  // policy asks for AH at start (a policy that gains AH on reload needs a restart).
  const dataPath: DataPathFactory = (onEvent, onError) => {
    if (effectiveUsesAh(env.home)) dev.openRaw();
    const { tunFd, bypassTunFd, udpFd, rawFd } = dev;
    return startDataPath({ tunFd, bypassTunFd, udpFd, rawFd, acquire: true, onEvent, onError });
  };
  const kernel = createHostKernel({ home: env.home, net: createNetConfig(), steering, log });
  const member = keytabWriter.read(env.home);
  const profile = createProfileWatch({
    home: env.home,
    domain: member?.domain ?? null,
    probe: () =>
      member === null ? Promise.reject(new Error("not a member")) : probeDomainDc(member),
    reload: () => kernel.reloadFirewall(),
    log,
    now: Date.now,
    intervalMs: o.profileCheckMs,
  });
  const dhPool = createDhPool(dhGenerateFast, (work) => setImmediate(work));
  for (const group of PREPARED_GROUPS) dhPool.prepare(group);
  const agent = createAgent({
    local,
    dataPath,
    ike,
    kernel,
    policy,
    clock: systemClock(),
    // DH key pairs made while idle, random bytes from a pool (ike/prepared.ts): the ACQUIRE
    // and the answer to IKE_SA_INIT compute no key pair on their path
    random: createRandomPool(randomBytes),
    dh: dhPool.take,
    log,
    debug: log.enabled("debug"),
    ikeOptions: o.ike,
    maxQueue: o.maxQueue,
    holdDownMs: o.holdDownMs,
    refusalNotice: o.refusalNotice,
    ipsecConfig: () => loadIpsecConfig(env.home),
    revocation: watch,
    // sub-ms times, one clock for both lab agents' logs (bench/lab.ts's breakdown)
    ...(log.enabled("debug")
      ? {
          mark: (line: string) =>
            log(
              `IKE step: ${line} at ${(performance.timeOrigin + performance.now()).toFixed(3)}`,
              "debug",
            ),
        }
      : {}),
  });
  let ready: string;
  let metrics: MetricsServer | null = null;
  try {
    // the current profile before the firewall's first load (agent.start loads it)
    await profile.check(true);
    ready = await agent.start();
    profile.start();
    if (o.metrics) {
      const nft = createNftRunner();
      const source = agentMetrics(agent.control, () => readDropCounters(nft));
      metrics = await startMetricsServer(o.metrics, source, log);
    }
  } catch (e) {
    await agent.stop();
    dev.close();
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "EADDRINUSE" || code === "EADDRNOTAVAIL" || code === "EACCES")
      throw new PosternError(
        "agent",
        `cannot serve metrics on ${o.metrics?.host}:${o.metrics?.port}: ${code}`,
      );
    throw e;
  }
  await serveAgent({
    env,
    paths,
    snapshot: agent.snapshot,
    control: agent.control,
    dropStats: agent.dropStats,
    log,
    ready: `ready: ${ready}, TUN ${steering.tun}, IKE ${local}:500/4500, pid ${process.pid}`,
    cleanup: async () => {
      profile.stop();
      await metrics?.close();
      await agent.stop();
      dev.close();
    },
  });
  return 0;
}
