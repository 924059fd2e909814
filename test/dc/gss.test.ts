import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  GSS_CHECKSUM_TYPE,
  gssChecksum,
  TOK_ID,
  unwrapGssToken,
  wrapGssToken,
} from "../../src/dc/api/gss-krb5.js";
import { isSpnego, negTokenRespCompleted, readNegTokenInit } from "../../src/dc/api/spnego.js";

describe("GSS-API krb5 context tokens (RFC 2743 §3.1, RFC 1964 §1.1, RFC 4121 §4.1)", () => {
  it("wraps with 0x60, the krb5 mech OID and TOK_ID; unwraps back (short and long DER lengths)", () => {
    for (const n of [10, 200, 70_000]) {
      const msg = new Uint8Array(n).fill(0xab);
      const t = wrapGssToken(TOK_ID.apReq, msg);
      assert.equal(t[0], 0x60);
      assert.deepEqual(
        Buffer.from(t.subarray(t.length - n - 13, t.length - n - 2)).toString("hex"),
        "06092a864886f712010202",
      );
      const u = unwrapGssToken(t);
      assert.ok(typeof u !== "string");
      assert.equal(u.tokId, 0x0100);
      assert.deepEqual(Buffer.from(u.message), Buffer.from(msg));
    }
  });

  it("refuses what is not a krb5 context token with a reason", () => {
    assert.match(String(unwrapGssToken(Uint8Array.of(0x30, 0))), /0x60/);
    const t = wrapGssToken(TOK_ID.apReq, new Uint8Array(4));
    assert.match(String(unwrapGssToken(t.subarray(0, t.length - 1))), /length/);
    const other = Buffer.from(t);
    other[6] = 0x99; // inside the OID
    assert.match(String(unwrapGssToken(other)), /Kerberos V5 mechanism/);
  });

  it("RFC 4121 §4.1.1: the 0x8003 checksum is Lgth=16, 16 zero bytes of bindings, flags (LE)", () => {
    const c = gssChecksum(2);
    assert.equal(c.cksumtype, GSS_CHECKSUM_TYPE);
    assert.equal(Buffer.from(c.checksum).toString("hex"), `10000000${"00".repeat(16)}02000000`);
  });
});

describe("SPNEGO for HTTP Negotiate (RFC 4178 §4.2, RFC 4559 §4)", () => {
  // NegTokenInit { mechTypes [krb5, ntlm], mechToken <krb5 token> } built by hand.
  const krb = wrapGssToken(TOK_ID.apReq, Uint8Array.of(1, 2, 3));
  const tlv = (tag: number, body: Uint8Array) =>
    Buffer.concat([Uint8Array.of(tag, body.length), body]);
  const mechs = tlv(
    0x30,
    Buffer.concat([
      Buffer.from("06092a864886f712010202", "hex"),
      Buffer.from("060a2b06010401823702020a", "hex"),
    ]),
  );
  const init = tlv(0x30, Buffer.concat([tlv(0xa0, mechs), tlv(0xa2, tlv(0x04, krb))]));
  const token = tlv(0x60, Buffer.concat([Buffer.from("06062b0601050502", "hex"), tlv(0xa0, init)]));

  it("reads the optimistic Kerberos token of a NegTokenInit", () => {
    assert.ok(isSpnego(token));
    assert.ok(!isSpnego(krb));
    const r = readNegTokenInit(token);
    assert.ok(typeof r !== "string");
    assert.equal(r.mech, "2a864886f712010202");
    assert.deepEqual(Buffer.from(r.mechToken), Buffer.from(krb));
  });

  it("takes Microsoft's krb5 OID; refuses a NegTokenInit preferring another mechanism", () => {
    const ntlmFirst = Buffer.from(token);
    const at = ntlmFirst.indexOf(Buffer.from("2a864886f712010202", "hex"));
    ntlmFirst[at + 3] = 0x82; // MS krb5 OID is still Kerberos: 1.2.840.48018.1.2.2
    assert.ok(typeof readNegTokenInit(ntlmFirst) !== "string");
    ntlmFirst[at] = 0x2b; // no longer a Kerberos OID
    assert.match(String(readNegTokenInit(ntlmFirst)), /not Kerberos V5/);
  });

  it("answers accept-completed(0) with supportedMech and the responseToken", () => {
    const r = Buffer.from(negTokenRespCompleted("2a864886f712010202", Uint8Array.of(9, 9)));
    assert.equal(
      r.toString("hex"),
      // [1] SEQ { [0] ENUMERATED 0, [1] OID krb5, [2] OCTET STRING 09 09 }
      "a11a3018a0030a0100a10b06092a864886f712010202a20404020909",
    );
  });
});
