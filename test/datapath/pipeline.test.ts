import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, it } from "node:test";
import { createDropSummary } from "../../src/agent/drop-log.js";
import { parseManualKeying } from "../../src/agent/manual-sa.js";
import {
  createCounterBuffer,
  createCounterWriter,
  readCounters,
} from "../../src/datapath/counters.js";
import type { DataPathEvent } from "../../src/datapath/events.js";
import { createInbound } from "../../src/datapath/inbound.js";
import { buildIpPacket, parseIpPacket } from "../../src/datapath/ippacket.js";
import { createOutbound } from "../../src/datapath/outbound.js";
import { createSad } from "../../src/datapath/sad.js";
import { applySteering, DEFAULT_STEERING, steeringRuleset } from "../../src/datapath/steering.js";
import { NO_LIMITS } from "../../src/esp/lifetime.js";
import type { SaRecord } from "../../src/esp/sa.js";
import { createFakeNetConfig } from "../../src/platform/routing.js";
import { createFakePacketPort } from "../../src/platform/tun.js";
import { createFakeDatagramPort } from "../../src/platform/udp.js";
import { cli, tempHome } from "../helpers/cli.js";
import { saRecord } from "../helpers/sa-record.js";

const A = "192.0.2.1";
const B = "192.0.2.2";
const ip = (s: string) => Uint8Array.from(s.split(".").map(Number));

/** Host A's outbound half and host B's inbound half, wired through fake ports. */
function pair(aOut: Partial<SaRecord> = {}, bIn: Partial<SaRecord> = {}) {
  const sab = createCounterBuffer();
  const events: DataPathEvent[] = [];
  const sadA = createSad();
  sadA.add(saRecord(aOut), 0, 0);
  const sadB = createSad();
  sadB.add(
    saRecord({
      direction: "in",
      local: B,
      peer: A,
      selectors: [
        {
          local: `${B}/32`,
          remote: `${A}/32`,
          protocol: 0,
          localPorts: [0, 65535],
          remotePorts: [0, 65535],
        },
      ],
      ...bIn,
    }),
    1,
    0,
  );
  const out = createOutbound({
    sad: sadA,
    counters: createCounterWriter(sab, "outbound"),
    events: (e) => events.push(e),
    nowMs: () => 0,
    randomBytes: (n) => Buffer.alloc(n, 0x42),
  });
  const inb = createInbound({
    sad: sadB,
    counters: createCounterWriter(sab, "inbound"),
    events: (e) => events.push(e),
    nowMs: () => 0,
  });
  const tunA = createFakePacketPort();
  const wire = createFakeDatagramPort();
  const tunB = createFakePacketPort();
  /** A's TUN -> seal -> the wire -> B opens -> B's TUN. */
  const carry = (packet: Buffer, mutate: (d: Buffer) => Buffer = (d) => d) => {
    tunA.inject(packet);
    const buf = Buffer.alloc(65536);
    const n = tunA.read(buf, 0);
    const sealed = out.seal(buf.subarray(0, n));
    if (sealed === null) return;
    wire.send(sealed.datagram, sealed.to);
    const d = wire.sent.at(-1);
    if (d === undefined) return;
    const opened =
      sealed.via === "raw"
        ? inb.openAh(mutate(d.data))
        : inb.open(mutate(d.data), { address: A, port: 4500 });
    if (opened !== null) tunB.write(opened);
  };
  return { carry, tunB, wire, events, stats: () => readCounters(sab) };
}

const udpPacket = (src: string, dst: string, text: string) => {
  const payload = Buffer.concat([
    Buffer.from([0x30, 0x39, 0x00, 0x50, 0, 8 + text.length, 0, 0]),
    Buffer.from(text),
  ]);
  return buildIpPacket(ip(src), ip(dst), 17, payload);
};

