/**
 * The worker's fast path against the reference path: AES-GCM through libcrypto on native
 * memory (src/esp/evp-gcm.ts) must give the RFC 4106 vectors and the same bytes as
 * node:crypto; receive coalescing (src/datapath/gro.ts) must merge only what the kernel
 * would and keep every byte.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import { createCoalescer, coalescable } from "../../src/datapath/gro.js";
import { segmentTcp4 } from "../../src/datapath/gso.js";
import { ipv4HeaderChecksum } from "../../src/datapath/ippacket.js";
import { loadEvpGcm } from "../../src/esp/evp-gcm.js";
import { openEsp, openEspInPlace, sealEsp, sealEspInto } from "../../src/esp/packet.js";
import { createEspCipher } from "../../src/esp/transform.js";
import { allocNative } from "../../src/platform/libc.js";

const here = path.dirname(fileURLToPath(import.meta.url));
const vectors = JSON.parse(
  fs.readFileSync(path.resolve(here, "../../../test/vectors/rfc4106/gcm-esp.json"), "utf8"),
) as {
  name: string;
  transform: "aes128gcm16" | "aes256gcm16";
  key: string;
  salt: string;
  spi: string;
  seqLo: string;
  seqHi: string;
  esn: boolean;
  iv: string;
  plaintext: string;
  ciphertext: string;
  tag: string;
}[];
const hex = (s: string) => Buffer.from(s, "hex");

describe("AES-GCM through libcrypto (RFC 4106), against node:crypto", () => {
  const block = allocNative(1 << 17);
  const gcm = loadEvpGcm(block);

  it("libcrypto.so.3 loads on this system", () => {
    assert.ok(gcm, "loadEvpGcm returned null");
  });

  for (const v of vectors.filter((x) => x.tag.length === 32)) {
    it(`${v.name}: the native context seals to the vector's ciphertext and ICV`, () => {
      const keymat = Buffer.concat([hex(v.key), hex(v.salt)]);
      const cipher = createEspCipher(v.transform, keymat, Buffer.alloc(0), {
        provider: gcm!,
        encrypt: true,
      });
      const header = Buffer.concat([hex(v.spi), hex(v.seqLo)]);
      const body = Buffer.concat(
        cipher.seal(header, hex(v.seqHi).readUInt32BE(0), v.esn, [hex(v.plaintext)], hex(v.iv)),
      );
      assert.equal(body.toString("hex"), v.iv + v.ciphertext + v.tag);
    });
  }

  it("sealEspInto/openEspInPlace in native memory = sealEsp/openEsp with node:crypto (property)", () => {
    fc.assert(
      fc.property(
        fc.constantFrom("aes128gcm16" as const, "aes256gcm16" as const),
        fc.uint8Array({ minLength: 0, maxLength: 1500 }),
        fc.integer({ min: 1, max: 2 ** 40 }),
        fc.boolean(),
        fc.uint8Array({ minLength: 36, maxLength: 36 }),
        (name, payload, seq, esn, keys) => {
          const keymat = keys.subarray(0, name === "aes128gcm16" ? 20 : 36);
          const ref = createEspCipher(name, keymat, new Uint8Array(0));
          const out = createEspCipher(name, keymat, new Uint8Array(0), {
            provider: gcm!,
            encrypt: true,
          });
          const iv = Buffer.alloc(8);
          iv.writeUInt32BE(Math.floor(seq / 2 ** 32), 0);
          iv.writeUInt32BE(seq % 2 ** 32, 4);
          const expected = sealEsp(ref, 0x1234, seq, esn, payload, 6, iv);
          const slot = block.bytes.subarray(64, 64 + 2048);
          const n = sealEspInto(out, 0x1234, seq, esn, payload, 6, iv, slot);
          assert.deepEqual(slot.subarray(0, n), expected);
          const inb = createEspCipher(name, keymat, new Uint8Array(0), {
            provider: gcm!,
            encrypt: false,
          });
          const seqHi = Math.floor(seq / 2 ** 32);
          const opened = openEspInPlace(inb, slot.subarray(0, n), esn ? seqHi : 0, esn);
          assert.notEqual(typeof opened, "string");
          if (typeof opened !== "string") assert.deepEqual(opened.payload, Buffer.from(payload));
          const tampered = Buffer.from(expected);
          tampered[tampered.length - 1] = (tampered[tampered.length - 1] as number) ^ 1;
          assert.equal(openEsp(inb, tampered, esn ? seqHi : 0, esn), "auth_failed");
          // The same refusal on the packet loops' path (addresses in the block, in place),
          // with the ICV or, for ESN, the high half of the sequence number wrong.
          slot.set(tampered, 0);
          assert.equal(
            openEspInPlace(inb, slot.subarray(0, n), esn ? seqHi : 0, esn),
            "auth_failed",
          );
          if (esn) {
            slot.set(expected, 0);
            assert.equal(openEspInPlace(inb, slot.subarray(0, n), seqHi + 1, esn), "auth_failed");
          }
          out.free?.();
          inb.free?.();
        },
      ),
      { numRuns: 60 },
    );
  });
});

/** An IPv4/TCP segment with valid checksums (timestamps option, ACK). */
function segment(seq: number, payload: Buffer, flags = 0x10, port = 5201, id = 0): Buffer {
  const p = Buffer.alloc(20 + 32 + payload.length);
  p[0] = 0x45;
  p.writeUInt16BE(p.length, 2);
  p.writeUInt16BE(id, 4);
  p[6] = 0x40;
  p[8] = 64;
  p[9] = 6;
  p.set([192, 0, 2, 1], 12);
  p.set([192, 0, 2, 2], 16);
  p.writeUInt16BE(ipv4HeaderChecksum(p), 10);
  p.writeUInt16BE(40000, 20);
  p.writeUInt16BE(port, 22);
  p.writeUInt32BE(seq >>> 0, 24);
  p.writeUInt32BE(777, 28);
  p[32] = 8 << 4;
  p[33] = flags;
  p.writeUInt16BE(500, 34);
  p.set([1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2], 40);
  payload.copy(p, 52);
  let sum = 0x0600 / 0x100 + (p.length - 20);
  for (let i = 12; i < 20; i += 2) sum += p.readUInt16BE(i);
  for (let i = 20; i < p.length; i += 2) sum += (p[i]! << 8) | (p[i + 1] ?? 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  p.writeUInt16BE(~sum & 0xffff, 36);
  return p;
}

function coalesce(packets: Buffer[]): Buffer[] {
  const mem = Buffer.alloc(1 << 20);
  const frames: Buffer[] = [];
  const gro = createCoalescer({
    area: mem.subarray(0, 70_000),
    writeFrame: (f) => {
      frames.push(Buffer.from(f));
      return true;
    },
    failed: () => assert.fail("no write fails here"),
  });
  let at = 100_000;
  for (const p of packets) {
    p.copy(mem, at + 64);
    gro.add(mem.subarray(at + 64, at + 64 + p.length));
    at += 64 + p.length;
  }
  gro.flush();
  return frames;
}

describe("receive coalescing before the TUN write (GRO, virtio_net_hdr GSO_TCPV4)", () => {
  const data = (n: number, fill: number) => Buffer.alloc(n, fill);

  it("RFC 793 segments in sequence become one GSO frame with every byte, in order", () => {
    const s = [0, 1, 2].map((i) => segment(1000 + i * 1348, data(1348, i + 1)));
    assert.ok(coalescable(s[0]!), "a valid segment is coalescable");
    const frames = coalesce(s);
    assert.equal(frames.length, 1);
    const f = frames[0]!;
    assert.deepEqual([f[0], f[1]], [1, 1], "NEEDS_CSUM, GSO_TCPV4");
    assert.equal(f.readUInt16LE(2), 52, "hdr_len");
    assert.equal(f.readUInt16LE(4), 1348, "gso_size");
    const ip = f.subarray(10);
    assert.equal(ip.readUInt16BE(2), 52 + 3 * 1348, "total length");
    assert.equal(ipv4HeaderChecksum(ip), 0, "IPv4 header checksum verifies");
    assert.equal(ip.readUInt32BE(24), 1000, "the first segment's sequence number");
    assert.deepEqual(ip.subarray(52), Buffer.concat(s.map((p) => p.subarray(52))));
  });

  it("a gap, another connection, a bad checksum or a pure ACK is written on its own", () => {
    const a = segment(1000, data(100, 1));
    const gap = segment(1200, data(100, 2));
    const other = segment(1300, data(100, 3), 0x10, 80);
    const bad = segment(1400, data(100, 4));
    bad[60] = (bad[60] as number) ^ 0xff;
    const ack = segment(1500, Buffer.alloc(0));
    const frames = coalesce([a, gap, other, bad, ack]);
    assert.equal(frames.length, 5);
    for (const [i, p] of [a, gap, other, bad, ack].entries()) {
      assert.deepEqual(frames[i]!.subarray(0, 10), Buffer.alloc(10), "no GSO header");
      assert.deepEqual(frames[i]!.subarray(10), p);
    }
  });

  it("a shorter segment or PSH ends a frame; the next segment starts a new one", () => {
    const s = [
      segment(0, data(500, 1)),
      segment(500, data(300, 2)),
      segment(800, data(500, 3)),
      segment(1300, data(500, 4), 0x18),
      segment(1800, data(500, 5)),
    ];
    const frames = coalesce(s);
    assert.deepEqual(
      frames.map((f) => f.length - 10 - 52),
      [800, 1000, 500],
    );
    assert.equal(frames[1]![10 + 33], 0x18, "PSH carried to the merged header");
  });
});

describe("segmentation of a TSO super-packet read from the TUN (virtio_net_hdr GSO_TCPV4)", () => {
  it("RFC 793: cuts it into the segments TCP would have sent (seq, ID, flags, checksums)", () => {
    const payload = Buffer.from(Array.from({ length: 3 * 1348 + 100 }, (_, i) => i & 0xff));
    const big = segment(5000, payload, 0x18 | 0x80, 5201, 40);
    const got: Buffer[] = [];
    const n = segmentTcp4(big, 1348, Buffer.alloc(65_536), (s) => got.push(Buffer.from(s)));
    assert.equal(n, 4);
    const want = [0, 1, 2, 3].map((i) =>
      segment(
        5000 + i * 1348,
        payload.subarray(i * 1348, Math.min(payload.length, (i + 1) * 1348)),
        (i === 0 ? 0x80 : 0) | 0x10 | (i === 3 ? 0x08 : 0),
        5201,
        40 + i,
      ),
    );
    assert.deepEqual(got, want);
  });

  it("refuses what is not TCP/IPv4", () => {
    const udp = segment(0, Buffer.alloc(10));
    udp[9] = 17;
    assert.equal(
      segmentTcp4(udp, 1000, Buffer.alloc(65_536), () => assert.fail()),
      0,
    );
  });
});
