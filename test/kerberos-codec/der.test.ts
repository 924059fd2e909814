import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import {
  Asn1Error,
  parseDer,
  readBitString,
  readBoolean,
  readGeneralizedTime,
  readGeneralString,
  readIA5String,
  readInt32,
  readInteger,
  readOctetString,
  readUInt32,
  SequenceReader,
} from "../../src/asn1/der.js";
import {
  derBoolean,
  derExplicit,
  derFields,
  derGeneralizedTime,
  derIA5String,
  derInt32,
  derInteger,
  derOctetString,
  derTlv,
  derUInt32,
} from "../../src/asn1/writer.js";
import { decodeAsReq, encodeAsReq } from "../../src/kerberos/messages/index.js";

const h = (s: string) => new Uint8Array(Buffer.from(s.replace(/\s+/g, ""), "hex"));
const hx = (b: Uint8Array) => Buffer.from(b).toString("hex");

function asn1Error(fn: () => unknown, message: RegExp | string): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof Asn1Error, `expected Asn1Error, got ${String(e)}`);
    if (typeof message === "string") assert.equal(e.message, message);
    else assert.match(e.message, message);
    return true;
  });
}

describe("DER lengths and tags (X.690 §8.1, §10.1)", () => {
  it("reads short and long definite lengths", () => {
    assert.equal(parseDer(h("04 03 010203"), "x").content.length, 3);
    const long = new Uint8Array(2 + 1 + 200);
    long.set([0x04, 0x81, 200]);
    assert.equal(parseDer(long, "x").content.length, 200);
  });

  it("rejects indefinite lengths", () => {
    asn1Error(() => parseDer(h("30 80 0000"), "T"), "T: indefinite length of SEQUENCE (not DER)");
  });

  it("rejects non-minimal lengths: long form below 128 and leading zero octets", () => {
    asn1Error(() => parseDer(h("04 81 03 010203"), "T"), /non-minimal length 3 in long form/);
    const z = new Uint8Array(4 + 200);
    z.set([0x04, 0x82, 0x00, 200]);
    asn1Error(() => parseDer(z, "T"), /non-minimal length \(leading zero octet\)/);
  });

  it("rejects lengths beyond the buffer before reading them", () => {
    asn1Error(
      () => parseDer(h("04 05 0102"), "T"),
      "T: OCTET STRING length 5 exceeds the 2 octets left",
    );
    asn1Error(
      () => parseDer(h("04 84 7fffffff 00"), "T"),
      /length 2147483647 exceeds the 1 octets left/,
    );
    asn1Error(() => parseDer(h("04 85 0100000000"), "T"), /length of 5 octets too long/);
    asn1Error(() => parseDer(h("04"), "T"), /truncated length/);
    asn1Error(() => parseDer(h(""), "T"), /expected a tag, got end of data/);
  });

  it("rejects trailing octets after the element", () => {
    asn1Error(() => parseDer(h("05 00 00"), "T"), "T: 1 trailing octets after NULL");
  });

  it("reads high tag numbers and rejects non-minimal ones", () => {
    const n = parseDer(h("bf 81 00 00"), "x");
    assert.deepEqual([n.cls, n.constructed, n.tag], ["context", true, 128]);
    asn1Error(() => parseDer(h("9f 80 01 00"), "T"), /non-minimal tag number/);
    asn1Error(() => parseDer(h("9f 1e 00"), "T"), /non-minimal tag number 30 in long form/);
    assert.equal(hx(derTlv("context", true, 128, new Uint8Array(0))), "bf810000");
  });
});

