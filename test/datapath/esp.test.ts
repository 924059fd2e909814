import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import {
  buildPlaintext,
  openEsp,
  parseTrailer,
  readEspHeader,
  sealEsp,
} from "../../src/esp/packet.js";
import {
  createEspCipher,
  TRANSFORM_NAMES,
  type TransformName,
  transformSpec,
} from "../../src/esp/transform.js";

const here = path.dirname(fileURLToPath(import.meta.url));
const vectorsFile = path.resolve(here, "../../../test/vectors/rfc4106/gcm-esp.json");

interface GcmVector {
  name: string;
  transform: TransformName;
  key: string;
  salt: string;
  spi: string;
  seqHi: string;
  seqLo: string;
  esn: boolean;
  iv: string;
  plaintext: string;
  ciphertext: string;
  tag: string;
}

const hex = (s: string) => Buffer.from(s, "hex");

function keysFor(name: TransformName, seed: number): { enc: Buffer; auth: Buffer } {
  const spec = transformSpec(name);
  return {
    enc: Buffer.alloc(spec.encKeyBytes, seed),
    auth: Buffer.alloc(spec.authKeyBytes, seed + 1),
  };
}

describe("RFC 4106 AES-GCM in ESP (draft-mcgrew-gcm-test-01 §4 vectors)", () => {
  const vectors = JSON.parse(fs.readFileSync(vectorsFile, "utf8")) as GcmVector[];
  for (const v of vectors) {
    it(`${v.name}: seal gives the vector's ciphertext and ICV`, () => {
      const cipher = createEspCipher(
        v.transform,
        Buffer.concat([hex(v.key), hex(v.salt)]),
        Buffer.alloc(0),
      );
      const header = Buffer.concat([hex(v.spi), hex(v.seqLo)]);
      // Shorter tags in the draft's test case 3 are the first bytes of the 16-byte ICV.
      const body = Buffer.concat(
        cipher.seal(header, hex(v.seqHi).readUInt32BE(0), v.esn, [hex(v.plaintext)], hex(v.iv)),
      );
      assert.equal(body.subarray(0, 8).toString("hex"), v.iv);
      assert.equal(body.subarray(8, 8 + v.ciphertext.length / 2).toString("hex"), v.ciphertext);
      assert.equal(body.subarray(8 + v.ciphertext.length / 2).toString("hex"), v.tag);
    });
    it(`${v.name}: open returns the plaintext, and its trailer parses (RFC 4303 §2.4)`, () => {
      const cipher = createEspCipher(
        v.transform,
        Buffer.concat([hex(v.key), hex(v.salt)]),
        Buffer.alloc(0),
      );
      const packet = Buffer.concat([
        hex(v.spi),
        hex(v.seqLo),
        hex(v.iv),
        hex(v.ciphertext),
        hex(v.tag),
      ]);
      const opened = openEsp(cipher, packet, hex(v.seqHi).readUInt32BE(0), v.esn);
      assert.notEqual(typeof opened, "string");
      if (typeof opened === "string") return;
      assert.equal(
        Buffer.concat([opened.payload]).toString("hex"),
        v.plaintext.slice(0, opened.payload.length * 2),
      );
      // the wrong high sequence half is an authentication failure (RFC 4303 §2.2.1)
      assert.equal(openEsp(cipher, packet, hex(v.seqHi).readUInt32BE(0) + 1, true), "auth_failed");
    });
  }
});

describe("RFC 4303 §2.4 padding", () => {
  it("pads payload + 2 to the transform's block, with pad bytes 1, 2, 3, ...", () => {
    const p = buildPlaintext(Buffer.alloc(13, 0xaa), 6, 16);
    assert.equal(p.length, 16);
    assert.deepEqual([...p.subarray(13)], [1, 1, 6]);
    const q = buildPlaintext(Buffer.alloc(3, 0xaa), 17, 16);
    assert.deepEqual([...q.subarray(3)], [...Array.from({ length: 11 }, (_, i) => i + 1), 11, 17]);
  });
  it("a trailer whose pad bytes are not 1, 2, 3, ... is malformed", () => {
    const p = buildPlaintext(Buffer.alloc(3, 0xaa), 17, 16);
    p[5] = 9;
    assert.equal(parseTrailer(p), null);
    assert.equal(parseTrailer(Buffer.from([200, 4])), null);
  });
});

