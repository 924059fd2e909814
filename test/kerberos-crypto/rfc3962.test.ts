import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { pbkdf2 } from "../../src/crypto/primitives.js";
import { aesCtsDecrypt, aesCtsEncrypt, aesCtsNextIv } from "../../src/kerberos/crypto/cts.js";
import { getEnctype, paramsFromIterations } from "../../src/kerberos/crypto/index.js";
import { hex, loadVectors, toHex } from "./load-vectors.js";

interface S2kVector {
  iterations: number;
  password?: string;
  passwordHex?: string;
  salt?: string;
  saltHex?: string;
  pbkdf2_256: string;
  aes128: string;
  aes256: string;
}
interface CtsVectors {
  key: string;
  iv: string;
  vectors: { input: string; output: string; nextIv: string }[];
}

const pw = (t: S2kVector) => (t.passwordHex ? hex(t.passwordHex) : t.password!);
const salt = (t: S2kVector) => (t.saltHex ? hex(t.saltHex) : t.salt!);
const label = (t: S2kVector) =>
  `iteration ${t.iterations}, salt ${t.salt ? JSON.stringify(t.salt) : `0x${t.saltHex}`}` +
  (t.passwordHex ? ` password 0x${t.passwordHex}` : ` password length ${t.password!.length}`);

describe("RFC 3962 aes-cts-hmac-sha1-96", () => {
  const s2k = loadVectors<{ vectors: S2kVector[] }>("rfc3962/string-to-key.json").vectors;
  for (const t of s2k) {
    it(`RFC 3962 B. PBKDF2 ${label(t)}`, () => {
      const p = typeof pw(t) === "string" ? Buffer.from(pw(t) as string) : (pw(t) as Buffer);
      const s = typeof salt(t) === "string" ? Buffer.from(salt(t) as string) : (salt(t) as Buffer);
      assert.equal(toHex(pbkdf2("sha1", p, s, t.iterations, 32)), t.pbkdf2_256);
    });
    it(`RFC 3962 B. string-to-key aes128 and aes256, ${label(t)}`, () => {
      const params = paramsFromIterations(t.iterations);
      assert.equal(toHex(getEnctype(17).stringToKey(pw(t), salt(t), params)), t.aes128);
      assert.equal(toHex(getEnctype(18).stringToKey(pw(t), salt(t), params)), t.aes256);
    });
  }

  const cts = loadVectors<CtsVectors>("rfc3962/aes-cts.json");
  for (const t of cts.vectors) {
    const n = t.input.length / 2;
    it(`RFC 3962 B. AES-128 CTS encryption of ${n} bytes`, () => {
      const out = aesCtsEncrypt(hex(cts.key), hex(cts.iv), hex(t.input));
      assert.equal(toHex(out), t.output);
      assert.equal(toHex(aesCtsNextIv(out)), t.nextIv);
      assert.equal(toHex(aesCtsDecrypt(hex(cts.key), hex(cts.iv), hex(t.output))), t.input);
    });
  }

  const prf = loadVectors<{
    vectors: { etype: number; key: string; inputHex: string; output: string }[];
  }>("rfc3962/prf.json").vectors;
  for (const t of prf) {
    it(`RFC 3962 §6 PRF ${getEnctype(t.etype).name} of 0x${t.inputHex} (MIT t_prf vector)`, () => {
      assert.equal(toHex(getEnctype(t.etype).prf(hex(t.key), hex(t.inputHex))), t.output);
    });
  }

  it("RFC 3962 §4 default iteration count is 4096 when s2kparams are absent", () => {
    const e = getEnctype(18);
    assert.deepEqual(
      e.stringToKey("password", "ATHENA.MIT.EDUraeburn"),
      e.stringToKey("password", "ATHENA.MIT.EDUraeburn", paramsFromIterations(4096)),
    );
    assert.equal(e.defaultIterations, 4096);
  });

  it("RFC 3962 §4 refuses malformed s2kparams with one line", () => {
    const e = getEnctype(17);
    assert.throws(() => e.stringToKey("p", "s", new Uint8Array(3)), /s2kparams length 3/);
    assert.throws(() => e.stringToKey("p", "s", paramsFromIterations(0)), /iteration count 0/);
  });

  it("AES-CTS refuses input shorter than one block", () => {
    assert.throws(() => aesCtsEncrypt(new Uint8Array(16), new Uint8Array(16), new Uint8Array(15)));
  });
});
