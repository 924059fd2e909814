import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import {
  createDerivedKeyCache,
  createKerberosCrypto,
  getChecksumType,
  getEnctype,
  KerberosCryptoError,
  KeyUsage,
  SUPPORTED_ENCTYPES,
} from "../../src/kerberos/crypto/index.js";

/** A deterministic random source so failures reproduce. */
function counterRandom(): { randomBytes(n: number): Uint8Array } {
  let c = 0;
  return { randomBytes: (n) => Uint8Array.from({ length: n }, () => c++ & 0xff) };
}

function isCryptoError(code: string, krb: number) {
  return (e: unknown) =>
    e instanceof KerberosCryptoError && e.code === code && e.krbErrorCode === krb;
}

describe("Kerberos enctypes 17, 18, 19, 20", () => {
  for (const etype of SUPPORTED_ENCTYPES) {
    const e = getEnctype(etype, counterRandom());

    it(`${e.name}: encrypt then decrypt returns the plaintext for any length (property)`, () => {
      const key = e.generateKey();
      fc.assert(
        fc.property(
          fc.uint8Array({ maxLength: 200 }),
          fc.integer({ min: 0, max: 1024 }),
          (p, u) => {
            const c = e.encrypt(key, u, p);
            assert.equal(c.length, p.length + e.overhead);
            assert.equal(
              Buffer.from(e.decrypt(key, u, c)).toString("hex"),
              Buffer.from(p).toString("hex"),
            );
          },
        ),
        { numRuns: 150 },
      );
    });

    it(`${e.name}: a wrong key, a wrong usage or a flipped bit is KRB_AP_ERR_BAD_INTEGRITY (31)`, () => {
      const key = e.generateKey();
      const other = e.generateKey();
      const c = e.encrypt(key, KeyUsage.AP_REQ_AUTH, new TextEncoder().encode("authenticator"));
      assert.throws(
        () => e.decrypt(other, KeyUsage.AP_REQ_AUTH, c),
        isCryptoError("integrity", 31),
      );
      assert.throws(
        () => e.decrypt(key, KeyUsage.AP_REP_ENC_PART, c),
        isCryptoError("integrity", 31),
      );
      fc.assert(
        fc.property(fc.nat(c.length * 8 - 1), (bit) => {
          const m = Uint8Array.from(c);
          m[bit >> 3]! ^= 1 << (bit & 7);
          assert.throws(
            () => e.decrypt(key, KeyUsage.AP_REQ_AUTH, m),
            isCryptoError("integrity", 31),
          );
        }),
        { numRuns: 100 },
      );
    });

    it(`${e.name}: truncated ciphertext gives a typed error, never a crash`, () => {
      const key = e.generateKey();
      const c = e.encrypt(key, 1, new Uint8Array(40));
      for (let n = 0; n < c.length; n++) {
        assert.throws(
          () => e.decrypt(key, 1, c.subarray(0, n)),
          (err: unknown) => err instanceof KerberosCryptoError,
        );
      }
    });

    it(`${e.name}: a key of the wrong length is refused with one line`, () => {
      assert.throws(
        () => e.encrypt(new Uint8Array(e.keyLength + 1), 1, new Uint8Array(1)),
        (err: unknown) =>
          err instanceof KerberosCryptoError &&
          err.code === "bad-key" &&
          err.message === `${e.name}: key length ${e.keyLength + 1} bytes, expected ${e.keyLength}`,
      );
    });

    it(`${e.name}: checksum type ${e.checksumType} verifies and rejects a changed message`, () => {
      const key = e.generateKey();
      const data = new TextEncoder().encode("KRB-SAFE body");
      const ck = getChecksumType(e.checksumType).checksum(key, KeyUsage.KRB_SAFE_CKSUM, data);
      assert.equal(ck.length, e.checksumLength);
      assert.ok(e.verifyChecksum(key, KeyUsage.KRB_SAFE_CKSUM, data, ck));
      assert.equal(e.verifyChecksum(key, KeyUsage.AP_REQ_AUTH_CKSUM, data, ck), false);
      assert.equal(e.verifyChecksum(key, KeyUsage.KRB_SAFE_CKSUM, data.subarray(1), ck), false);
      assert.equal(e.verifyChecksum(key, KeyUsage.KRB_SAFE_CKSUM, data, ck.subarray(1)), false);
    });
  }

  it("with a derived-key cache, every enctype gives the same bytes as without (property)", () => {
    const cache = createDerivedKeyCache(8);
    const kc = createKerberosCrypto({
      randomBytes: counterRandom().randomBytes,
      derivedKeys: cache,
    });
    fc.assert(
      fc.property(
        fc.constantFrom(...SUPPORTED_ENCTYPES),
        fc.integer({ min: 0, max: 30 }),
        fc.uint8Array({ minLength: 16, maxLength: 16 }),
        fc.uint8Array({ maxLength: 64 }),
        (etype, usage, conf, p) => {
          const plain = getEnctype(etype);
          const fast = kc.getEnctype(etype);
          const key = Uint8Array.from(
            { length: plain.keyLength },
            (_, i) => (i * 7 + usage) & 0xff,
          );
          const c = fast.encrypt(key, usage, p, conf);
          assert.deepEqual(Buffer.from(c), Buffer.from(plain.encrypt(key, usage, p, conf)));
          assert.deepEqual(Buffer.from(fast.decrypt(key, usage, c)), Buffer.from(p));
          assert.deepEqual(
            Buffer.from(fast.checksum(key, usage, p)),
            Buffer.from(plain.checksum(key, usage, p)),
          );
          assert.ok(cache.size <= 8);
        },
      ),
      { numRuns: 200 },
    );
    assert.equal(kc.getEnctype(18), kc.getEnctype(18), "instances are made once");
    assert.throws(
      () => kc.getEnctype(18).encrypt(new Uint8Array(5), 1, new Uint8Array(1)),
      /key length 5/,
    );
  });

  it("every output is a plain Uint8Array (not a Buffer), so callers can compare them", () => {
    for (const etype of SUPPORTED_ENCTYPES) {
      const e = getEnctype(etype);
      const k = e.generateKey();
      const outs = [
        e.stringToKey("p", "s"),
        e.encrypt(k, 1, new Uint8Array(3)),
        e.decrypt(k, 1, e.encrypt(k, 1, new Uint8Array(0))),
        e.decrypt(k, 1, e.encrypt(k, 1, new Uint8Array(3))),
        e.checksum(k, 1, new Uint8Array(3)),
        e.prf(k, new Uint8Array(3)),
        k,
      ];
      for (const o of outs) assert.equal(Object.getPrototypeOf(o), Uint8Array.prototype, e.name);
    }
  });

  it("the same plaintext encrypts differently each time (fresh confounder)", () => {
    const e = getEnctype(18);
    const key = e.generateKey();
    const p = new Uint8Array(32);
    assert.notDeepEqual(e.encrypt(key, 3, p), e.encrypt(key, 3, p));
  });

  it("RC4, DES and 3DES are recognised by number and refused with advice", () => {
    const refused: [number, string][] = [
      [23, "enctype 23 (rc4-hmac) is not supported: use aes256-cts-hmac-sha1-96 (18)"],
      [1, "enctype 1 (des-cbc-crc) is not supported: use aes256-cts-hmac-sha1-96 (18)"],
      [3, "enctype 3 (des-cbc-md5) is not supported: use aes256-cts-hmac-sha1-96 (18)"],
      [16, "enctype 16 (des3-cbc-sha1-kd) is not supported: use aes256-cts-hmac-sha1-96 (18)"],
      [99, "enctype 99 is unknown: use aes256-cts-hmac-sha1-96 (18)"],
    ];
    for (const [etype, message] of refused) {
      assert.throws(
        () => getEnctype(etype),
        (e: unknown) =>
          e instanceof KerberosCryptoError &&
          e.code === "unsupported-enctype" &&
          e.krbErrorCode === 14 &&
          e.message === message,
      );
    }
    assert.throws(
      () => getChecksumType(-138),
      (e: unknown) =>
        e instanceof KerberosCryptoError &&
        e.code === "unsupported-checksum" &&
        /-138 \(hmac-md5 \(rc4-hmac\)\) is not supported/.test(e.message),
    );
  });
});
