/**
 * The HMAC transforms on keyed libcrypto contexts (src/esp/evp-hmac.ts), as the worker
 * threads run them: ESP-NULL and AES-CBC with HMAC-SHA-256-128 / HMAC-SHA1-96, and AH.
 * Known answers from RFC 4868, RFC 2404 and RFC 3602; packet layouts built here by hand
 * from RFC 4303 / RFC 4302 with node:crypto as the reference; a bad ICV is a counted drop.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import {
  createCounterBuffer,
  createCounterWriter,
  readCounters,
} from "../../src/datapath/counters.js";
import { createInbound } from "../../src/datapath/inbound.js";
import { buildIpPacket } from "../../src/datapath/ippacket.js";
import { createOutbound } from "../../src/datapath/outbound.js";
import { createSad } from "../../src/datapath/sad.js";
import { hmac } from "../../src/crypto/primitives.js";
import { ahIntegrity, readAhHeader, sealAh, sealAhInto, verifyAh } from "../../src/esp/ah.js";
import { loadEvpGcm } from "../../src/esp/evp-gcm.js";
import { openEsp, openEspInPlace, sealEsp, sealEspInto } from "../../src/esp/packet.js";
import type { SaRecord } from "../../src/esp/sa.js";
import { createEspCipher, type TransformName, transformSpec } from "../../src/esp/transform.js";
import { allocNative } from "../../src/platform/libc.js";
import { cli, needsRoot } from "../helpers/cli.js";
import { echoClientScript, echoServerScript, stopChild, waitOutput } from "../helpers/host-pair.js";
import { anySelectors, SA_HOST_A as A, SA_HOST_B as B, saRecord } from "../helpers/sa-record.js";
import { ADDR_B, createLab, keyingPair, type Lab } from "./lab.js";

const here = path.dirname(fileURLToPath(import.meta.url));
/** One case of the vector files (HMAC cases: key, data, hmac, icv; AES-CBC: key, iv, ...). */
interface Vector {
  name: string;
  key: string;
  data: string;
  hmac: string;
  icv: string;
  iv: string;
  plaintext: string;
  ciphertext: string;
}
const vectors = (file: string) =>
  (
    JSON.parse(fs.readFileSync(path.resolve(here, "../../../test/vectors", file), "utf8")) as {
      cases: Vector[];
    }
  ).cases;
const hex = (s: string) => Buffer.from(s, "hex");

const block = allocNative(1 << 18);
const evp = loadEvpGcm(block);
const native = evp?.hmac ?? null;
/** A view of `bytes` copied into the native block at `at`. */
const inBlock = (bytes: Uint8Array, at: number) => {
  const v = block.bytes.subarray(at, at + bytes.length);
  v.set(bytes);
  return v;
};

const HMAC_TRANSFORMS = [
  "null-sha256",
  "null-sha1",
  "aes128-sha256",
  "aes256-sha256",
  "aes128-sha1",
  "aes256-sha1",
] as const;

