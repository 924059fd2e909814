/**
 * The agent's monitoring answers (`postern netsh ipsec dynamic show ...`), built from the
 * live parts: IKE SAs ("main mode SAs" in Windows' words), child SAs with the data path's
 * per-SA counters ("quick mode SAs"), counters, and the SPD as compiled ("mm/qm filters").
 * Pure: every source is injected, the clock too. Control-socket commands: mmsas, qmsas,
 * dstats, mmfilter, qmfilter (and `stats`, the raw snapshot, in serve.ts).
 */
import type { DataPathStats } from "../datapath/engine.js";
import { spiHex } from "../datapath/engine.js";
import type { IkeSaInfo } from "../ike/engine.js";
import type { TrafficSelector } from "../ike/payloads/ts.js";
import type { ChildSaRecord } from "../ike/types.js";
import type { CompiledSpd } from "../policy/evaluate.js";
import type {
  FilterView,
  MmFilterView,
  MmSaView,
  QmSaView,
  StatsView,
} from "../control/protocol.js";

// The views are the control protocol's reply types (shared with the CLI).
export type {
  FilterView,
  MmFilterView,
  MmSaView,
  QmSaView,
  StatsView,
} from "../control/protocol.js";

/** A child SA as the agent installed it, with when. */
export interface ChildView {
  record: ChildSaRecord;
  installedAtMs: number;
}

export interface MonitorDeps {
  now: () => number;
  localAddress: string;
  ikeSas: () => IkeSaInfo[];
  ikeDrops: () => Record<string, number>;
  establishedAtMs: (spis: string) => number | undefined;
  children: () => ChildView[];
  data: () => DataPathStats;
  acquire: () => Record<string, number>;
  spd: CompiledSpd;
  /** A rule's authentication methods in order ("psk", "kerberos", "rootca"). */
  ruleAuth: (ruleName: string) => string[];
}

/** The control commands the monitor answers (the agent core maps each to its view). */
export type MonitorCommand = "mmsas" | "qmsas" | "dstats" | "mmfilter" | "qmfilter";

/** "192.0.2.1-192.0.2.1 proto 0 ports 0-65535" as "192.0.2.1" / "10.0.0.0-10.0.0.255 tcp/80". */
export function selectorText(ts: TrafficSelector): string {
  const addr = (b: Buffer) => (b.length === 4 ? [...b].join(".") : ipv6(b));
  const lo = addr(ts.startAddr);
  const hi = addr(ts.endAddr);
  const range = lo === hi ? lo : `${lo}-${hi}`;
  const proto = ts.ipProtocol === 0 ? "" : ` proto ${ts.ipProtocol}`;
  const anyPort = ts.startPort === 0 && ts.endPort === 65535;
  const ports = anyPort
    ? ""
    : ts.startPort === ts.endPort
      ? ` port ${ts.startPort}`
      : ` ports ${ts.startPort}-${ts.endPort}`;
  return `${range}${proto}${ports}`;
}

function ipv6(b: Buffer): string {
  const parts: string[] = [];
  for (let i = 0; i < 16; i += 2) parts.push(b.readUInt16BE(i).toString(16));
  return parts.join(":");
}

export function createMonitor(d: MonitorDeps) {
  const age = (ms: number | undefined) =>
    ms === undefined ? null : Math.max(0, Math.floor((d.now() - ms) / 1000));
  function mmsas(): MmSaView[] {
    return d.ikeSas().map((s) => {
      const [ci = "", cr = ""] = s.spis.split("_");
      return {
        spis: s.spis,
        cookies: { initiator: ci, responder: cr },
        local: d.localAddress,
        remote: s.remote.address,
        remotePort: s.remote.port,
        natT: s.natT,
        state: s.state,
        initiator: s.initiator,
        peer: s.peer,
        peerId: s.peerId,
        auth: s.identity?.method ?? s.auth,
        identity: s.identity,
        encryption: s.suite?.encr ?? null,
        integrity: s.suite?.integ ?? null,
        prf: s.suite?.prf ?? null,
        dh: s.suite?.dh ?? null,
        lifetimeSec: s.lifetimeSec,
        ageSec: age(d.establishedAtMs(s.spis)),
        childSas: s.children.length,
      };
    });
  }
  function qmsas(): QmSaView[] {
    const counters = new Map(d.data().sas.map((s) => [`${s.direction}:${s.spi}`, s]));
    return d.children().map(({ record: c, installedAtMs }) => {
      const inS = counters.get(`in:${spiHex(c.spiIn)}`);
      const outS = counters.get(`out:${spiHex(c.spiOut)}`);
      return {
        ikeSa: c.ikeSa,
        peer: c.peerName,
        local: c.local.address,
        remote: c.remote.address,
        protocol: c.protocol,
        mode: c.mode,
        udpEncap: c.udpEncap,
        spiIn: spiHex(c.spiIn),
        spiOut: spiHex(c.spiOut),
        transform: inS?.transform ?? outS?.transform ?? "",
        localSelectors: c.tsLocal.map(selectorText),
        remoteSelectors: c.tsRemote.map(selectorText),
        bytesIn: inS?.bytes ?? 0,
        packetsIn: inS?.packets ?? 0,
        bytesOut: outS?.bytes ?? 0,
        packetsOut: outS?.packets ?? 0,
        lifetimeSec: c.lifetimeSec,
        lifetimeKb: c.lifetimeKb,
        ageSec: age(installedAtMs) ?? 0,
      };
    });
  }
  function dstats(): StatsView {
    const byState: Record<string, number> = {};
    for (const s of d.ikeSas()) byState[s.state] = (byState[s.state] ?? 0) + 1;
    const data = d.data();
    return {
      time: new Date(d.now()).toISOString(),
      ike: { sas: byState, drops: d.ikeDrops() },
      datapath: { info: { ...data.info, sas: data.sas.length }, drops: data.drops },
      acquire: d.acquire(),
    };
  }
  function qmfilter(): FilterView[] {
    return d.spd.filters().map((f) => ({
      rule: f.rule,
      filterlist: f.filterlist,
      src: f.src,
      dst: f.dst,
      protocol: f.protocol,
      srcPort: f.srcPort,
      dstPort: f.dstPort,
      mirrored: f.mirrored,
      direction: f.direction,
      action: f.action,
      filteraction: f.filteraction,
      weight: f.weight,
    }));
  }
  /** Main mode filters: one per (rule, src, dst) of the negotiating filters, ports dropped. */
  function mmfilter(): MmFilterView[] {
    const seen = new Map<string, MmFilterView>();
    for (const f of d.spd.filters()) {
      if (f.action !== "negotiate") continue;
      const key = `${f.rule}|${f.src}|${f.dst}`;
      if (!seen.has(key))
        seen.set(key, {
          rule: f.rule,
          src: f.src,
          dst: f.dst,
          auth: d.ruleAuth(f.rule),
          weight: f.weight,
        });
    }
    return [...seen.values()];
  }
  return { mmsas, qmsas, dstats, mmfilter, qmfilter };
}