describe("DER primitive types (X.690 §8.2-§8.7, RFC 4120 §5.2)", () => {
  it("INTEGER: minimal two's complement both ways", () => {
    const cases: [bigint, string][] = [
      [0n, "020100"],
      [127n, "02017f"],
      [128n, "02020080"],
      [256n, "02020100"],
      [-1n, "0201ff"],
      [-128n, "020180"],
      [-129n, "0202ff7f"],
      [4294967295n, "020500ffffffff"],
      [-2147483648n, "020480000000"],
    ];
    for (const [v, enc] of cases) {
      assert.equal(hx(derInteger(v)), enc);
      assert.equal(readInteger(parseDer(h(enc), "x")), v);
    }
    asn1Error(() => readInteger(parseDer(h("0202 007f"), "T")), "T: non-minimal INTEGER");
    asn1Error(() => readInteger(parseDer(h("0202 ff80"), "T")), "T: non-minimal INTEGER");
    asn1Error(() => readInteger(parseDer(h("0200"), "T")), "T: empty INTEGER");
    const huge = new Uint8Array(5 + 100000);
    huge.set([0x02, 0x83, 0x01, 0x86, 0xa0, 0x01]);
    asn1Error(
      () => readInteger(parseDer(huge, "T")),
      "T: INTEGER of 100000 octets is longer than 64",
    );
  });

  it("INTEGER round-trips any bigint", () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: -(2n ** 500n), max: 2n ** 500n }),
        (v) => readInteger(parseDer(derInteger(v), "x")) === v,
      ),
    );
  });

  it("Int32 and UInt32 ranges (RFC 4120 §5.2.4)", () => {
    assert.equal(readInt32(parseDer(derInt32(-2147483648), "x")), -2147483648);
    assert.equal(readUInt32(parseDer(derUInt32(4294967295), "x")), 4294967295);
    asn1Error(
      () => readInt32(parseDer(derInteger(2147483648n), "T")),
      "T: Int32 2147483648 out of range -2147483648..2147483647",
    );
    asn1Error(() => readUInt32(parseDer(derInteger(-1), "T")), /UInt32 -1 out of range/);
    asn1Error(
      () => readUInt32(parseDer(derInteger(1n << 200n), "T")),
      /UInt32 out of range \(26-octet INTEGER\)/,
    );
    asn1Error(() => derUInt32(-1), /UInt32 -1 out of range/);
  });

  it("BOOLEAN is 0x00 or 0xFF only", () => {
    assert.equal(hx(derBoolean(true)), "0101ff");
    assert.equal(readBoolean(parseDer(h("010100"), "x")), false);
    asn1Error(() => readBoolean(parseDer(h("010101"), "T")), /0x00 or 0xFF/);
  });

  it("OCTET STRING must be primitive; tag mismatches name both tags", () => {
    assert.equal(hx(readOctetString(parseDer(derOctetString(h("abcd")), "x"))), "abcd");
    asn1Error(
      () => readOctetString(parseDer(h("24 03 0401 aa"), "T")),
      "T: expected primitive OCTET STRING",
    );
    asn1Error(
      () => readOctetString(parseDer(h("0201 00"), "T")),
      "T: expected OCTET STRING, got INTEGER",
    );
  });

  it("BIT STRING: unused-bit count <= 7 and unused bits zero", () => {
    assert.deepEqual(readBitString(parseDer(h("03 02 07 80"), "x")).bitLength, 1);
    asn1Error(() => readBitString(parseDer(h("03 02 08 00"), "T")), /unused bits 8 > 7/);
    asn1Error(() => readBitString(parseDer(h("03 02 01 01"), "T")), /unused bits are not zero/);
    asn1Error(() => readBitString(parseDer(h("03 00"), "T")), /without unused-bits octet/);
  });

  it("GeneralString is UTF-8 as Kerberos peers send it; IA5String is ASCII", () => {
    assert.equal(readGeneralString(parseDer(h("1b 03 e282ac"), "x")), "\u20ac");
    asn1Error(
      () => readGeneralString(parseDer(h("1b 01 ff"), "T")),
      "T: GeneralString is not valid UTF-8",
    );
    asn1Error(() => readIA5String(parseDer(h("16 01 80"), "T")), /non-ASCII octet 0x80/);
    asn1Error(() => derIA5String("\u00e9"), /non-ASCII/);
  });

  it("KerberosTime is exactly YYYYMMDDHHMMSSZ (RFC 4120 §5.2.3)", () => {
    const t = (s: string) => derTlv("universal", false, 24, new TextEncoder().encode(s));
    assert.equal(
      readGeneralizedTime(parseDer(t("20370913024805Z"), "x")).toISOString(),
      "2037-09-13T02:48:05.000Z",
    );
    assert.equal(
      readGeneralizedTime(parseDer(t("00050101000000Z"), "x")).toISOString(),
      "0005-01-01T00:00:00.000Z",
    );
    for (const bad of [
      "20370913024805",
      "20370913024805.5Z",
      "2037091302480Z",
      "20370913024805+0100",
      "20371313024805Z",
      "20370231000000Z",
      "20370913246000Z",
    ]) {
      asn1Error(() => readGeneralizedTime(parseDer(t(bad), "T")), /GeneralizedTime/);
    }
    asn1Error(
      () => readGeneralizedTime(parseDer(t("2".repeat(300000)), "T")),
      /GeneralizedTime of 300000 octets/,
    );
    assert.equal(
      Buffer.from(derGeneralizedTime(new Date("2026-11-27T07:34:13.999Z")))
        .subarray(2)
        .toString(),
      "20261127073413Z",
    );
    asn1Error(() => derGeneralizedTime(new Date(Number.NaN)), /cannot be a GeneralizedTime/);
  });
});

