import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { deriveKeyAes, usageConstant } from "../../src/kerberos/crypto/derive.js";
import { nfold } from "../../src/kerberos/crypto/nfold.js";
import { loadVectors, toHex } from "./load-vectors.js";

interface NfoldVectors {
  vectors: { input: string; bits: number; output: string }[];
}

describe("RFC 3961 framework", () => {
  const v = loadVectors<NfoldVectors>("rfc3961/nfold.json");
  for (const t of v.vectors) {
    it(`RFC 3961 A.1 ${t.bits}-fold("${t.input}")`, () => {
      assert.equal(toHex(nfold(new TextEncoder().encode(t.input), t.bits / 8)), t.output);
    });
  }

  it("RFC 3961 A.1 n-fold refuses an empty input", () => {
    assert.throws(() => nfold(new Uint8Array(0), 16), /empty/);
  });

  it("RFC 3961 §5.3 usage constants are usage (4 bytes BE) | 0x99/0xAA/0x55", () => {
    assert.equal(toHex(usageConstant(2, 0x99)), "0000000299");
    assert.equal(toHex(usageConstant(0x01020304, 0xaa)), "01020304aa");
    assert.throws(() => usageConstant(-1, 0x55), /32-bit/);
  });

  it("RFC 3961 §5.1 DK output length follows the key length (AES-128 and AES-256)", () => {
    assert.equal(deriveKeyAes(new Uint8Array(16), usageConstant(1, 0xaa)).length, 16);
    assert.equal(deriveKeyAes(new Uint8Array(32), usageConstant(1, 0xaa)).length, 32);
  });
});
