/**
 * The LDAP codecs without a server: BER (X.690 as RFC 4511 §5.1 restricts it), RFC 4515
 * filters against the encodings RFC 4511 §4.5.1 defines (bytes checked by hand and with
 * OpenLDAP's own encoder where the exact bytes are known), DN escaping (RFC 4514 §2.4),
 * and the messages' round trips.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { berInteger, children, readInteger, readTlv } from "../../src/ldap/ber.js";
import { childDn, domainToDn, escapeDnValue } from "../../src/ldap/dn.js";
import { LdapError } from "../../src/ldap/errors.js";
import { encodeFilter, escapeFilterValue } from "../../src/ldap/filter.js";
import {
  addRequest,
  decodeEntry,
  decodeMessage,
  decodeResult,
  encodeMessage,
  modifyRequest,
  PAGED_RESULTS_OID,
  pagedControl,
  pagedCookie,
  searchRequest,
} from "../../src/ldap/messages.js";

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

describe("BER (RFC 4511 §5.1)", () => {
  it("INTEGER round-trips in the shortest two's-complement form", () => {
    assert.equal(hex(berInteger(0)), "020100");
    assert.equal(hex(berInteger(127)), "02017f");
    assert.equal(hex(berInteger(128)), "02020080");
    assert.equal(hex(berInteger(-1)), "0201ff");
    assert.equal(hex(berInteger(-129)), "0202ff7f");
    fc.assert(
      fc.property(fc.integer({ min: -(2 ** 40), max: 2 ** 40 }), (n) => {
        const r = readTlv(berInteger(n));
        assert.ok(r);
        assert.equal(readInteger(r.tlv, "n"), n);
      }),
    );
  });

  it("reads AD's non-minimal 4-byte long-form lengths and waits for a partial TLV", () => {
    const ad = Buffer.from("3084000000050201070a00", "hex").subarray(0, 11);
    const r = readTlv(ad);
    assert.ok(r);
    assert.equal(r.end, 11);
    assert.equal(children(r.tlv.value, "x").length, 2);
    assert.equal(readTlv(ad.subarray(0, 8)), null);
  });

  it("refuses the indefinite length (LDAP forbids it) with one line", () => {
    assert.throws(() => readTlv(Buffer.from("308002010000", "hex")), /indefinite length/);
  });
});

describe("filters (RFC 4515 -> RFC 4511 §4.5.1)", () => {
  it("equality, presence, and/or/not encode as the RFC's tags", () => {
    assert.equal(hex(encodeFilter("(cn=a)")), "a3070402636e040161");
    assert.equal(hex(encodeFilter("(objectClass=*)")), "870b6f626a656374436c617373");
    assert.equal(hex(encodeFilter("(&(a=1)(!(b=2)))")), "a012a306040161040131a208a306040162040132");
    assert.equal(hex(encodeFilter("(|(a=1))")).slice(0, 2), "a1");
  });

  it("substrings: initial [0], any [1], final [2]", () => {
    // (cn=ab*cd*ef): SEQUENCE { "cn", SEQUENCE { [0] ab, [1] cd, [2] ef } }
    assert.equal(hex(encodeFilter("(cn=ab*cd*ef)")), "a4120402636e300c800261628102636482026566");
    assert.equal(hex(encodeFilter("(cn=*x)")), "a4090402636e3003820178");
  });

  it(">=, <=, ~= and the extensible match (AD's bit-and rule)", () => {
    assert.equal(hex(encodeFilter("(n>=5)")).slice(0, 2), "a5");
    assert.equal(hex(encodeFilter("(n<=5)")).slice(0, 2), "a6");
    assert.equal(hex(encodeFilter("(n~=5)")).slice(0, 2), "a8");
    const ext = encodeFilter("(userAccountControl:1.2.840.113556.1.4.803:=4096)");
    assert.equal(ext[0], 0xa9);
    assert.ok(ext.includes(Buffer.from("1.2.840.113556.1.4.803")));
    assert.ok(ext.includes(Buffer.from("\x82\x12userAccountControl", "latin1")));
  });

  it("\\XX escapes decode to bytes; escapeFilterValue round-trips any value", () => {
    const f = encodeFilter("(cn=a\\2ab\\28\\29\\5c\\00)");
    assert.ok(f.includes(Buffer.from("a*b()\\\0", "latin1")));
    fc.assert(
      fc.property(fc.string({ minLength: 1 }), (v) => {
        const ber = encodeFilter(`(description=${escapeFilterValue(v)})`);
        assert.ok(ber.includes(Buffer.from(v, "utf8")));
      }),
    );
  });

  it("a bad filter is one LdapError line naming the offset", () => {
    for (const bad of ["(cn=a", "(&)", "(cn=a)(x=b)", "(=x)", "(cn=a\\zz)", "(cn=a(b)"]) {
      assert.throws(
        () => encodeFilter(bad),
        (e: unknown) => e instanceof LdapError && /offset \d+$/.test(e.message),
        bad,
      );
    }
  });
});

describe("DNs (RFC 4514 §2.4)", () => {
  it("escapes the specials, a leading # or space and a trailing space", () => {
    assert.equal(escapeDnValue('a,b+c"d\\e<f>g;h=i'), 'a\\,b\\+c\\"d\\\\e\\<f\\>g\\;h\\=i');
    assert.equal(escapeDnValue("#x "), "\\#x\\ ");
    assert.equal(escapeDnValue(" x"), "\\ x");
    assert.equal(childDn("CN", "WS1", "CN=Computers,DC=b,DC=c"), "CN=WS1,CN=Computers,DC=b,DC=c");
    assert.equal(domainToDn("bigfirm.com."), "DC=bigfirm,DC=com");
  });
});

describe("messages (RFC 4511 §4)", () => {
  it("a SearchRequest with the paged control decodes back to its parts", () => {
    const msg = encodeMessage(
      7,
      searchRequest({ base: "DC=x", scope: "sub", filter: "(cn=*)", attributes: ["cn"] }),
      [pagedControl(2, Buffer.from("ck"))],
    );
    const r = readTlv(msg);
    assert.ok(r);
    const m = decodeMessage(r.tlv.value);
    assert.equal(m.id, 7);
    assert.equal(m.op.tag, 0x63);
    assert.equal(m.controls[0]?.type, PAGED_RESULTS_OID);
    assert.equal(m.controls[0]?.critical, true);
    assert.equal(pagedCookie(m.controls).toString(), "ck");
  });

  it("an entry built like an AddRequest's attributes decodes with lower-cased names", () => {
    // a SearchResultEntry has the AddRequest's shape: [APPLICATION 4] { dn, attributes }
    const add = addRequest("CN=a,DC=x", { objectClass: ["top", "contact"], Description: ["d"] });
    const entry = Buffer.concat([Buffer.of(0x64), add.subarray(1)]);
    const t = readTlv(entry);
    assert.ok(t);
    const e = decodeEntry(t.tlv);
    assert.equal(e.dn, "CN=a,DC=x");
    assert.deepEqual(
      e.attributes.get("objectclass")?.map((b) => b.toString()),
      ["top", "contact"],
    );
    assert.equal(e.attributes.get("description")?.[0]?.toString(), "d");
  });

  it("ModifyRequest operations are add 0, delete 1, replace 2", () => {
    const m = modifyRequest("CN=a", [
      { op: "add", type: "x", values: ["1"] },
      { op: "delete", type: "y", values: [] },
      { op: "replace", type: "z", values: [Buffer.of(0, 1)] },
    ]);
    const t = readTlv(m);
    assert.ok(t);
    const changes = children(children(t.tlv.value, "m")[1]!.value, "changes");
    assert.deepEqual(
      changes.map((c) => children(c.value, "c")[0]!.value[0]),
      [0, 1, 2],
    );
  });

  it("a BindResponse's serverSaslCreds [7] is read", () => {
    const op = Buffer.from("610b0a010e04000400870274ff", "hex");
    const t = readTlv(op);
    assert.ok(t);
    const r = decodeResult(t.tlv);
    assert.equal(r.resultCode, 14);
    assert.equal(r.serverSaslCreds?.toString("hex"), "74ff");
  });
});