describe("data path: outbound seal -> UDP 4500 -> inbound open (fake TUN and socket)", () => {
  for (const transform of [
    "aes128gcm16",
    "aes256gcm16",
    "aes128-sha256",
    "aes256-sha1",
    "null-sha256",
    "null-sha1",
  ] as const) {
    it(`RFC 4303 §3.1.1 transport mode with ${transform}: B's TUN receives A's packet`, () => {
      const sizes = {
        aes128gcm16: [20, 0],
        aes256gcm16: [36, 0],
        "aes128-sha256": [16, 32],
        "aes256-sha1": [32, 20],
        "null-sha256": [0, 32],
        "null-sha1": [0, 20],
      }[transform];
      const keys = {
        transform,
        encKey: Buffer.alloc(sizes[0] as number, 3),
        authKey: Buffer.alloc(sizes[1] as number, 4),
      };
      const p = pair(keys, keys);
      const packet = udpPacket(A, B, "hello through ESP");
      p.carry(packet);
      assert.equal(p.wire.sent.length, 1);
      assert.deepEqual(p.wire.sent[0]?.to, { address: B, port: 4500 });
      assert.equal(p.tunB.written.length, 1);
      assert.deepEqual(p.tunB.written[0], packet);
      assert.equal(p.stats().info.tun_packets_out, 1);
    });
  }

  it("RFC 4303 §3.1.2 tunnel mode carries the whole inner packet", () => {
    const p = pair({ mode: "tunnel" }, { mode: "tunnel" });
    const packet = udpPacket(A, B, "inner");
    p.carry(packet);
    assert.deepEqual(p.tunB.written[0], packet);
  });

  it("RFC 4303 §3.4.3 a replayed datagram is a counted replay drop", () => {
    const p = pair();
    let saved: Buffer | undefined;
    p.carry(udpPacket(A, B, "once"), (d) => {
      saved = Buffer.from(d);
      return d;
    });
    assert.ok(saved);
    p.carry(udpPacket(A, B, "twice"), () => saved as Buffer);
    assert.equal(p.tunB.written.length, 1);
    assert.equal(p.stats().drops.inbound.replay, 1);
  });

  it("RFC 4303 §3.4.4 a wrong key is a counted auth_failed drop, then a mutated packet too", () => {
    const p = pair({}, { encKey: Buffer.alloc(20, 9) });
    p.carry(udpPacket(A, B, "x"));
    assert.equal(p.stats().drops.inbound.auth_failed, 1);
    const q = pair();
    q.carry(udpPacket(A, B, "x"), (d) => {
      d[d.length - 1] = (d[d.length - 1] as number) ^ 1;
      return d;
    });
    assert.equal(q.stats().drops.inbound.auth_failed, 1);
    assert.equal(q.tunB.written.length, 0);
  });

  it("unknown SPI, short and truncated datagrams are counted drops", () => {
    const p = pair({ spi: 0x5555 });
    p.carry(udpPacket(A, B, "x"));
    assert.equal(p.stats().drops.inbound.no_sa, 1);
    // IKE hears of unknown SPIs (INVALID_SPI, RFC 7296 §1.5), at most 10 in a second.
    for (let i = 0; i < 20; i++) p.carry(udpPacket(A, B, "x"));
    assert.equal(p.stats().drops.inbound.no_sa, 21);
    const told = p.events.filter((e) => e.type === "unknown_spi");
    assert.equal(told.length, 10);
    assert.deepEqual(told[0], { type: "unknown_spi", protocol: "esp", spi: 0x5555, from: A });
    const q = pair();
    q.carry(udpPacket(A, B, "x"), () => Buffer.from([1, 2, 3, 4, 5]));
    q.carry(udpPacket(A, B, "x"), (d) => d.subarray(0, 20));
    assert.equal(q.stats().drops.inbound.malformed, 2);
  });

  it("RFC 4301 §5.2 an opened packet outside the SA's selectors is a policy_mismatch drop", () => {
    const p = pair(
      {
        selectors: [
          {
            local: "0.0.0.0/0",
            remote: "0.0.0.0/0",
            protocol: 0,
            localPorts: [0, 65535],
            remotePorts: [0, 65535],
          },
        ],
        mode: "tunnel",
      },
      {
        mode: "tunnel",
        selectors: [
          {
            local: `${B}/32`,
            remote: `${A}/32`,
            protocol: 6,
            localPorts: [0, 65535],
            remotePorts: [0, 65535],
          },
        ],
      },
    );
    p.carry(udpPacket("198.51.100.7", B, "spoofed inner source"));
    assert.equal(p.stats().drops.inbound.policy_mismatch, 1);
    assert.equal(p.tunB.written.length, 0);
  });

  it("a packet no SA covers is a no_policy drop on the way out", () => {
    const p = pair();
    p.carry(udpPacket(A, "203.0.113.9", "elsewhere"));
    assert.equal(p.stats().drops.outbound.no_policy, 1);
    p.carry(Buffer.from([0x45, 0, 0]));
    assert.equal(p.stats().drops.outbound.malformed, 1);
  });

  it("RFC 3948 §2.2 the non-ESP marker hands the datagram to IKE, 0xff is a keepalive", () => {
    const p = pair();
    p.carry(udpPacket(A, B, "x"), () => Buffer.from([0, 0, 0, 0, 0xaa, 0xbb]));
    p.carry(udpPacket(A, B, "x"), () => Buffer.from([0xff]));
    const s = p.stats();
    assert.equal(s.info.ike_datagrams, 1);
    assert.equal(s.info.nat_keepalives, 1);
    assert.deepEqual(
      p.events.find((e) => e.type === "ike"),
      { type: "ike", data: Uint8Array.from([0xaa, 0xbb]), from: { address: A, port: 4500 } },
    );
  });

  it("RFC 4301 §4.4.2.1 a soft packet limit raises a rekey event, the hard limit drops", () => {
    const p = pair({
      lifetime: { soft: { ...NO_LIMITS, packets: 2 }, hard: { ...NO_LIMITS, packets: 3 } },
    });
    for (let i = 0; i < 5; i++) p.carry(udpPacket(A, B, `n${i}`));
    assert.equal(p.tunB.written.length, 3);
    assert.deepEqual(
      p.events.map((e) => e.type),
      ["soft", "expired"],
    );
    assert.equal(p.stats().drops.outbound.sa_expired, 2);
  });

  it("transport mode rebuilds a valid IPv4 header from the SA's addresses", () => {
    const p = pair();
    p.carry(udpPacket(A, B, "check"));
    const info = parseIpPacket(p.tunB.written[0] as Buffer);
    assert.equal(info?.protocol, 17);
    assert.deepEqual([...(info?.src ?? [])], [...ip(A)]);
  });
});