describe("keyed HMAC and AES-CBC contexts on libcrypto (src/esp/evp-hmac.ts)", () => {
  it("libcrypto.so.3 gives the HMAC and AES-CBC contexts on this system", () => {
    assert.ok(native, "loadEvpGcm(...).hmac is null");
  });

  const cases = [
    ...vectors("rfc4868/auth-hmac-sha256-128.json").map((v) => ({ ...v, alg: "sha256" as const })),
    ...vectors("rfc2404/hmac-sha1-96.json").map((v) => ({ ...v, alg: "sha1" as const })),
  ];
  for (const v of cases) {
    const rfc = v.alg === "sha256" ? "RFC 4868" : "RFC 2404";
    it(`${rfc} ${v.name}: the ICV, from native memory, from a Buffer and from parts`, () => {
      const ctx = native!.hmac(v.alg, hex(v.key))!;
      const data = hex(v.data);
      const icv = Buffer.alloc(v.icv.length / 2);
      assert.ok(ctx.mac([inBlock(data, 4096)], icv));
      assert.equal(icv.toString("hex"), v.icv);
      icv.fill(0);
      assert.ok(ctx.mac([data], icv));
      assert.equal(icv.toString("hex"), v.icv);
      const whole = Buffer.alloc(v.hmac.length / 2);
      assert.ok(
        ctx.mac([data.subarray(0, 3), new Uint8Array(0), inBlock(data.subarray(3), 8192)], whole),
      );
      assert.equal(whole.toString("hex"), v.hmac, "the untruncated HMAC, data in two places");
      ctx.free();
      assert.equal(ctx.mac([data], icv), false, "a freed context refuses, never crashes");
    });
  }

  for (const v of vectors("rfc3602/aes-cbc.json")) {
    it(`${v.name}: AES-CBC encrypts in place to the ciphertext and decrypts back`, () => {
      const enc = native!.cbc(hex(v.key), true)!;
      const dec = native!.cbc(hex(v.key), false)!;
      const iv = hex(v.iv);
      const buf = inBlock(hex(v.plaintext), 4096);
      assert.ok(enc.run(iv, buf, buf));
      assert.equal(Buffer.from(buf).toString("hex"), v.ciphertext);
      assert.ok(dec.run(iv, buf, buf));
      assert.equal(Buffer.from(buf).toString("hex"), v.plaintext);
      const out = Buffer.alloc(buf.length);
      assert.ok(enc.run(iv, hex(v.plaintext), out), "outside the block");
      assert.equal(out.toString("hex"), v.ciphertext);
      assert.equal(enc.run(iv, Buffer.alloc(15), Buffer.alloc(15)), false, "not whole blocks");
      enc.free();
      dec.free();
    });
  }
});

function nativeCipher(name: TransformName, enc: Uint8Array, auth: Uint8Array, encrypt: boolean) {
  return createEspCipher(name, enc, auth, { provider: evp!, encrypt });
}

