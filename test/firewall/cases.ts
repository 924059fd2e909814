/**
 * The shared firewall cases: one list, run against the in-memory evaluator
 * (evaluator.test.ts) and against real nftables between two namespaces with real traffic
 * (nftables.test.ts). Topology (the nftables suite builds it):
 *
 *   server ns "A" (firewall)                     client ns "B"
 *   vethA 10.31.1.1/24, fd00:31:1::1/64  <---->  vethB 10.31.1.2 (peer), 10.31.1.3 (peer2),
 *        route 10.31.5.0/24 dev vethA              10.31.5.2/32 (far: not on A's subnet),
 *                                                  fd00:31:1::2 (peer6)
 *   postern0 10.31.9.1/24, fd00:31:9::1/64    <->  tunB: packets from 10.31.1.2 (fd00:31:1::2)
 *   (stands for the TUN)                           to 10.31.9.1 (fd00:31:9::1), as if
 *                                                  decrypted by the agent
 *   postern-bp 10.31.10.1/24, fd00:31:10::1/64 <-> bpB: the same, as if decrypted with an SA
 *   (stands for the bypass device)                 the authenticated bypass admitted
 *
 * A listens on TCP 80, 81, 53, 8080 and UDP 53, 8080; B on TCP 7000 and UDP 7001.
 */
import { defaultSettings, type FirewallSettings } from "../../src/firewall/model.js";

export type Source = "peer" | "peer2" | "far" | "peer6";

export type Probe =
  /** B connects (tcp) or sends a datagram and waits for the echo (udp) to A. */
  | { kind: "tcp" | "udp"; port: number; from: Source; via?: "lan" | "tun" | "bypass" }
  /** B pings A. */
  | { kind: "ping"; from: "peer" | "peer6" }
  /** A starts a connection to B (tcp 7000 / udp 7001); the replies must come back in. */
  | { kind: "outbound"; proto: "tcp" | "udp" }
  /** B sends UDP to A's port 9 (nobody listens): does A's port unreachable come back? */
  | { kind: "udp-closed" };

export interface FwCase {
  name: string;
  edit?: (s: FirewallSettings) => void;
  /** Addresses in the bypass sets (a view since the bypass is bound to SAs: no rule matches). */
  bypass?: string[];
  probe: Probe;
  expect: "accept" | "drop";
}

export const ADDR: Record<Source, string> = {
  peer: "10.31.1.2",
  peer2: "10.31.1.3",
  far: "10.31.5.2",
  peer6: "fd00:31:1::2",
};
export const SERVER4 = "10.31.1.1";
export const SERVER6 = "fd00:31:1::1";
export const SERVER_TUN = "10.31.9.1";
export const SERVER6_TUN = "fd00:31:9::1";
export const SERVER_BP = "10.31.10.1";
export const SERVER6_BP = "fd00:31:10::1";
export const LOCAL_SUBNETS = [
  "10.31.1.0/24",
  "fd00:31:1::/64",
  "10.31.9.0/24",
  "fd00:31:9::/64",
  "10.31.10.0/24",
  "fd00:31:10::/64",
];

const open = (
  protocol: "tcp" | "udp" | "all",
  port: number,
  more: Partial<FirewallSettings["profiles"]["standard"]["portOpenings"][number]> = {},
  profile: "standard" | "domain" = "standard",
) => {
  return (s: FirewallSettings) => {
    s.profiles[profile].portOpenings.push({
      protocol,
      port,
      name: `p${port}`,
      enabled: true,
      scope: "all",
      addresses: [],
      ...more,
    });
  };
};

const both =
  (...fs: ((s: FirewallSettings) => void)[]) =>
  (s: FirewallSettings) => {
    for (const f of fs) f(s);
  };

/**
 * 40 scoped TCP openings (ports 20000-20039) for IPv4 and IPv6 sources this topology does
 * not have: past SCOPED_RULES_MAX, so the scoped openings of these cases compile to one rule
 * over a set of (source . port) pairs instead of a rule each.
 */
const manyScoped = (s: FirewallSettings) => {
  for (let i = 0; i < 40; i++) {
    open("tcp", 20000 + i, {
      scope: "custom",
      addresses: [`10.200.${i}.0/24`, `fd00:200:${i.toString(16)}::/64`],
    })(s);
  }
};