describe("RFC 4303 ESP round trips, every transform (property)", () => {
  for (const name of TRANSFORM_NAMES) {
    it(`${name}: open(seal(payload)) = payload with next header and sequence number`, () => {
      const { enc, auth } = keysFor(name, 3);
      const cipher = createEspCipher(name, enc, auth);
      const spec = transformSpec(name);
      fc.assert(
        fc.property(
          fc.uint8Array({ minLength: 0, maxLength: 1500 }),
          fc.integer({ min: 0, max: 255 }),
          fc.integer({ min: 1, max: 2 ** 40 }),
          fc.boolean(),
          (payload, nh, seq, esn) => {
            const seqUsed = esn ? seq : seq % 2 ** 32 || 1;
            const iv = Buffer.alloc(spec.ivBytes, 7);
            const packet = sealEsp(cipher, 0x1234, seqUsed, esn, payload, nh, iv);
            assert.equal((packet.length - 8 - spec.ivBytes - spec.icvBytes) % spec.align, 0);
            assert.deepEqual(readEspHeader(packet), { spi: 0x1234, seq: seqUsed % 2 ** 32 });
            const opened = openEsp(cipher, packet, esn ? Math.floor(seqUsed / 2 ** 32) : 0, esn);
            assert.notEqual(typeof opened, "string");
            if (typeof opened === "string") return;
            assert.deepEqual(new Uint8Array(opened.payload), payload);
            assert.equal(opened.nextHeader, nh);
          },
        ),
        { numRuns: 60 },
      );
    });

    it(`${name}: any flipped bit or truncation is a counted failure, never a throw (RFC 4303 §3.4.4)`, () => {
      const { enc, auth } = keysFor(name, 5);
      const cipher = createEspCipher(name, enc, auth);
      const spec = transformSpec(name);
      const packet = sealEsp(
        cipher,
        0x99,
        7,
        false,
        Buffer.from("the secret payload"),
        6,
        Buffer.alloc(spec.ivBytes, 1),
      );
      fc.assert(
        fc.property(fc.integer({ min: 8, max: packet.length * 8 - 1 }), (bit) => {
          const m = Buffer.from(packet);
          m[bit >> 3] = (m[bit >> 3] as number) ^ (1 << (bit & 7));
          const r = openEsp(cipher, m, 0, false);
          assert.ok(r === "auth_failed" || r === "malformed", `bit ${bit}: ${JSON.stringify(r)}`);
        }),
        { numRuns: 150 },
      );
      for (let len = 0; len < packet.length; len++) {
        const r = openEsp(cipher, packet.subarray(0, len), 0, false);
        assert.ok(r === "auth_failed" || r === "malformed", `length ${len}`);
      }
    });

    it(`${name}: another key fails authentication`, () => {
      const a = keysFor(name, 5);
      const b = keysFor(name, 9);
      const spec = transformSpec(name);
      const packet = sealEsp(
        createEspCipher(name, a.enc, a.auth),
        1,
        1,
        false,
        Buffer.from("x"),
        6,
        Buffer.alloc(spec.ivBytes),
      );
      assert.equal(openEsp(createEspCipher(name, b.enc, b.auth), packet, 0, false), "auth_failed");
    });
  }

  it("NULL encryption (RFC 2410, 'sign') carries the payload in clear but authenticated", () => {
    const { enc, auth } = keysFor("null-sha256", 1);
    const packet = sealEsp(
      createEspCipher("null-sha256", enc, auth),
      1,
      1,
      false,
      Buffer.from("visible text"),
      17,
      Buffer.alloc(0),
    );
    assert.ok(packet.includes(Buffer.from("visible text")));
    const gcm = keysFor("aes128gcm16", 1);
    const sealed = sealEsp(
      createEspCipher("aes128gcm16", gcm.enc, gcm.auth),
      1,
      1,
      false,
      Buffer.from("visible text"),
      17,
      Buffer.alloc(8),
    );
    assert.ok(!sealed.includes(Buffer.from("visible text")));
  });

  it("keys of the wrong length are refused with the lengths named", () => {
    assert.throws(
      () => createEspCipher("aes128-sha256", Buffer.alloc(16), Buffer.alloc(20)),
      /16 \+ 32 bytes, got 16 \+ 20/,
    );
  });
});