describe("ESP with the HMAC transforms on libcrypto: the RFC 4303 layout", () => {
  it("null-sha256: SPI || seq || payload || 1 2 .. || pad length || next header || HMAC-SHA-256-128 of all before it", () => {
    const auth = hex(vectors("rfc4868/auth-hmac-sha256-128.json")[3]!.key);
    const payload = Buffer.from("sign, do not encrypt");
    const slot = block.bytes.subarray(4096, 4096 + 2048);
    const cipher = nativeCipher("null-sha256", new Uint8Array(0), auth, true);
    const n = sealEspInto(cipher, 0x01020304, 7, false, payload, 17, new Uint8Array(0), slot);
    // 20 bytes + 2 = 22, padded to 24 (4-byte alignment): 2 pad bytes 01 02.
    const covered = Buffer.concat([hex("0102030400000007"), payload, hex("01020211")]);
    const expected = Buffer.concat([covered, hmac("sha256", auth, covered).subarray(0, 16)]);
    assert.equal(Buffer.from(slot.subarray(0, n)).toString("hex"), expected.toString("hex"));
    const inbound = nativeCipher("null-sha256", new Uint8Array(0), auth, false);
    const opened = openEspInPlace(inbound, slot.subarray(0, n), 0, false);
    assert.ok(typeof opened !== "string");
    assert.equal(opened.payload.toString(), "sign, do not encrypt");
    assert.equal(opened.nextHeader, 17);
  });

  it("null-sha1 with ESN: the ICV (96 bits) also covers the high sequence bits, which are not sent (RFC 4303 §2.2.1)", () => {
    const auth = hex(vectors("rfc2404/hmac-sha1-96.json")[1]!.key);
    const seq = 5 * 2 ** 32 + 9;
    const cipher = nativeCipher("null-sha1", new Uint8Array(0), auth, true);
    const slot = block.bytes.subarray(4096, 4096 + 2048);
    const n = sealEspInto(cipher, 0xabcd, seq, true, hex("cafe"), 6, new Uint8Array(0), slot);
    const covered = hex("0000abcd00000009cafe0006");
    const icv = hmac("sha1", auth, [covered, hex("00000005")]).subarray(0, 12);
    assert.equal(
      Buffer.from(slot.subarray(0, n)).toString("hex"),
      `${covered.toString("hex")}${icv.toString("hex")}`,
    );
    const inbound = nativeCipher("null-sha1", new Uint8Array(0), auth, false);
    assert.equal(
      openEsp(inbound, Buffer.from(slot.subarray(0, n)), 4, true),
      "auth_failed",
      "wrong seq-hi",
    );
    assert.ok(typeof openEsp(inbound, Buffer.from(slot.subarray(0, n)), 5, true) !== "string");
  });

  for (const [name, i] of [
    ["aes128-sha256", 1],
    ["aes256-sha1", 2],
  ] as const) {
    const v = vectors("rfc3602/aes-cbc.json")[i]!;
    it(`${name}: body = IV || the ${v.name} ciphertext || ICV over SPI, seq, IV and ciphertext (encrypt-then-MAC)`, () => {
      const spec = transformSpec(name);
      const auth = Buffer.alloc(spec.authKeyBytes, 0x5a);
      const cipher = nativeCipher(name, hex(v.key), auth, true);
      const header = hex("0000100100000001");
      const body = Buffer.concat(cipher.seal(header, 0, false, [hex(v.plaintext)], hex(v.iv)));
      const ivCt = Buffer.concat([hex(v.iv), hex(v.ciphertext)]);
      const alg = name.endsWith("sha256") ? "sha256" : "sha1";
      const icv = hmac(alg, auth, [header, ivCt]).subarray(0, spec.icvBytes);
      assert.equal(body.toString("hex"), Buffer.concat([ivCt, icv]).toString("hex"));
      const inbound = nativeCipher(name, hex(v.key), auth, false);
      assert.equal(inbound.open(header, 0, false, body)?.toString("hex"), v.plaintext);
    });
  }

  for (const name of HMAC_TRANSFORMS) {
    it(`${name}: sealEspInto/openEspInPlace on libcrypto = sealEsp/openEsp on node:crypto; any flipped bit fails (property)`, () => {
      fc.assert(
        fc.property(
          fc.uint8Array({ minLength: 0, maxLength: 1500 }),
          fc.integer({ min: 1, max: 2 ** 40 }),
          fc.boolean(),
          fc.uint8Array({ minLength: 64, maxLength: 64 }),
          fc.nat(),
          (payload, seq, esn, keys, flip) => {
            const spec = transformSpec(name);
            const enc = keys.subarray(0, spec.encKeyBytes);
            const auth = keys.subarray(32, 32 + spec.authKeyBytes);
            const iv = Buffer.from(keys.subarray(0, 16)).reverse();
            const ref = createEspCipher(name, enc, auth);
            const expected = sealEsp(ref, 0x4321, seq, esn, payload, 6, iv);
            const out = nativeCipher(name, enc, auth, true);
            const slot = block.bytes.subarray(4096, 4096 + 2048);
            const n = sealEspInto(out, 0x4321, seq, esn, payload, 6, iv, slot);
            assert.deepEqual(Buffer.from(slot.subarray(0, n)), expected);
            const seqHi = esn ? Math.floor(seq / 2 ** 32) : 0;
            const inb = nativeCipher(name, enc, auth, false);
            const tampered = Buffer.from(expected);
            const bit = flip % (tampered.length * 8);
            tampered[bit >> 3] = (tampered[bit >> 3] as number) ^ (1 << (bit & 7));
            assert.equal(
              openEspInPlace(inb, inBlock(tampered, 8192) as Buffer, seqHi, esn),
              "auth_failed",
            );
            const opened = openEspInPlace(inb, slot.subarray(0, n), seqHi, esn);
            assert.ok(typeof opened !== "string");
            assert.deepEqual(opened.payload, Buffer.from(payload));
            const viaRef = openEsp(ref, expected, seqHi, esn);
            assert.ok(typeof viaRef !== "string");
            out.free?.();
            inb.free?.();
          },
        ),
        { numRuns: 40 },
      );
    });
  }
});