export const CASES: FwCase[] = [
  {
    name: "default: unsolicited TCP is dropped",
    probe: { kind: "tcp", port: 80, from: "peer" },
    expect: "drop",
  },
  {
    name: "IKE's ESP-in-UDP port 4500 is open with no exception (IPsec is below the firewall)",
    probe: { kind: "udp", port: 4500, from: "peer" },
    expect: "accept",
  },
  {
    name: "IKE's ports are open for UDP only: TCP 4500 is dropped",
    probe: { kind: "tcp", port: 4500, from: "peer" },
    expect: "drop",
  },
  {
    name: "exception TCP 80 admits TCP 80",
    edit: open("tcp", 80),
    probe: { kind: "tcp", port: 80, from: "peer" },
    expect: "accept",
  },
  {
    name: "exception TCP 80 does not admit TCP 81",
    edit: open("tcp", 80),
    probe: { kind: "tcp", port: 81, from: "peer" },
    expect: "drop",
  },
  {
    name: "disabled exception admits nothing",
    edit: open("tcp", 80, { enabled: false }),
    probe: { kind: "tcp", port: 80, from: "peer" },
    expect: "drop",
  },
  {
    name: "exception UDP 53 admits UDP 53",
    edit: open("udp", 53),
    probe: { kind: "udp", port: 53, from: "peer" },
    expect: "accept",
  },
  {
    name: "exception UDP 53 does not admit TCP 53",
    edit: open("udp", 53),
    probe: { kind: "tcp", port: 53, from: "peer" },
    expect: "drop",
  },
  {
    name: "exception ALL 8080 admits TCP",
    edit: open("all", 8080),
    probe: { kind: "tcp", port: 8080, from: "peer" },
    expect: "accept",
  },
  {
    name: "exception ALL 8080 admits UDP",
    edit: open("all", 8080),
    probe: { kind: "udp", port: 8080, from: "peer" },
    expect: "accept",
  },
  {
    name: "scope SUBNET admits the local subnet",
    edit: open("tcp", 80, { scope: "subnet" }),
    probe: { kind: "tcp", port: 80, from: "peer" },
    expect: "accept",
  },
  {
    name: "scope SUBNET drops a routed source",
    edit: open("tcp", 80, { scope: "subnet" }),
    probe: { kind: "tcp", port: 80, from: "far" },
    expect: "drop",
  },
  {
    name: "scope CUSTOM admits a listed address",
    edit: open("tcp", 80, { scope: "custom", addresses: ["10.31.1.3"] }),
    probe: { kind: "tcp", port: 80, from: "peer2" },
    expect: "accept",
  },
  {
    name: "scope CUSTOM drops an unlisted address",
    edit: open("tcp", 80, { scope: "custom", addresses: ["10.31.1.3"] }),
    probe: { kind: "tcp", port: 80, from: "peer" },
    expect: "drop",
  },
  {
    name: "scope CUSTOM admits a listed subnet",
    edit: open("tcp", 80, { scope: "custom", addresses: ["10.31.5.0/24", "10.31.1.3-10.31.1.9"] }),
    probe: { kind: "tcp", port: 80, from: "far" },
    expect: "accept",
  },
  {
    name: "scope CUSTOM LocalSubnet admits the local subnet",
    edit: open("tcp", 80, { scope: "custom", addresses: ["LocalSubnet"] }),
    probe: { kind: "tcp", port: 80, from: "peer" },
    expect: "accept",
  },
  {
    name: "IPv6: exception TCP 80 admits IPv6",
    edit: open("tcp", 80),
    probe: { kind: "tcp", port: 80, from: "peer6" },
    expect: "accept",
  },
  {
    name: "IPv6: scope CUSTOM IPv4-only drops IPv6",
    edit: open("tcp", 80, { scope: "custom", addresses: ["10.31.1.0/24"] }),
    probe: { kind: "tcp", port: 80, from: "peer6" },
    expect: "drop",
  },
  {
    name: "many scoped openings (a set of pairs): a listed address is admitted",
    edit: both(manyScoped, open("tcp", 80, { scope: "custom", addresses: ["10.31.1.3"] })),
    probe: { kind: "tcp", port: 80, from: "peer2" },
    expect: "accept",
  },
  {
    name: "many scoped openings (a set of pairs): an unlisted address is dropped",
    edit: both(manyScoped, open("tcp", 80, { scope: "custom", addresses: ["10.31.1.3"] })),
    probe: { kind: "tcp", port: 80, from: "peer" },
    expect: "drop",
  },
  {
    name: "many scoped openings: a source listed for another port is dropped",
    edit: both(
      manyScoped,
      open("tcp", 80, { scope: "custom", addresses: ["10.31.1.3"] }),
      open("tcp", 81, { scope: "custom", addresses: ["10.31.1.2"] }),
    ),
    probe: { kind: "tcp", port: 80, from: "peer" },
    expect: "drop",
  },
  {
    name: "many scoped openings: two openings of one port with overlapping scopes both count",
    edit: both(
      manyScoped,
      open("tcp", 80, { scope: "custom", addresses: ["10.31.1.0/24"] }),
      open("tcp", 80, { scope: "custom", addresses: ["10.31.1.2", "10.31.5.0/24"] }),
    ),
    probe: { kind: "tcp", port: 80, from: "far" },
    expect: "accept",
  },
  {
    name: "many scoped openings: a port range overlapping another opening's port still admits",
    edit: both(
      manyScoped,
      open("tcp", 80, { scope: "custom", addresses: ["10.31.1.3"] }),
      open("tcp", 79, { lastPort: 81, scope: "custom", addresses: ["10.31.5.0/24"] }),
    ),
    probe: { kind: "tcp", port: 80, from: "far" },
    expect: "accept",
  },
  {
    name: "many scoped openings: IPv6 source in the set is admitted",
    edit: both(manyScoped, open("tcp", 80, { scope: "custom", addresses: ["fd00:31:1::/64"] })),
    probe: { kind: "tcp", port: 80, from: "peer6" },
    expect: "accept",
  },
  {
    name: "many scoped openings: IPv6 source on an unopened port is dropped",
    edit: both(manyScoped, open("tcp", 80, { scope: "custom", addresses: ["fd00:31:1::/64"] })),
    probe: { kind: "tcp", port: 81, from: "peer6" },
    expect: "drop",
  },
  {
    name: "don't allow exceptions: the exception is ignored",
    edit: both(open("tcp", 80), (s) => {
      s.profiles.standard.exceptions = false;
    }),
    probe: { kind: "tcp", port: 80, from: "peer" },
    expect: "drop",
  },
  {
    name: "don't allow exceptions: ICMP settings still apply (not on the Exceptions list)",
    edit: (s) => {
      s.profiles.standard.exceptions = false;
      s.profiles.standard.icmp["8"] = true;
    },
    probe: { kind: "ping", from: "peer" },
    expect: "accept",
  },
  {
    name: "ICMP: echo request dropped by default",
    probe: { kind: "ping", from: "peer" },
    expect: "drop",
  },
  {
    name: "ICMP: type 8 admits echo request",
    edit: (s) => {
      s.profiles.standard.icmp["8"] = true;
    },
    probe: { kind: "ping", from: "peer" },
    expect: "accept",
  },
  {
    name: "ICMP: type 8 admits ICMPv6 echo request",
    edit: (s) => {
      s.profiles.standard.icmp["8"] = true;
    },
    probe: { kind: "ping", from: "peer6" },
    expect: "accept",
  },
  {
    name: "ICMP: outbound destination unreachable blocked by default",
    edit: open("udp", 9),
    probe: { kind: "udp-closed" },
    expect: "drop",
  },
  {
    name: "ICMP: type 3 lets the port unreachable out",
    edit: both(open("udp", 9), (s) => {
      s.profiles.standard.icmp["3"] = true;
    }),
    probe: { kind: "udp-closed" },
    expect: "accept",
  },
  {
    name: "profiles: a domain-profile exception is inactive in the standard profile",
    edit: open("tcp", 80, {}, "domain"),
    probe: { kind: "tcp", port: 80, from: "peer" },
    expect: "drop",
  },
  {
    name: "profiles: the domain profile applies when current",
    edit: both(open("tcp", 80, {}, "domain"), (s) => {
      s.currentProfile = "domain";
    }),
    probe: { kind: "tcp", port: 80, from: "peer" },
    expect: "accept",
  },
  {
    name: "opmode disable admits everything",
    edit: (s) => {
      s.profiles.standard.enabled = false;
    },
    probe: { kind: "tcp", port: 81, from: "peer" },
    expect: "accept",
  },
  {
    name: "bypass: a packet of an admitted SA (bypass device) passes with no exception",
    probe: { kind: "tcp", port: 81, from: "peer", via: "bypass" },
    expect: "accept",
  },
  {
    name: "bypass: overrides don't allow exceptions",
    edit: (s) => {
      s.profiles.standard.exceptions = false;
    },
    probe: { kind: "tcp", port: 81, from: "peer", via: "bypass" },
    expect: "accept",
  },
  {
    name: "bypass: the same address in cleartext (not from the agent) is dropped",
    bypass: ["10.31.1.2"],
    probe: { kind: "tcp", port: 81, from: "peer" },
    expect: "drop",
  },
  {
    name: "bypass: an SA not admitted (TUN) meets the exceptions, even from an admitted address",
    bypass: ["10.31.1.2"],
    probe: { kind: "tcp", port: 81, from: "peer", via: "tun" },
    expect: "drop",
  },
  {
    name: "bypass: an SA not admitted (TUN) still gets its exception",
    edit: open("tcp", 81),
    probe: { kind: "tcp", port: 81, from: "peer", via: "tun" },
    expect: "accept",
  },
  {
    name: "bypass: an IPv6 packet of an admitted SA passes with no exception",
    probe: { kind: "tcp", port: 81, from: "peer6", via: "bypass" },
    expect: "accept",
  },
  {
    name: "bypass: the IPv6 peer in cleartext is dropped",
    bypass: ["fd00:31:1::2"],
    probe: { kind: "tcp", port: 81, from: "peer6" },
    expect: "drop",
  },
  {
    name: "established: replies to this host's TCP connection come in",
    probe: { kind: "outbound", proto: "tcp" },
    expect: "accept",
  },
  {
    name: "established: replies to this host's UDP request come in",
    probe: { kind: "outbound", proto: "udp" },
    expect: "accept",
  },
];

export function settingsFor(c: FwCase): FirewallSettings {
  const s = defaultSettings();
  c.edit?.(s);
  return s;
}
