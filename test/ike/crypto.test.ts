import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import { dhGenerate, dhGenerateFast, hmac, modp14KeyPair } from "../../src/crypto/primitives.js";
import {
  deriveChildKeys,
  deriveIkeKeys,
  openMessage,
  prf,
  prfPlus,
  sealMessage,
  sharedKeyAuth,
} from "../../src/ike/crypto.js";
import { IkeError } from "../../src/ike/errors.js";
import { encodeChain } from "../../src/ike/message.js";
import { encrInfo, integInfo, prfInfo } from "../../src/ike/transforms.js";

const here = path.dirname(fileURLToPath(import.meta.url));
const vectors = JSON.parse(
  fs.readFileSync(path.resolve(here, "../../../test/vectors/rfc4868/prf-hmac-sha2.json"), "utf8"),
) as { cases: { prf: number; key: string; data: string; out: string }[] };

const sha256 = prfInfo(5)!;

describe("IKEv2 key schedule (RFC 7296 §2.13-§2.17)", () => {
  for (const c of vectors.cases) {
    it(`RFC 4868 §2.7.1 PRF transform ${c.prf} test case 1`, () => {
      const out = prf(prfInfo(c.prf)!, Buffer.from(c.key, "hex"), Buffer.from(c.data, "hex"));
      assert.equal(out.toString("hex"), c.out);
    });
  }

  it("RFC 7296 §2.13: prf+ is T1 | T2 | ... with Tn = prf(K, Tn-1 | S | n)", () => {
    const k = Buffer.from("key");
    const s = Buffer.from("seed");
    const t1 = hmac("sha256", k, Buffer.concat([s, Buffer.from([1])]));
    const t2 = hmac("sha256", k, Buffer.concat([t1, s, Buffer.from([2])]));
    const t3 = hmac("sha256", k, Buffer.concat([t2, s, Buffer.from([3])]));
    assert.deepEqual(prfPlus(sha256, k, s, 80), Buffer.concat([t1, t2, t3]).subarray(0, 80));
  });

  it("RFC 7296 §2.14: SK_* lengths follow the suite (GCM: no SK_a, key + 4-byte salt)", () => {
    const n = Buffer.alloc(32, 1);
    const spi = Buffer.alloc(8, 2);
    const gcm = deriveIkeKeys(
      { encr: encrInfo(20, 256)!, integ: null, prf: sha256, dh: 31, esn: false },
      Buffer.alloc(32),
      n,
      n,
      spi,
      spi,
    );
    assert.deepEqual([gcm.d.length, gcm.ai.length, gcm.ei.length, gcm.pi.length], [32, 0, 36, 32]);
    const cbc = deriveIkeKeys(
      { encr: encrInfo(12, 128)!, integ: integInfo(12), prf: sha256, dh: 14, esn: false },
      Buffer.alloc(32),
      n,
      n,
      spi,
      spi,
    );
    assert.deepEqual([cbc.ai.length, cbc.ar.length, cbc.ei.length], [32, 32, 16]);
    assert.notDeepEqual(cbc.ei, cbc.er);
  });

  it("RFC 7296 §2.17: KEYMAT is encr(I->R) | integ(I->R) | encr(R->I) | integ(R->I)", () => {
    const skD = Buffer.alloc(32, 9);
    const n = Buffer.alloc(16, 3);
    const k = deriveChildKeys(sha256, skD, n, n, null, {
      encr: encrInfo(12, 128)!,
      integ: integInfo(12),
    });
    const km = prfPlus(sha256, skD, Buffer.concat([n, n]), 96);
    assert.deepEqual(Buffer.concat([k.encrI, k.integI, k.encrR, k.integR]), km);
  });

  it('RFC 7296 §2.15: AUTH = prf(prf(secret, "Key Pad for IKEv2"), SignedOctets)', () => {
    const inner = hmac("sha256", Buffer.from("psk"), Buffer.from("Key Pad for IKEv2"));
    assert.deepEqual(
      sharedKeyAuth(sha256, Buffer.from("psk"), [Buffer.from("msg")]),
      hmac("sha256", inner, Buffer.from("msg")),
    );
  });

  for (const [name, encr, integ] of [
    ["AES-GCM-16-128 (RFC 5282)", encrInfo(20, 128)!, null],
    ["AES-CBC-256 + HMAC-SHA2-256-128", encrInfo(12, 256)!, integInfo(12)],
    ["AES-CBC-128 + HMAC-SHA2-384-192", encrInfo(12, 128)!, integInfo(13)],
  ] as const) {
    it(`RFC 7296 §3.14: SK payload seals and opens with ${name}; any flipped bit fails integrity`, () => {
      fc.assert(
        fc.property(fc.uint8Array({ minLength: 4, maxLength: 200 }), fc.nat(), (data, flip) => {
          const k = {
            encr,
            integ,
            ek: Buffer.alloc(encr.keyBytes + encr.saltBytes, 7),
            ak: Buffer.alloc(integ?.keyBytes ?? 0, 8),
          };
          const inner = encodeChain([{ type: "V", data: Buffer.from(data) }]);
          const h = {
            spiI: Buffer.alloc(8, 1),
            spiR: Buffer.alloc(8, 2),
            majorVersion: 2,
            minorVersion: 0,
            exchangeType: 37,
            initiator: true,
            response: false,
            messageId: 5,
          };
          const wire = sealMessage(h, inner.first, inner.bytes, k, Buffer.alloc(encr.ivBytes, 4));
          assert.deepEqual(openMessage(wire, 28, k), inner.bytes);
          const bad = Buffer.from(wire);
          const pos = flip % bad.length;
          bad[pos] = bad[pos]! ^ 0x01;
          assert.throws(
            () => openMessage(bad, 28, k),
            (e) => e instanceof IkeError,
          );
        }),
        { numRuns: 100 },
      );
    });
  }

  for (const group of [14, 19, 31] as const) {
    it(`RFC 7296 §2.14: dhGenerateFast and dhGenerate agree on the group ${group} shared secret`, () => {
      const a = dhGenerateFast(group);
      const b = dhGenerate(group);
      assert.deepEqual(a.computeSecret(b.publicValue), b.computeSecret(a.publicValue));
      assert.equal(a.publicValue.length, b.publicValue.length);
    });
  }

  it("RFC 7296 §3.4: a MODP 2048 public value shorter than the prime is padded to 256 bytes", () => {
    // Private key 16: the public value is 2^16, three bytes as node hands it out.
    const short = modp14KeyPair(Buffer.from([16]));
    const expected = Buffer.alloc(256);
    expected.writeUInt32BE(0x10000, 252);
    assert.deepEqual(short.publicValue, expected);
    const peer = dhGenerate(14);
    const secret = short.computeSecret(peer.publicValue);
    assert.equal(secret.length, 256);
    assert.deepEqual(secret, peer.computeSecret(short.publicValue));
  });

  for (const [group, bytes] of [
    [14, 256],
    [19, 64],
    [31, 32],
  ] as const) {
    it(`RFC 7296 §3.4: a group ${group} peer value that is not ${bytes} bytes is refused with one line`, () => {
      const peer = dhGenerate(group).publicValue;
      for (const pair of [dhGenerate(group), dhGenerateFast(group)]) {
        assert.throws(
          () => pair.computeSecret(peer.subarray(1)),
          new RegExp(
            `^RangeError: DH group ${group} public value is ${bytes - 1} bytes, not ${bytes}$`,
          ),
        );
      }
    });
  }
});