describe("RFC 4302 AH (raw IP protocol 51, fake sockets)", () => {
  const ah = {
    protocol: "ah" as const,
    transform: "null-sha256" as const,
    encKey: Buffer.alloc(0),
    authKey: Buffer.alloc(32, 6),
    encap: null,
  };

  it("RFC 4302 §3.1 transport mode: an IPv4 packet with protocol 51 on the wire, A's packet on B's TUN", () => {
    const p = pair(ah, ah);
    const packet = udpPacket(A, B, "authenticated, not encrypted");
    p.carry(packet);
    const wire = p.wire.sent[0]?.data as Buffer;
    assert.equal(wire[9], 51);
    assert.equal(wire[20], 17, "AH Next Header is the original protocol");
    assert.equal(wire[21], (12 + 16) / 4 - 2, "Payload Len in 32-bit words minus 2");
    assert.deepEqual(p.tunB.written[0], packet);
    assert.equal(p.stats().info.ah_packets_out, 1);
  });

  it("RFC 4302 §3.3.3.1.1.1 mutable fields may change in transit, immutable ones may not", () => {
    const p = pair(ah, ah);
    p.carry(udpPacket(A, B, "one"), (d) => {
      d[1] = 0x10; // TOS
      d[8] = 3; // TTL
      d.writeUInt16BE(0, 10); // checksum
      return d;
    });
    assert.equal(p.tunB.written.length, 1);
    p.carry(udpPacket(A, B, "two"), (d) => {
      d[4] = (d[4] as number) ^ 1; // Identification
      return d;
    });
    p.carry(udpPacket(A, B, "three"), (d) => {
      d[d.length - 1] = (d[d.length - 1] as number) ^ 1; // payload
      return d;
    });
    assert.equal(p.tunB.written.length, 1);
    assert.equal(p.stats().drops.inbound.auth_failed, 2);
  });

  it("an AH packet for an ESP SPI, and a truncated one, are counted drops", () => {
    const p = pair(ah, {});
    p.carry(udpPacket(A, B, "x"));
    assert.equal(p.stats().drops.inbound.no_sa, 1);
    const q = pair(ah, ah);
    q.carry(udpPacket(A, B, "x"), (d) => d.subarray(0, 30));
    assert.equal(q.stats().drops.inbound.malformed, 1);
  });
});

describe("steering (nftables chain spd_out + policy routing)", () => {
  it("marks protected selectors, returns the agent's own traffic first, clamps the MSS", () => {
    const text = steeringRuleset({ ...DEFAULT_STEERING, listenPort: 4500 }, [
      {
        local: `${A}/32`,
        remote: "10.0.0.0/8",
        protocol: 6,
        localPorts: [0, 65535],
        remotePorts: [80, 80],
      },
    ]);
    const lines = text.split("\n").map((l) => l.trim());
    const bypass = lines.indexOf("meta mark 0x7051 return");
    const own = lines.indexOf("udp sport 4500 return");
    const mark = lines.indexOf(
      `ip saddr ${A}/32 ip daddr 10.0.0.0/8 meta l4proto tcp th dport 80 meta mark set 0x7050`,
    );
    assert.ok(bypass > 0 && own > bypass && mark > own, text);
    assert.ok(text.includes("tcp option maxseg size set 1360"));
  });

  it("installs the rule, the table route and relaxes rp_filter on the TUN only", () => {
    const net = createFakeNetConfig({ "net.ipv4.conf.all.rp_filter": "1" });
    applySteering(net, { ...DEFAULT_STEERING, listenPort: 4500 }, []);
    assert.ok(net.log.includes("ip rule add priority 7050 fwmark 0x7050 lookup 7050"));
    assert.ok(net.log.includes("ip route replace default dev postern0 table 7050"));
    assert.ok(
      net.log.includes("ip route replace prohibit default table 7050 metric 4294967295"),
      "fail closed: marked packets meet prohibit once the TUN's route is gone",
    );
    assert.ok(net.log.includes("sysctl net.ipv4.conf.postern0.rp_filter=0"));
    assert.ok(net.log.includes("sysctl net.ipv4.conf.all.rp_filter=2"));
  });
});