describe("SEQUENCE with explicit context tags (RFC 4120 §5.2 EXPLICIT TAGS)", () => {
  const seq = (bytes: Uint8Array) => new SequenceReader(parseDer(bytes, "S"));

  it("reads required and optional fields in order", () => {
    const r = seq(
      derFields([
        [0, derInt32(1)],
        [2, derInt32(3)],
      ]),
    );
    assert.equal(r.req(0, "a", readInt32), 1);
    assert.equal(r.opt(1, "b", readInt32), undefined);
    assert.equal(r.req(2, "c", readInt32), 3);
    r.end();
  });

  it("names the missing field and what arrived instead", () => {
    const r = seq(derFields([[1, derInt32(1)]]));
    asn1Error(() => r.req(0, "a", readInt32), "S.a: expected [0], got [1]");
    const e = seq(derFields([]));
    asn1Error(() => e.req(0, "a", readInt32), "S.a: expected [0], got end of SEQUENCE");
  });

  it("rejects unknown, duplicate and out-of-order fields", () => {
    const dup = seq(derFields([[0, derInt32(1)]]).slice(0));
    dup.req(0, "a", readInt32);
    dup.end();
    const extra = seq(
      derTlv(
        "universal",
        true,
        16,
        Buffer.concat([derExplicit(0, derInt32(1)), derExplicit(0, derInt32(2))]),
      ),
    );
    extra.req(0, "a", readInt32);
    asn1Error(() => extra.end(), "S: unexpected [0] (unknown or out of order)");
    const swapped = seq(
      derTlv(
        "universal",
        true,
        16,
        Buffer.concat([derExplicit(1, derInt32(1)), derExplicit(0, derInt32(2))]),
      ),
    );
    swapped.opt(0, "a", readInt32);
    swapped.opt(1, "b", readInt32);
    asn1Error(() => swapped.end(), "S: unexpected [0] (unknown or out of order)");
  });

  it("an explicit tag holds exactly one constructed element", () => {
    const prim = seq(derTlv("universal", true, 16, derTlv("context", false, 0, derInt32(1))));
    asn1Error(() => prim.req(0, "a", readInt32), "S: expected constructed [0]");
    const two = seq(
      derTlv("universal", true, 16, derExplicit(0, Buffer.concat([derInt32(1), derInt32(2)]))),
    );
    asn1Error(() => two.req(0, "a", readInt32), "S.a: trailing octets inside [0]");
  });

  it("reports the path of a wrong element deep in a message: AS-REQ.req-body.etype[2]", () => {
    const good = encodeAsReq({
      reqBody: {
        kdcOptions: 0,
        realm: "R",
        till: new Date(0),
        nonce: 1,
        etype: [18, 17, 20],
      },
    });
    const i = Buffer.from(good).lastIndexOf(Buffer.from("020114", "hex"));
    const bad = Uint8Array.from(good);
    bad[i] = 0x04;
    asn1Error(
      () => decodeAsReq(bad),
      "AS-REQ.req-body.etype[2]: expected INTEGER, got OCTET STRING",
    );
  });
});
