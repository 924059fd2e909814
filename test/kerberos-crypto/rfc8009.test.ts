import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { kdfHmacSha2 } from "../../src/kerberos/crypto/aes-sha2.js";
import { aesCtsEncrypt } from "../../src/kerberos/crypto/cts.js";
import { usageConstant } from "../../src/kerberos/crypto/derive.js";
import {
  getChecksumType,
  getEnctype,
  paramsFromIterations,
} from "../../src/kerberos/crypto/index.js";
import { hex, loadVectors, toHex } from "./load-vectors.js";

interface Rfc8009 {
  stringToKey: {
    etype: number;
    iterations: number;
    password: string;
    saltHex: string;
    saltp: string;
    key: string;
  }[];
  keyDerivation: {
    etype: number;
    baseKey: string;
    usage: number;
    kc: string;
    ke: string;
    ki: string;
  }[];
  encryption: {
    etype: number;
    label: string;
    baseKey: string;
    usage: number;
    plaintext: string;
    confounder: string;
    aesOutput: string;
    mac: string;
    ciphertext: string;
  }[];
  checksum: {
    etype: number;
    cksumtype: number;
    baseKey: string;
    usage: number;
    plaintext: string;
    checksum: string;
  }[];
  prf: { etype: number; baseKey: string; inputHex: string; output: string }[];
}

const hashOf = (etype: number) => (etype === 19 ? "sha256" : "sha384");
const v = loadVectors<Rfc8009>("rfc8009/vectors.json");

describe("RFC 8009 aes-cts-hmac-sha2", () => {
  for (const t of v.stringToKey) {
    const name = getEnctype(t.etype).name;
    it(`RFC 8009 A. string-to-key ${name} (${t.iterations} iterations)`, () => {
      const e = getEnctype(t.etype);
      const key = e.stringToKey(t.password, hex(t.saltHex), paramsFromIterations(t.iterations));
      assert.equal(toHex(key), t.key);
      // saltp = enctype name | 0x00 | salt, as the RFC prints it
      assert.equal(
        t.saltp,
        Buffer.concat([Buffer.from(name), Buffer.from([0]), hex(t.saltHex)]).toString("hex"),
      );
      // 32768 is the default iteration count
      assert.equal(toHex(e.stringToKey(t.password, hex(t.saltHex))), t.key);
    });
  }

  for (const t of v.keyDerivation) {
    it(`RFC 8009 A. key derivation Kc, Ke, Ki for ${getEnctype(t.etype).name} usage ${t.usage}`, () => {
      const h = hashOf(t.etype);
      const base = hex(t.baseKey);
      assert.equal(
        toHex(kdfHmacSha2(h, base, usageConstant(t.usage, 0x99), t.kc.length / 2)),
        t.kc,
      );
      assert.equal(
        toHex(kdfHmacSha2(h, base, usageConstant(t.usage, 0xaa), t.ke.length / 2)),
        t.ke,
      );
      assert.equal(
        toHex(kdfHmacSha2(h, base, usageConstant(t.usage, 0x55), t.ki.length / 2)),
        t.ki,
      );
    });
  }

  for (const t of v.encryption) {
    it(`RFC 8009 A. encryption ${getEnctype(t.etype).name}, ${t.label}`, () => {
      const e = getEnctype(t.etype);
      const out = e.encrypt(hex(t.baseKey), t.usage, hex(t.plaintext), hex(t.confounder));
      assert.equal(toHex(out), t.ciphertext);
      assert.equal(toHex(out.subarray(0, t.aesOutput.length / 2)), t.aesOutput);
      assert.equal(toHex(out.subarray(t.aesOutput.length / 2)), t.mac);
      assert.equal(toHex(e.decrypt(hex(t.baseKey), t.usage, hex(t.ciphertext))), t.plaintext);
    });
  }

  it("RFC 8009 A. the AES output is AES-CTS under Ke of confounder | plaintext", () => {
    const t = v.encryption[3]!;
    const ke = v.keyDerivation[0]!.ke;
    const out = aesCtsEncrypt(
      hex(ke),
      new Uint8Array(16),
      Buffer.concat([hex(t.confounder), hex(t.plaintext)]),
    );
    assert.equal(toHex(out), t.aesOutput);
  });

  for (const t of v.prf) {
    it(`RFC 8009 A. PRF ${getEnctype(t.etype).name} of "test"`, () => {
      const e = getEnctype(t.etype);
      assert.equal(toHex(e.prf(hex(t.baseKey), hex(t.inputHex))), t.output);
      assert.equal(e.prfLength, t.output.length / 2);
    });
  }

  for (const t of v.checksum) {
    it(`RFC 8009 A. checksum type ${t.cksumtype} (${getChecksumType(t.cksumtype).name})`, () => {
      const c = getChecksumType(t.cksumtype);
      assert.equal(toHex(c.checksum(hex(t.baseKey), t.usage, hex(t.plaintext))), t.checksum);
      assert.ok(c.verify(hex(t.baseKey), t.usage, hex(t.plaintext), hex(t.checksum)));
      const bad = hex(t.checksum);
      bad[0]! ^= 1;
      assert.equal(c.verify(hex(t.baseKey), t.usage, hex(t.plaintext), bad), false);
    });
  }
});
