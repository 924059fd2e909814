/**
 * RFC 4121 §4.2.6.2 Wrap tokens (src/kerberos/gss/wrap.ts): tokens a real acceptor made
 * (Samba 4.17's Heimdal, test/vectors/rfc4121/) open to their plaintext, including RRC
 * rotation; our tokens round-trip for both directions, sealed and not, with any RRC; a
 * changed byte, a reflected token or a wrong key is refused.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import { randomBytes } from "../../src/crypto/primitives.js";
import { unwrapToken, type WrapContext, wrapToken } from "../../src/kerberos/gss/wrap.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
interface Vector {
  name: string;
  etype: number;
  key: string;
  token: string;
  sealed: boolean;
  seq: string;
  plaintext: string;
}
const { vectors } = JSON.parse(
  fs.readFileSync(path.join(ROOT, "test/vectors/rfc4121/samba-wrap.json"), "utf8"),
) as { vectors: Vector[] };

const ctx = (etype: number, key: Uint8Array, initiator: boolean): WrapContext => ({
  etype,
  key,
  initiator,
  acceptorSubkey: true,
  randomBytes,
});

describe("RFC 4121 §4.2.6.2 Wrap tokens", () => {
  for (const v of vectors) {
    it(`Samba's ${v.name} opens to its plaintext`, () => {
      const r = unwrapToken(
        ctx(v.etype, Buffer.from(v.key, "hex"), true),
        Buffer.from(v.token, "hex"),
      );
      assert.equal(r.sealed, v.sealed);
      assert.equal(r.seq, BigInt(`0x${v.seq}`));
      assert.equal(r.data.toString("hex"), v.plaintext);
    });
  }

  it("our tokens round-trip initiator -> acceptor and back, sealed or not, any RRC", () => {
    for (const etype of [17, 18]) {
      const key = randomBytes(etype === 18 ? 32 : 16);
      fc.assert(
        fc.property(
          fc.uint8Array({ maxLength: 300 }),
          fc.boolean(),
          fc.integer({ min: 0, max: 400 }),
          fc.boolean(),
          (data, sealed, rrc, fromInitiator) => {
            const tok = wrapToken(ctx(etype, key, fromInitiator), data, 7n, sealed, rrc);
            const r = unwrapToken(ctx(etype, key, !fromInitiator), tok);
            assert.deepEqual(new Uint8Array(r.data), data);
            assert.equal(r.sealed, sealed);
            assert.equal(r.seq, 7n);
          },
        ),
        { numRuns: 60 },
      );
    }
  });

  it("a sealed token hides its plaintext", () => {
    const key = randomBytes(32);
    const secret = Buffer.from('unicodePwd="Secret-1"');
    const tok = wrapToken(ctx(18, key, true), secret, 1n, true);
    assert.equal(tok.indexOf(secret), -1);
  });

  it("a changed byte, a reflected token or another key is refused with one line", () => {
    const key = randomBytes(32);
    for (const sealed of [true, false]) {
      const tok = wrapToken(ctx(18, key, true), Buffer.from("hello"), 1n, sealed);
      const bent = Buffer.from(tok);
      bent[bent.length - 1]! ^= 1;
      assert.throws(() => unwrapToken(ctx(18, key, false), bent), /does not (decrypt|verify)/);
      assert.throws(() => unwrapToken(ctx(18, key, true), tok), /our own direction/);
      assert.throws(
        () => unwrapToken(ctx(18, randomBytes(32), false), tok),
        /does not (decrypt|verify)/,
      );
      const seq = Buffer.from(tok);
      seq[15]! ^= 1; // the sequence number is covered by the checksum / inner header
      assert.throws(() => unwrapToken(ctx(18, key, false), seq), /differs|does not verify/);
    }
  });
});
