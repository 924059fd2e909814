/**
 * A LAN of hosts in one process for the agent core (createAgent): each host has an address,
 * maybe an agent (its fake kernel and in-process data path), and a "stack" that does what
 * the kernel would do with the agent's rules:
 *   send     1. the steering rules match (KernelRules.steering) -> the agent's TUN
 *            2. else cleartext onto the wire to the destination host
 *   receive  cleartext: the guard (KernelRules.guard) drops protected flows, then the
 *            firewall (FakeKernel.admits, the in-memory evaluator); from the data path:
 *            the firewall with iface postern-bp for packets of SAs the bypass admitted,
 *            postern0 for the others
 *   ESP      the data paths' UDP 4500 datagrams go host to host (setImmediate)
 * A web server on a host answers a TCP SYN to port 80 that its firewall accepted.
 */
import type { AgentKernel } from "../../src/agent/kernel.js";
import { createFakeKernel, type FakeKernel } from "../../src/agent/kernel.js";
import type { DataPathFactory } from "../../src/agent/core.js";
import { createInProcessDataPath, type InProcessDataPath } from "../../src/datapath/in-process.js";
import { addressBytes, buildIpPacket, parseIpPacket } from "../../src/datapath/ippacket.js";
import { compileSelector, selectorMatches } from "../../src/datapath/spd.js";
import { randomBytes } from "../../src/crypto/primitives.js";
import type { FirewallSettings } from "../../src/firewall/model.js";

export interface Outcome {
  verdict: "accept" | "drop";
  /** Where it was decided: `guard`, or the firewall's reason (`bypass`, `default-drop`). */
  reason: string;
  /** Through the TUN (ESP) or in clear. */
  via: "esp" | "clear";
}

export interface LanHost {
  readonly name: string;
  readonly address: string;
  /** The agent's fake kernel (null: a host without an agent). */
  kernel: FakeKernel | null;
  dp: InProcessDataPath | null;
  /** What the host's input path decided for each packet to it, in order. */
  readonly inbound: (Outcome & { src: string; dport: number })[];
  /** TCP SYN-ACKs from port 80 that reached this host's applications. */
  readonly pages: string[];
  web: boolean;
}

const TCP = 6;
const SYN = 0x02;
const SYN_ACK = 0x12;

export function tcpPacket(
  src: string,
  dst: string,
  sport: number,
  dport: number,
  flags: number,
): Buffer {
  const tcp = Buffer.alloc(20);
  tcp.writeUInt16BE(sport, 0);
  tcp.writeUInt16BE(dport, 2);
  tcp.writeUInt32BE(1, 4);
  tcp[12] = 5 << 4;
  tcp[13] = flags;
  tcp.writeUInt16BE(65535, 14);
  return buildIpPacket(addressBytes(src) as Uint8Array, addressBytes(dst) as Uint8Array, TCP, tcp);
}

const text = (b: Uint8Array) => [...b].join(".");

export function createLan() {
  const hosts = new Map<string, LanHost>();
  const matches = (
    rules: readonly Parameters<typeof compileSelector>[0][],
    packet: Buffer,
    outbound: boolean,
  ) => {
    const ip = parseIpPacket(packet);
    if (ip === null) return false;
    return rules.some((ts) => {
      const s = compileSelector(ts);
      return s !== null && selectorMatches(s, ip, outbound);
    });
  };

  const input = (h: LanHost, packet: Buffer, via: "esp" | "esp-admitted" | "clear") => {
    const ip = parseIpPacket(packet);
    if (ip === null || ip.protocol !== TCP) return;
    const src = text(ip.src);
    const rules = h.kernel?.rules ?? null;
    let outcome: Outcome;
    if (
      via === "clear" &&
      rules !== null &&
      !rules.clearPeers.includes(src) &&
      matches(rules.guard, packet, true)
    )
      outcome = { verdict: "drop", reason: "guard", via: "clear" };
    else {
      const d = h.kernel?.admits({
        family: 4,
        protocol: "tcp",
        src,
        dport: ip.dstPort,
        iface: via === "esp" ? "postern0" : via === "esp-admitted" ? "postern-bp" : "eth0",
        established: (packet[ip.headerBytes + 13] ?? 0) === SYN_ACK,
      }) ?? { verdict: "accept", reason: "firewall-off" };
      outcome = { ...d, via: via === "clear" ? "clear" : "esp" };
    }
    h.inbound.push({ ...outcome, src, dport: ip.dstPort });
    if (outcome.verdict === "drop") return;
    const flags = packet[ip.headerBytes + 13];
    if (flags === SYN && h.web && ip.dstPort === 80)
      send(h, tcpPacket(h.address, src, 80, ip.srcPort, SYN_ACK));
    else if (flags === SYN_ACK && ip.srcPort === 80) h.pages.push(src);
  };

  const send = (from: LanHost, packet: Buffer) => {
    const rules = from.kernel?.rules ?? null;
    const ip = parseIpPacket(packet);
    const dst = ip === null ? "" : text(ip.dst);
    if (
      rules !== null &&
      from.dp !== null &&
      !rules.clearPeers.includes(dst) &&
      matches(rules.steering, packet, true)
    ) {
      from.dp.readTun(packet);
      return;
    }
    const to = hosts.get(dst);
    if (to !== undefined) setImmediate(() => input(to, packet, "clear"));
  };

  return {
    host(name: string, address: string): LanHost {
      const h: LanHost = {
        name,
        address,
        kernel: null,
        dp: null,
        inbound: [],
        pages: [],
        web: false,
      };
      hosts.set(address, h);
      return h;
    },
    /** The agent's kernel on `h`, over its firewall settings. */
    kernelOf(h: LanHost, settings: () => FirewallSettings | null): AgentKernel {
      h.kernel = createFakeKernel(settings);
      return h.kernel;
    },
    /** The agent's data path on `h`, wired to this LAN. */
    dataPathOf(h: LanHost): DataPathFactory {
      return (onEvent) => {
        const dp = createInProcessDataPath({
          onEvent,
          writeTun: (p, admitted) => input(h, p, admitted ? "esp-admitted" : "esp"),
          sendUdp: (datagram, to) => {
            const peer = hosts.get(to.address);
            if (peer?.dp) {
              const d = peer.dp;
              setImmediate(() => d.receiveUdp(datagram, { address: h.address, port: 4500 }));
            }
          },
          nowMs: Date.now,
          randomBytes,
          acquire: true,
        });
        h.dp = dp;
        return dp;
      };
    },
    /** An application on `from` opens TCP to `to`:80 (a SYN). */
    connect(from: LanHost, to: LanHost, sport: number) {
      send(from, tcpPacket(from.address, to.address, sport, 80, SYN));
    },
  };
}

/** Polls `cond` every 20 ms up to `ms`; true when it held. */
export async function until(cond: () => boolean, ms: number): Promise<boolean> {
  for (let waited = 0; waited < ms; waited += 20) {
    if (cond()) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return cond();
}