describe("manual keying file", () => {
  const base = {
    listen: { address: A, port: 4500 },
    sas: [
      {
        spi: "0x1001",
        direction: "out",
        local: A,
        peer: B,
        transform: "aes128gcm16",
        encKey: "00".repeat(20),
      },
    ],
  };
  it("reads SPIs in hex, defaults transport mode, UDP 4500, a 1024 window and host selectors", () => {
    const k = parseManualKeying(JSON.stringify(base), "k.json");
    const sa = k.sas[0] as SaRecord;
    assert.equal(sa.spi, 0x1001);
    assert.equal(sa.mode, "transport");
    assert.equal(sa.replayWindow, 1024);
    assert.deepEqual(sa.encap, { localPort: 4500, peerPort: 4500 });
    assert.equal(sa.selectors[0]?.remote, `${B}/32`);
  });
  const cases: [string, (d: typeof base & Record<string, unknown>) => unknown, RegExp][] = [
    [
      "short key",
      (d) => ({ ...d, sas: [{ ...d.sas[0], encKey: "00" }] }),
      /sas\[0\]\.encKey: 1 bytes, the transform needs 20/,
    ],
    [
      "unknown transform",
      (d) => ({ ...d, sas: [{ ...d.sas[0], transform: "des" }] }),
      /sas\[0\]\.transform: "des" is not one of/,
    ],
    [
      "bad peer",
      (d) => ({ ...d, sas: [{ ...d.sas[0], peer: "1.2.3" }] }),
      /sas\[0\]\.peer: "1.2.3" is not an IP address/,
    ],
    [
      "duplicate SPI",
      (d) => ({ ...d, sas: [d.sas[0], d.sas[0]] }),
      /two "out" SAs with SPI 0x1001/,
    ],
    [
      "AH with an encrypting transform",
      (d) => ({ ...d, sas: [{ ...d.sas[0], protocol: "ah" }] }),
      /AH authenticates only/,
    ],
    [
      "odd replay window",
      (d) => ({ ...d, sas: [{ ...d.sas[0], replayWindow: 1000 }] }),
      /multiple of 32/,
    ],
  ];
  for (const [name, edit, re] of cases) {
    it(`refuses a ${name} with one line naming the field`, () => {
      assert.throws(() => parseManualKeying(JSON.stringify(edit(base)), "k.json"), re);
    });
  }
  it("postern agent: a bad keying file is one line and exit 1; no file is a usage error", async () => {
    const home = tempHome("pdpcli");
    try {
      const file = path.join(home.dir, "k.json");
      fs.writeFileSync(file, "{not json");
      const r = await cli(home.dir, "agent", "--manual-sa", file);
      if (r.code === 1)
        assert.match(r.err, /^postern: (.*k\.json: not JSON|postern agent needs root)/);
      else assert.fail(`exit ${r.code}: ${r.err}`);
      assert.equal(r.err.trim().split("\n").length, 1);
      const u = await cli(home.dir, "agent", "--bogus");
      assert.equal(u.code, 2);
      const s = await cli(home.dir, "agent", "stats");
      assert.equal(s.code, 1);
      assert.match(s.err, /cannot reach the agent/);
    } finally {
      home.cleanup();
    }
  });
});

describe("drop log lines", () => {
  it("one line per interval naming what changed, nothing when nothing did", () => {
    const sab = createCounterBuffer();
    const w = createCounterWriter(sab, "inbound");
    const log = createDropSummary();
    assert.equal(log.next(readCounters(sab)), null);
    w.drop("auth_failed");
    w.drop("auth_failed");
    w.drop("replay");
    assert.equal(
      log.next(readCounters(sab)),
      "drops in the last 10 s: inbound replay=1 auth_failed=2",
    );
    assert.equal(log.next(readCounters(sab)), null);
  });
});
