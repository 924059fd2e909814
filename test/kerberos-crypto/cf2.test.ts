/**
 * KRB-FX-CF2 (RFC 6113 §5.1) against MIT's vectors (src/lib/crypto/crypto_tests/t_cf2.in
 * and t_cf2.expected): k1 = string-to-key("key1", salt "key1"), k2 likewise with "key2",
 * peppers "a" and "b".
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { getEnctype, krbFxCf2 } from "../../src/kerberos/crypto/index.js";

const VECTORS: [number, string][] = [
  [17, "97df97e4b798b29eb31ed7280287a92a"],
  [18, "4d6ca4e629785c1f01baf55e2e548566b9617ae3a96868c337cb93b5e72b1c7b"],
  [19, "edd02a39d2dbde31611c16e610be062c"],
  [20, "67f6ea530aea85a37dcbb23349ea52dcc61ca8493ff557252327fd8304341584"],
];

for (const [etype, expected] of VECTORS) {
  test(`KRB-FX-CF2 for etype ${etype} matches MIT's t_cf2`, () => {
    const e = getEnctype(etype);
    const k1 = { etype, key: e.stringToKey("key1", "key1") };
    const k2 = { etype, key: e.stringToKey("key2", "key2") };
    const out = krbFxCf2(k1, "a", k2, "b");
    assert.equal(out.etype, etype);
    assert.equal(Buffer.from(out.key).toString("hex"), expected);
  });
}

test("KRB-FX-CF2 depends on both peppers and both keys", () => {
  const e = getEnctype(18);
  const k1 = { etype: 18, key: e.stringToKey("key1", "key1") };
  const k2 = { etype: 18, key: e.stringToKey("key2", "key2") };
  const base = Buffer.from(krbFxCf2(k1, "a", k2, "b").key).toString("hex");
  assert.notEqual(Buffer.from(krbFxCf2(k1, "a", k2, "c").key).toString("hex"), base);
  assert.notEqual(Buffer.from(krbFxCf2(k2, "a", k1, "b").key).toString("hex"), base);
});
