import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  aesCbcEncryptor,
  aesCbcEncryptParts,
  aesEcbDecrypt,
  aesEcbDecryptor,
  aesOnce,
  hmac,
  hmacKeyed,
  hmacOnce,
  type KeyedHashAlg,
  randomBytes,
} from "../../src/crypto/primitives.js";
import { loadLibcrypto } from "../../src/crypto/libcrypto.js";
import { aesCtsEncryptInto } from "../../src/kerberos/crypto/cts.js";
import type { KeyContextCache } from "../../src/kerberos/crypto/key-cache.js";
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

/** `f` with libcrypto's keyed contexts, and again with node:crypto's (POSTERN_CRYPTO=node). */
function bothProviders(name: string, f: () => void) {
  it(`${name} (libcrypto contexts)`, () => {
    assert.ok(loadLibcrypto(), "libcrypto.so.3 loads through koffi");
    f();
  });
  it(`${name} (node:crypto, POSTERN_CRYPTO=node)`, () => {
    process.env.POSTERN_CRYPTO = "node";
    try {
      f();
    } finally {
      delete process.env.POSTERN_CRYPTO;
    }
  });
}

/** One call of `enc` into a fresh array. */
const cbcOnce = (
  enc: (iv: Uint8Array, blocks: Uint8Array, out: Uint8Array) => void,
  iv: Uint8Array,
  data: Uint8Array,
) => {
  const out = new Uint8Array(data.length);
  enc(iv, data, out);
  return out;
};

describe("Keyed contexts (primitives.ts): the bytes of node:crypto's one-shot calls", () => {
  bothProviders(
    "aesCbcEncryptor: every call equals a fresh CBC context with that IV; input unchanged",
    () => {
      for (const keyLength of [16, 32]) {
        const key = randomBytes(keyLength);
        const enc = aesCbcEncryptor(key);
        // 2,000 blocks: longer than libcrypto.ts's 16 KiB chunk.
        for (const blocks of [1, 3, 1, 64, 2000, 2, 5]) {
          const iv = randomBytes(16);
          const data = randomBytes(16 * blocks);
          const copy = Uint8Array.from(data);
          const [fresh] = aesCbcEncryptParts(key, iv, [data]);
          assert.deepEqual(cbcOnce(enc, iv, data), new Uint8Array(fresh!));
          assert.deepEqual(u8(data), copy);
        }
        assert.throws(() => cbcOnce(enc, new Uint8Array(16), new Uint8Array(17)), RangeError);
        const [fresh] = aesCbcEncryptParts(key, new Uint8Array(16), [new Uint8Array(32)]);
        assert.deepEqual(
          cbcOnce(enc, new Uint8Array(16), new Uint8Array(32)),
          new Uint8Array(fresh!),
          "refused call left no state",
        );
      }
      assert.throws(() => aesCbcEncryptor(new Uint8Array(20)), RangeError);
    },
  );

  bothProviders("aesEcbDecryptor: every call equals aesEcbDecrypt", () => {
    for (const keyLength of [16, 32]) {
      const key = randomBytes(keyLength);
      const dec = aesEcbDecryptor(key);
      for (const blocks of [1, 7, 1500, 2]) {
        const data = randomBytes(16 * blocks);
        const out = new Uint8Array(data.length);
        dec(data, out);
        assert.deepEqual(out, new Uint8Array(aesEcbDecrypt(key, data)));
      }
      assert.throws(() => dec(new Uint8Array(15), new Uint8Array(15)), RangeError);
    }
  });

  bothProviders(
    "hmacOnce and aesOnce (shared one-off contexts): the bytes of one-shot calls, interleaved with kept contexts and with each other",
    () => {
      for (const keyLength of [16, 32]) {
        const keys = [randomBytes(keyLength), randomBytes(keyLength)];
        const kept = aesCbcEncryptor(keys[0]!);
        for (let i = 0; i < 12; i++) {
          const key = keys[i % 2]!;
          const data = randomBytes(16 * [1, 3, 1100][i % 3]!);
          const iv = randomBytes(16);
          const out = new Uint8Array(data.length);
          aesOnce(true, key, iv, data, out);
          assert.deepEqual(out, new Uint8Array(aesCbcEncryptParts(key, iv, [data])[0]!));
          assert.deepEqual(
            cbcOnce(kept, iv, data),
            new Uint8Array(aesCbcEncryptParts(keys[0]!, iv, [data])[0]!),
          );
          aesOnce(false, key, undefined, data, out);
          assert.deepEqual(out, new Uint8Array(aesEcbDecrypt(key, data)));
          const back = new Uint8Array(data.length);
          aesOnce(true, key, undefined, out, back);
          assert.deepEqual(back, u8(data), "ECB encryption undoes ECB decryption");
          for (const alg of ["sha1", "sha256", "sha384"] as KeyedHashAlg[]) {
            assert.deepEqual(hmacOnce(alg, key, data), new Uint8Array(hmac(alg, key, data)));
            assert.deepEqual(
              hmacOnce(alg, key, [data.subarray(0, 5), data.subarray(5)]),
              new Uint8Array(hmac(alg, key, data)),
            );
          }
        }
      }
      assert.throws(
        () => aesOnce(true, new Uint8Array(20), undefined, new Uint8Array(16), new Uint8Array(16)),
        RangeError,
      );
      assert.throws(
        () =>
          aesOnce(
            false,
            new Uint8Array(16),
            new Uint8Array(16),
            new Uint8Array(16),
            new Uint8Array(16),
          ),
        RangeError,
      );
    },
  );

  bothProviders("hmacKeyed: every call equals hmac(), one array or parts, any length", () => {
    for (const alg of ["sha1", "sha256", "sha384"] as KeyedHashAlg[]) {
      for (const keyLength of [0, 16, 24, 32, 200]) {
        const key = randomBytes(keyLength);
        const mac = hmacKeyed(alg, key);
        for (const n of [0, 1, 63, 64, 65, 1000, 40_000]) {
          const data = randomBytes(n);
          assert.deepEqual(mac(data), new Uint8Array(hmac(alg, key, data)), `${alg} ${n}`);
          const parts = [data.subarray(0, n >> 1), new Uint8Array(0), data.subarray(n >> 1)];
          assert.deepEqual(mac(parts), new Uint8Array(hmac(alg, key, data)));
        }
        // The key was copied: changing the caller's array changes nothing.
        const data = randomBytes(50);
        const before = mac(data);
        key.fill(1);
        assert.deepEqual(mac(data), before);
      }
    }
  });
});

describe("AES contexts kept per derived key (RFC 3962 §5 / RFC 8009 §5 CTS unchanged)", () => {
  it("aesCtsEncryptInto/aesCtsDecrypt with a context cache: a key changed in place gets new contexts", () => {
    const cache: KeyContextCache = new WeakMap();
    const key = randomBytes(16);
    const data = new Uint8Array(48); // 40 bytes, zero-padded to whole blocks
    data.set(randomBytes(40));
    const once = (k: Uint8Array, c?: KeyContextCache) => {
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
