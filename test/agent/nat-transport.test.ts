/**
 * Transport mode behind a NAT and the bypass bound to the SA, the pure parts: selectors
 * that name a private address become the SA's endpoint, checksums are made again after the
 * IP header is rebuilt, and the inbound path says which SA's packets the bypass admitted.
 * (test/lab/nat.test.ts shows the whole through a real NAT namespace.)
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createChildSaTable } from "../../src/agent/children.js";
import {
  childToSaRecords,
  transportNatSeen,
  transportSelectors,
} from "../../src/agent/sa-convert.js";
import { fixL4Checksum, fold, onesSum } from "../../src/datapath/checksum.js";
import { createInProcessDataPath } from "../../src/datapath/in-process.js";
import { addressBytes, buildIpPacket } from "../../src/datapath/ippacket.js";
import { NO_LIMITS } from "../../src/esp/lifetime.js";
import type { SaRecord } from "../../src/esp/sa.js";
import { selectorFromCidr } from "../../src/ike/selectors.js";
import type { ChildSaRecord } from "../../src/ike/types.js";

const sel = (local: string, remote: string) => ({
  local,
  remote,
  protocol: 6,
  localPorts: [80, 80] as [number, number],
  remotePorts: [0, 65535] as [number, number],
});

/** A TCP SYN from src:40000 to dst:80 with its checksum over (sumSrc, dst). */
function syn(src: string, dst: string, sumSrc = src): Buffer {
  const tcp = Buffer.alloc(20);
  tcp.writeUInt16BE(40000, 0);
  tcp.writeUInt16BE(80, 2);
  tcp[12] = 5 << 4;
  tcp[13] = 0x02;
  tcp.writeUInt16BE(64240, 14);
  const p = buildIpPacket(addressBytes(src) as Uint8Array, addressBytes(dst) as Uint8Array, 6, tcp);
  const forSum = buildIpPacket(
    addressBytes(sumSrc) as Uint8Array,
    addressBytes(dst) as Uint8Array,
    6,
    tcp,
  );
  fixL4Checksum(forSum);
  forSum.copy(p, 20, 20);
  return p;
}

const tcpValid = (p: Buffer) =>
  fold(onesSum(p, 20, p.length, onesSum(p, 12, 20) + 6 + 20)) === 0xffff;

/** server1's view of natxp's child SA: natxp's TSi holds its private address. */
const c: Partial<ChildSaRecord> = {
  tsLocal: [selectorFromCidr("198.18.0.20/32")],
  tsRemote: [selectorFromCidr("10.77.0.2/32")],
  local: { address: "198.18.0.20", port: 4500 },
  remote: { address: "198.18.0.50", port: 61000 },
};
const base = {
  ikeSa: "aa_bb",
  peerName: "p",
  protocol: "esp",
  mode: "transport",
  udpEncap: true,
  spiIn: 1,
  spiOut: 2,
  encrId: 20,
  encrKeyBits: 128,
  integId: 0,
  esn: false,
  encrKeyIn: Buffer.alloc(20, 1),
  integKeyIn: Buffer.alloc(0),
  encrKeyOut: Buffer.alloc(20, 2),
  integKeyOut: Buffer.alloc(0),
  lifetimeSec: 60,
  lifetimeKb: 0,
  initiator: false,
  replacesSpiIn: null,
  ...c,
} as ChildSaRecord;

