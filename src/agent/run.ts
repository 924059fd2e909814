/**
 * `postern agent --manual-sa FILE`: wires the real parts together.
 *   1. read and check the keying file  2. open TUN `postern0` and the UDP 4500 socket
 *   (SO_MARK bypass)  3. start the outbound and inbound worker threads, install the SAs
 *   4. steering: link up, rp_filter, ip rule + table, nft chain spd_out  5. control
 *   socket + SIGUSR1 stats file  6. print "agent: ready"  7. on SIGTERM/SIGINT undo 4,
 *   stop the workers, close the fds.
 * Lifetime events are logged; with manual keys nothing can rekey, so a hard expiry stops
 * the traffic of that SA (counted as sa_expired drops), as with `ip xfrm`.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { CliEnv } from "../cmdline/env.js";
import { type DataPath, spiHex, startDataPath } from "../datapath/engine.js";
import type { DataPathEvent } from "../datapath/events.js";
import { PosternError } from "../errors.js";
import { ensureDir } from "../platform/home.js";
import { loadLibc } from "../platform/libc.js";
import { createNetConfig } from "../platform/routing.js";
import { ControlError, type StatsReply } from "../control/protocol.js";
import type { ControlHandler } from "../control/socket.js";
import { openDataPathDevices } from "./devices.js";
import { createHostKernel, hostSteering } from "./kernel.js";
import { parseManualKeying } from "./manual-sa.js";
import { serveAgent } from "./serve.js";

export interface AgentOptions {
  manualSa: string;
}

export function agentPaths(home: string) {
  const dir = path.join(home, "agent");
  return { dir, sock: path.join(dir, "agent.sock"), stats: path.join(dir, "stats.json") };
}

function describe(e: DataPathEvent): string {
  switch (e.type) {
    case "soft":
      return `SA ${e.direction} ${spiHex(e.spi)} (${e.label}): soft lifetime reached, rekey needed`;
    case "expired":
      return `SA ${e.direction} ${spiHex(e.spi)} (${e.label}): hard lifetime reached, SA expired`;
    case "ike":
      return `IKE datagram from ${e.from.address}:${e.from.port} (${e.data.length} bytes): no IKE with manual keys, dropped`;
    case "acquire":
      return "packet without SA";
    case "unknown_spi":
      return `${e.protocol.toUpperCase()} from ${e.from} for unknown SPI ${spiHex(e.spi)}: no IKE with manual keys, counted`;
  }
}

function snapshot(dp: DataPath): StatsReply {
  return { time: new Date().toISOString(), ...dp.stats() };
}

/** With manual keys only `stats` is answered: there is no IKE, policy or monitor. */
function manualControl(dp: DataPath): ControlHandler {
  const no = (command: string) => () => {
    throw new ControlError(
      "not-supported",
      `${command}: this agent runs manual keys (--manual-sa); only stats is answered`,
    );
  };
  return {
    stats: () => snapshot(dp),
    bypass: no("bypass"),
    reload: no("reload"),
    "delete-sas": no("delete-sas"),
    purge: no("purge"),
    mmsas: no("mmsas"),
    qmsas: no("qmsas"),
    dstats: no("dstats"),
    mmfilter: no("mmfilter"),
    qmfilter: no("qmfilter"),
    config: no("config"),
  };
}

export async function runAgent(opts: AgentOptions, env: CliEnv): Promise<number> {
  if (!env.isRoot)
    throw new PosternError(
      "agent",
      "postern agent needs root (TUN device, nftables, policy routing)",
    );
  let text: string;
  try {
    text = fs.readFileSync(path.resolve(env.cwd, opts.manualSa), "utf8");
  } catch (e) {
    throw new PosternError(
      "agent",
      `cannot read ${opts.manualSa}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
    );
  }
  const keying = parseManualKeying(text, opts.manualSa);
  const paths = agentPaths(env.home);
  ensureDir(paths.dir, 0o700);
  const cfg = hostSteering({
    tun: keying.tun ?? undefined,
    mtu: keying.mtu ?? undefined,
    listenPort: keying.listen.port,
  });
  const kernel = createHostKernel({ home: env.home, net: createNetConfig(), steering: cfg });
  const dev = openDataPathDevices(loadLibc(), {
    tun: cfg.tun,
    listen: keying.listen,
    mark: cfg.bypassMark,
  });
  try {
    if (keying.sas.some((s) => s.protocol === "ah")) dev.openRaw();
  } catch (e) {
    dev.close();
    throw e;
  }
  const dp = startDataPath({
    tunFd: dev.tunFd,
    udpFd: dev.udpFd,
    rawFd: dev.rawFd,
    onEvent: (e) => env.out(`agent: ${describe(e)}`),
    onError: (role, e) => env.err(`agent: ${role} worker failed: ${e.message}`),
  });
  const cleanup = async () => {
    kernel.remove();
    await dp.stop();
    dev.close();
  };
  try {
    for (const sa of keying.sas) dp.addSa(sa);
    const outSelectors = keying.sas
      .filter((s) => s.direction === "out")
      .flatMap((s) => s.selectors);
    await kernel.install({ steering: outSelectors, guard: [], clearPeers: [], routes: [] });
  } catch (e) {
    await cleanup();
    throw e;
  }
  await serveAgent({
    env,
    paths,
    snapshot: () => snapshot(dp),
    control: manualControl(dp),
    dropStats: () => dp.stats(),
    ready: `ready: ${keying.sas.length} SAs, TUN ${cfg.tun}, UDP ${keying.listen.address}:${keying.listen.port}, pid ${process.pid}`,
    cleanup,
  });
  return 0;
}
