/**
 * The data path's JavaScript and crypto per segment, without system calls: what one worker
 * does to a TCP super-packet the TUN hands over (cut into MSS segments, each sealed with
 * AES-GCM-128 into a native batch slot) and what the peer's worker does to the datagrams
 * (opened in place, the IP header rebuilt in the headroom, coalesced into one GSO frame).
 * Run twice in one process: on the packet loops' libcrypto contexts (src/esp/evp-gcm.ts),
 * and with node:crypto (the fallback when libcrypto.so.3 cannot be loaded), as the peer.
 * docs/datapath.md "Less JavaScript per packet" says what it found.
 *
 *   node dist/bench/packet-loop.js [--rounds 4000] [--segments 44]
 *
 * Prints ns per segment for each half and the ratio libcrypto / node:crypto. Profile it with
 * `node --cpu-prof dist/bench/packet-loop.js`.
 */
import { createCounterBuffer, createCounterWriter } from "../src/datapath/counters.js";
import { createCoalescer } from "../src/datapath/gro.js";
import { segmentTcp4 } from "../src/datapath/gso.js";
import { createInbound } from "../src/datapath/inbound.js";
import { createOutbound } from "../src/datapath/outbound.js";
import { createSad } from "../src/datapath/sad.js";
import { randomBytes } from "../src/crypto/primitives.js";
import { loadEvpGcm } from "../src/esp/evp-gcm.js";
import { allocNative } from "../src/platform/libc.js";
import {
  anySelectors,
  SA_HOST_A as A,
  SA_HOST_B as B,
  saRecord,
} from "../test/helpers/sa-record.js";

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  const v = i >= 0 ? Number(process.argv[i + 1]) : fallback;
  if (!Number.isInteger(v) || v <= 0) {
    console.error(`packet-loop: ${name} must be a positive integer`);
    process.exit(2);
  }
  return v;
}

const MSS = 1360;
const PEER = { address: A, port: 4500 };
const HEADROOM = 64;
const IN_SLOT = HEADROOM + 65_536;
const OUT_SLOT = 2048;
const VNET = 10;

/** One pair of loops (native or node:crypto); `round()` returns [cut+seal ns, open+coalesce ns]. */
function createLoops(native: boolean, segments: number) {
  const outBlock = allocNative(HEADROOM + 65_536 + segments * OUT_SLOT);
  const inBlock = allocNative(segments * IN_SLOT + VNET + 65_536);
  const providerA = native ? loadEvpGcm(outBlock) : null;
  const providerB = native ? loadEvpGcm(inBlock) : null;
  if (native && (providerA === null || providerB === null)) throw new Error("no libcrypto.so.3");
  const sadA = createSad(providerA ?? undefined);
  const sadB = createSad(providerB ?? undefined);
  sadA.add(saRecord({ label: "bench" }), 0, 0);
  sadB.add(
    saRecord({ direction: "in", local: B, peer: A, selectors: anySelectors(B, A), label: "bench" }),
    1,
    0,
  );
  const sab = createCounterBuffer();
  const events = () => {};
  const nowMs = () => Date.now();
  const outbound = createOutbound({
    sad: sadA,
    counters: createCounterWriter(sab, "outbound"),
    events,
    nowMs,
    randomBytes,
  });
  const inbound = createInbound({
    sad: sadB,
    counters: createCounterWriter(sab, "inbound"),
    events,
    nowMs,
    inPlace: true,
  });
  const GRO = segments * IN_SLOT;
  let frames = 0;
  const gro = createCoalescer({
    area: inBlock.bytes.subarray(GRO, GRO + VNET + 65_536),
    writeFrame: () => {
      frames += 1;
      return true;
    },
    failed: () => {
      throw new Error("coalescer refused a frame");
    },
  });
  // A TCP/IPv4 super-packet as TSO hands it: `segments` x MSS bytes behind one header.
  const sp = outBlock.bytes.subarray(HEADROOM, HEADROOM + 40 + MSS * segments);
  sp.fill(0);
  sp[0] = 0x45;
  sp.writeUInt16BE(sp.length, 2);
  sp[8] = 64;
  sp[9] = 6;
  Buffer.from([192, 0, 2, 1, 192, 0, 2, 2]).copy(sp, 12);
  sp.writeUInt16BE(40000, 20);
  sp.writeUInt16BE(5201, 22);
  sp.writeUInt32BE(1000, 24);
  sp[32] = 0x50;
  sp[33] = 0x10;
  sp.writeUInt16BE(500, 34);
  for (let i = 40; i < sp.length; i++) sp[i] = (i * 31) & 255;
  const scratch = Buffer.alloc(65_536);
  const SLOTS = HEADROOM + 65_536;
  const lengths: number[] = [];
  let k = 0;
  const each = (segment: Buffer) => {
    const slot = outBlock.bytes.subarray(SLOTS + k * OUT_SLOT, SLOTS + (k + 1) * OUT_SLOT);
    const sealed = outbound.seal(segment, slot);
    if (sealed === null) throw new Error("seal refused a segment");
    inBlock.bytes.set(sealed.datagram, k * IN_SLOT + HEADROOM);
    lengths.push(sealed.datagram.length);
    k += 1;
  };
  return {
    frames: () => frames,
    round(): [number, number] {
      lengths.length = 0;
      k = 0;
      const t0 = process.hrtime.bigint();
      if (segmentTcp4(sp, MSS, scratch, each) !== segments) throw new Error("cut failed");
      const t1 = process.hrtime.bigint();
      for (let i = 0; i < lengths.length; i++) {
        const at = i * IN_SLOT + HEADROOM;
        const opened = inbound.open(inBlock.bytes.subarray(at, at + (lengths[i] as number)), PEER);
        if (opened === null) throw new Error(`segment ${i} did not open`);
        gro.add(opened);
      }
      gro.flush();
      const t2 = process.hrtime.bigint();
      return [Number(t1 - t0), Number(t2 - t1)];
    },
  };
}

function measure(native: boolean, rounds: number, segments: number): [number, number] {
  const loops = createLoops(native, segments);
  for (let i = 0; i < Math.min(2000, rounds); i++) loops.round();
  let seal = 0;
  let open = 0;
  for (let i = 0; i < rounds; i++) {
    const [s, o] = loops.round();
    seal += s;
    open += o;
  }
  if (loops.frames() < rounds) throw new Error("the coalescer wrote fewer frames than rounds");
  return [seal / rounds / segments, open / rounds / segments];
}

const rounds = arg("--rounds", 4000);
const segments = arg("--segments", 44);
if (segments * MSS > 65_000) {
  console.error("packet-loop: --segments must keep the super-packet under 64 KiB (at most 47)");
  process.exit(2);
}
const [ns, no] = measure(true, rounds, segments);
const [js, jo] = measure(false, rounds, segments);
const row = (label: string, s: number, o: number) =>
  console.log(`${label.padEnd(34)}${s.toFixed(0).padStart(10)}${o.toFixed(0).padStart(14)}`);
console.log(
  `${"ns per 1,360-byte segment".padEnd(34)}${"cut+seal".padStart(10)}${"open+coalesce".padStart(14)}`,
);
row("libcrypto contexts (packet loops)", ns, no);
row("node:crypto (fallback)", js, jo);
console.log(
  `ratio libcrypto / node:crypto: ${(ns / js).toFixed(2)} cut+seal, ${(no / jo).toFixed(2)} open+coalesce`,
);
console.log(`${rounds} rounds of ${segments} segments each`);