describe("AH on a keyed libcrypto context (RFC 4302)", () => {
  const key = hex(vectors("rfc4868/auth-hmac-sha256-128.json")[0]!.key);
  const input = {
    spi: 0x5151,
    seq: 3,
    esn: false,
    src: Uint8Array.of(192, 0, 2, 1),
    dst: Uint8Array.of(192, 0, 2, 2),
    nextHeader: 17,
    payload: Buffer.from("0035003500110000616263", "hex"),
    id: 0x0102,
  };
  /** RFC 4302 §3.3.3.1: the ICV input built by hand: mutable fields and the ICV zero. */
  const expectedIcv = (esn: boolean) => {
    const ip = hex(
      `4500${(20 + 28 + 11).toString(16).padStart(4, "0")}0102000000330000c0000201c0000202`,
    );
    const ah = hex("11050000000051510000000300000000000000000000000000000000");
    const parts = [ip, ah, input.payload];
    if (esn) parts.push(hex("00000000"));
    return hmac("sha256", key, parts).subarray(0, 16);
  };

  it("sealAh (native, into native memory) signs the header with TOS, flags, TTL, checksum zeroed and the AH with a zero ICV", () => {
    const a = ahIntegrity("null-sha256", key, native)!;
    const out = block.bytes.subarray(4096, 4096 + 2048);
    const n = sealAhInto(a, input, out);
    const packet = Buffer.from(out.subarray(0, n));
    assert.equal(n, 20 + 28 + 11);
    assert.equal(packet.subarray(32, 48).toString("hex"), expectedIcv(false).toString("hex"));
    assert.equal(packet[8], 64, "TTL is set after signing");
    assert.equal(packet[6], 0x40, "DF is set after signing");
    assert.deepEqual(
      sealAh(ahIntegrity("null-sha256", key)!, input),
      packet,
      "= the keyed fallback",
    );
  });

  it("verifyAh: accepts after a router changes TTL, TOS and the checksum; refuses a flipped payload bit; leaves the packet as it was", () => {
    const a = ahIntegrity("null-sha256", key, native)!;
    const packet = sealAh(a, { ...input, esn: true, seq: 2 ** 32 + 3 });
    const h = readAhHeader(packet)!;
    const routed = Buffer.from(packet);
    routed[8] = 17;
    routed[1] = 0x10;
    routed.writeUInt16BE(0xbeef, 10);
    const before = Buffer.from(routed);
    assert.equal(verifyAh(a, inBlock(routed, 8192) as Buffer, h, 1, true), "ok");
    assert.equal(verifyAh(a, routed, h, 1, true), "ok");
    assert.deepEqual(routed, before, "the mutable fields and the ICV are put back");
    assert.equal(verifyAh(a, routed, h, 0, true), "auth_failed", "the wrong high sequence bits");
    routed[routed.length - 1] = (routed[routed.length - 1] as number) ^ 1;
    assert.equal(verifyAh(a, routed, h, 1, true), "auth_failed");
    a.free();
  });
});

function record(over: Partial<SaRecord>): SaRecord {
  return saRecord({
    spi: 0x2002,
    transform: "null-sha256",
    encKey: Buffer.alloc(0),
    authKey: Buffer.alloc(32, 7),
    selectors: anySelectors("0.0.0.0/0", "0.0.0.0/0"),
    label: "hmac",
    ...over,
  });
}

