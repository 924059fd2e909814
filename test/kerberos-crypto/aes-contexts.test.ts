import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { aesCbcEncryptor, aesCbcEncryptParts, randomBytes } from "../../src/crypto/primitives.js";
import { type AesContextCache, aesCtsEncryptInto } from "../../src/kerberos/crypto/cts.js";
import {
  aesCtsDecrypt,
  createDerivedKeyCache,
  getEnctype,
  SUPPORTED_ENCTYPES,
} from "../../src/kerberos/crypto/index.js";

const u8 = (b: Uint8Array) => new Uint8Array(b);

/** Confounders from a counter, so two enctype objects encrypt the same bytes. */
function counterRandom() {
  let c = 0;
  return (n: number) => Uint8Array.from({ length: n }, () => c++ & 0xff);
}

describe("AES contexts kept per derived key (RFC 3962 §5 / RFC 8009 §5 CTS unchanged)", () => {
  it("aesCbcEncryptor: every call equals a fresh CBC context with that IV; input unchanged", () => {
    const key = randomBytes(32);
    const enc = aesCbcEncryptor(key);
    for (const blocks of [1, 3, 1, 64, 2, 5]) {
      const iv = randomBytes(16);
      const data = randomBytes(16 * blocks);
      const copy = Uint8Array.from(data);
      const [fresh] = aesCbcEncryptParts(key, iv, [data]);
      assert.deepEqual(new Uint8Array(enc(iv, data)), new Uint8Array(fresh!));
      assert.deepEqual(u8(data), copy);
    }
    assert.throws(() => enc(new Uint8Array(16), new Uint8Array(17)), RangeError);
    const [fresh] = aesCbcEncryptParts(key, new Uint8Array(16), [new Uint8Array(32)]);
    assert.deepEqual(
      enc(new Uint8Array(16), new Uint8Array(32)),
      fresh,
      "refused call left no state",
    );
  });

  it("aesCtsEncryptInto/aesCtsDecrypt with a context cache: a key changed in place gets new contexts", () => {
    const cache: AesContextCache = new WeakMap();
    const key = randomBytes(16);
    const data = new Uint8Array(48); // 40 bytes, zero-padded to whole blocks
    data.set(randomBytes(40));
    const once = (k: Uint8Array, c?: AesContextCache) => {
      const out = new Uint8Array(40);
      aesCtsEncryptInto(k, new Uint8Array(16), data, 40, out, c);
      return out;
    };
    assert.deepEqual(once(key, cache), once(key));
    key.set(randomBytes(16));
    assert.deepEqual(once(key, cache), once(key));
    const c = once(key, cache);
    assert.deepEqual(aesCtsDecrypt(key, new Uint8Array(16), c, cache), data.subarray(0, 40));
  });

  for (const etype of SUPPORTED_ENCTYPES) {
    it(`etype ${etype}: reused contexts give the bytes of fresh ones, interleaved keys and lengths`, () => {
      const reused = getEnctype(etype, {
        randomBytes: counterRandom(),
        derivedKeys: createDerivedKeyCache(),
        instances: new Map(),
      });
      const fresh = getEnctype(etype, { randomBytes: counterRandom() });
      // The first key is a Buffer: its in-place change below must be noticed too (Buffer.slice is a view).
      const keys = [Buffer.from(reused.generateKey()), reused.generateKey()];
      fresh.generateKey();
      fresh.generateKey();
      for (let i = 0; i < 40; i++) {
        const key = keys[i % 2]!;
        const plain = randomBytes([0, 1, 15, 16, 17, 31, 32, 100, 1000][i % 9]!);
        const a = reused.encrypt(key, 2 + (i % 3), plain);
        const b = fresh.encrypt(key, 2 + (i % 3), plain);
        assert.deepEqual(a, b);
        assert.deepEqual(reused.decrypt(key, 2 + (i % 3), a), u8(plain));
      }
      // A key object changed in place: its old contexts are not used.
      const key = keys[0]!;
      const before = reused.encrypt(key, 2, randomBytes(40));
      key.set(randomBytes(key.length));
      const plain = randomBytes(40);
      const c = reused.encrypt(key, 2, plain);
      assert.deepEqual(fresh.decrypt(key, 2, c), u8(plain));
      assert.throws(() => reused.decrypt(key, 2, before));
    });
  }
});