describe("transport mode behind a NAT", () => {
  it("a selector naming the peer's private address becomes the endpoint seen in IKE", () => {
    const s = transportSelectors(
      [sel("198.18.0.20/32", "10.77.0.2/32")],
      "198.18.0.20",
      "198.18.0.50",
    );
    assert.deepEqual(s, [sel("198.18.0.20/32", "198.18.0.50/32")]);
    // A selector holding the endpoint (no NAT, or any) is kept as it is.
    const kept = [sel("198.18.0.20/32", "0.0.0.0/0")];
    assert.deepEqual(transportSelectors(kept, "198.18.0.20", "198.18.0.50"), kept);
  });
  it("transport SAs across a NAT recompute checksums, without one they do not; tunnel SAs keep their selectors", () => {
    const r = childToSaRecords(base);
    assert.ok(!("error" in r));
    assert.equal(r.in.selectors[0]?.remote, "198.18.0.50/32");
    assert.equal(r.in.fixChecksums, true);
    const t = childToSaRecords({ ...base, mode: "tunnel" });
    assert.ok(!("error" in t));
    assert.equal(t.in.selectors[0]?.remote, "10.77.0.2/32");
    assert.equal(t.in.fixChecksums, undefined);
    // No NAT: the selectors name the endpoints; the sender summed the addresses we rebuild.
    const direct = childToSaRecords({
      ...base,
      tsRemote: [selectorFromCidr("198.18.0.50/32")],
    });
    assert.ok(!("error" in direct));
    assert.equal(direct.in.fixChecksums, undefined);
    const named = [sel("198.18.0.20/32", "10.77.0.2/32")];
    assert.equal(transportNatSeen(named, "198.18.0.20", "198.18.0.50"), true);
    assert.equal(transportNatSeen(named, "198.18.0.20", "10.77.0.2"), false);
  });
  it("the child SAs of an admitted IKE SA are installed admitted, inbound only", () => {
    const added: SaRecord[] = [];
    const table = createChildSaTable(
      { addSa: (r) => added.push(r), removeSa: () => {} },
      () => 0,
      (ikeSa) => ikeSa === "admitted_sa",
    );
    assert.ok(table.install({ ...base, ikeSa: "admitted_sa" }).ok);
    assert.ok(table.install({ ...base, ikeSa: "other_sa", spiIn: 3, spiOut: 4 }).ok);
    assert.deepEqual(
      added.map((r) => [r.direction, r.spi, r.admitted === true]),
      [
        ["in", 1, true],
        ["out", 2, false],
        ["in", 3, false],
        ["out", 4, false],
      ],
    );
  });
  it("a checksum summed over the private address is made valid for the NAT's", () => {
    const p = syn("198.18.0.50", "198.18.0.20", "10.77.0.2");
    assert.equal(tcpValid(p), false, "as it arrives: summed over 10.77.0.2");
    assert.equal(fixL4Checksum(p), true);
    assert.equal(tcpValid(p), true);
    // Not TCP/UDP, or a fragment: nothing to fix.
    const frag = syn("198.18.0.50", "198.18.0.20");
    frag[6] = 0x20;
    assert.equal(fixL4Checksum(frag), false);
  });
});

describe("the bypass bound to the SA, in the data path", () => {
  it("packets of an admitted SA are written as admitted, the others not", () => {
    const written: { admitted: boolean }[] = [];
    const sent: Buffer[] = [];
    const mk = () =>
      createInProcessDataPath({
        onEvent: () => {},
        writeTun: (_p, admitted) => written.push({ admitted }),
        sendUdp: (d) => sent.push(d),
        nowMs: () => 0,
        randomBytes: (n) => Buffer.alloc(n, 7),
        acquire: false,
      });
    const client = mk();
    const server = mk();
    const sa = (spi: number, direction: "in" | "out", admitted: boolean): SaRecord => ({
      spi,
      direction,
      mode: "transport",
      transform: "aes128gcm16",
      encKey: Buffer.alloc(20, spi),
      authKey: Buffer.alloc(0),
      local: direction === "out" ? "10.77.0.2" : "198.18.0.20",
      peer: direction === "out" ? "198.18.0.20" : "198.18.0.50",
      encap: { localPort: 4500, peerPort: 4500 },
      esn: false,
      replayWindow: 64,
      lifetime: { soft: NO_LIMITS, hard: NO_LIMITS },
      selectors: [
        direction === "out"
          ? {
              ...sel("10.77.0.2/32", "198.18.0.20/32"),
              localPorts: [0, 65535],
              remotePorts: [80, 80],
            }
          : sel("198.18.0.20/32", "198.18.0.50/32"),
      ],
      label: "t",
      ...(admitted ? { admitted: true } : {}),
      fixChecksums: true,
    });
    for (const [spi, admitted] of [
      [0x100, true],
      [0x200, false],
    ] as const) {
      client.addSa(sa(spi, "out", false));
      server.addSa(sa(spi, "in", admitted));
      client.readTun(syn("10.77.0.2", "198.18.0.20"));
      client.removeSa("out", spi);
    }
    for (const d of sent) server.receiveUdp(d, { address: "198.18.0.50", port: 4500 });
    assert.deepEqual(written, [{ admitted: true }, { admitted: false }]);
  });
});