describe("a bad ICV is a counted drop on the native path (RFC 4303 §3.4.4, RFC 4302 §3.4.4)", () => {
  const cases: [string, Partial<SaRecord>][] = [
    ["ESP null-sha256", {}],
    ["ESP aes128-sha256", { transform: "aes128-sha256", encKey: Buffer.alloc(16, 3) }],
    [
      "ESP aes256-sha1",
      { transform: "aes256-sha1", encKey: Buffer.alloc(32, 3), authKey: Buffer.alloc(20, 4) },
    ],
    ["AH null-sha256", { protocol: "ah", encap: null }],
  ];
  for (const [label, over] of cases) {
    it(`${label}: a good packet is delivered, one with a flipped ICV bit counts auth_failed and is not`, () => {
      const sab = createCounterBuffer();
      const sadA = createSad(evp!);
      sadA.add(record(over), 0, 0);
      const sadB = createSad(evp!);
      sadB.add(record({ ...over, direction: "in", local: B, peer: A }), 1, 0);
      const out = createOutbound({
        sad: sadA,
        counters: createCounterWriter(sab, "outbound"),
        events: () => {},
        nowMs: () => 0,
        randomBytes: (n) => Buffer.alloc(n, 0x42),
      });
      const inb = createInbound({
        sad: sadB,
        counters: createCounterWriter(sab, "inbound"),
        events: () => {},
        nowMs: () => 0,
        inPlace: true,
      });
      const udp = Buffer.concat([hex("303900500010000068656c6c6f21"), Buffer.alloc(2)]);
      const packet = buildIpPacket(
        Uint8Array.of(192, 0, 2, 1),
        Uint8Array.of(192, 0, 2, 2),
        17,
        udp,
      );
      const receive = (d: Buffer) => {
        const at = inBlock(d, 8192) as Buffer;
        return at[9] === 51 && d[0] === 0x45
          ? inb.openAh(at)
          : inb.open(at, { address: A, port: 4500 });
      };
      const first = out.seal(packet, block.bytes.subarray(4096, 4096 + 2048))!;
      const good = Buffer.from(first.datagram);
      assert.deepEqual(receive(good)?.subarray(20), udp);
      const second = out.seal(packet, block.bytes.subarray(4096, 4096 + 2048))!;
      const bad = Buffer.from(second.datagram);
      const icvEnd = over.protocol === "ah" ? 20 + 28 : bad.length;
      bad[icvEnd - 1] = (bad[icvEnd - 1] as number) ^ 0x80;
      assert.equal(receive(bad), null);
      const c = readCounters(sab);
      assert.equal(c.drops.inbound.auth_failed, 1);
      assert.equal(c.info.tun_packets_out, 1);
      sadA.remove("out", 0x2002);
      sadB.remove("in", 0x2002);
    });
  }
});

describe(
  "AH between two postern agents on the batched path (raw socket sendmmsg/recvmmsg)",
  needsRoot(),
  () => {
    let lab: Lab;
    before(() => {
      lab = createLab();
    });
    after(() => lab?.destroy());

    it("200 kB of TCP through AH come back uppercased; B opened every packet A sealed, none failed", async () => {
      const key = { authKey: "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff" };
      const k = keyingPair("null-sha256", { ...key, protocol: "ah" });
      const a = await lab.startAgent(lab.nsA, k.a, "ahtcp-a");
      const b = await lab.startAgent(lab.nsB, k.b, "ahtcp-b");
      const server = lab.spawnIn(lab.nsB, [process.execPath, "-e", echoServerScript(7001)]);
      try {
        assert.ok(await waitOutput(server, "listening", 10_000), "echo server started");
        const client = [process.execPath, "-e", echoClientScript(7001), "ah-marker", "200000"];
        const tcp = lab.exec(lab.nsA, client, 30_000);
        assert.equal(tcp.code, 0, tcp.out + tcp.err);
        assert.match(tcp.out, /^200000 AH-MARKER/);
        const read = async (home: string) => {
          const r = await cli(home, "--json", "agent", "stats");
          return JSON.parse(r.out) as {
            drops: { inbound: Record<string, number> };
            sas: { direction: string; packets: number }[];
            info: Record<string, number>;
          };
        };
        const sa = await read(a.home);
        const sb = await read(b.home);
        const out = sa.sas.find((s) => s.direction === "out")?.packets ?? 0;
        assert.ok(out > 100 && (sa.info.ah_packets_out ?? 0) >= out, JSON.stringify(sa));
        // Every packet A sealed was opened by B (the counters of both, should one not be).
        const seen = JSON.stringify({ a: sa, b: sb });
        assert.equal(sb.sas.find((s) => s.direction === "in")?.packets, out, seen);
        assert.equal(sb.drops.inbound.auth_failed, 0, seen);
        assert.equal(sb.drops.inbound.malformed, 0, seen);
        assert.equal(lab.exec(lab.nsA, ["ping", "-c", "1", "-W", "2", ADDR_B]).code, 0);
      } finally {
        await stopChild(server);
        assert.equal(await lab.stopAgent(a), 0);
        assert.equal(await lab.stopAgent(b), 0);
      }
    });
  },
);
