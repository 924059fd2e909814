import assert from "node:assert/strict";
import { describe, it } from "node:test";
import * as net from "node:net";
import fc from "fast-check";
import { formatIp, inSubnet, parseIp, parseIp4, parseMask } from "../../src/policy/ip.js";

describe("IP addresses", () => {
  it("round-trips IPv4 and IPv6 literals", () => {
    for (const s of [
      "198.18.0.20",
      "0.0.0.0",
      "255.255.255.255",
      "2001:db8::1",
      "::",
      "fe80::1:2",
    ]) {
      assert.equal(formatIp(parseIp(s)!), s);
    }
    assert.equal(formatIp(parseIp("::ffff:1.2.3.4")!), "::ffff:102:304");
  });

  it("refuses what is not an address", () => {
    for (const s of ["198.18.0", "1.2.3.256", "me", "", "2001:db8:::1"])
      assert.equal(parseIp(s), null);
  });

  it("the fast IPv4 reader accepts exactly what node:net's isIPv4 accepts, with the same value", () => {
    const octet = fc.oneof(
      fc.integer({ min: 0, max: 300 }).map(String),
      fc.constantFrom("00", "01", "007", "", "-1", "1a", " 1", "256"),
    );
    const quadish = fc
      .array(octet, { minLength: 1, maxLength: 6 })
      .chain((parts) => fc.constantFrom(".", ":", "..").map((sep) => parts.join(sep)));
    fc.assert(
      fc.property(fc.oneof(quadish, fc.string({ maxLength: 16 })), (text) => {
        const want = net.isIPv4(text)
          ? text.split(".").reduce((acc, o) => acc * 256 + Number(o), 0)
          : -1;
        assert.equal(parseIp4(text), want, JSON.stringify(text));
      }),
      { numRuns: 5000 },
    );
  });

  it("reads masks as dotted quads or prefixes and refuses holes", () => {
    assert.equal(parseMask("255.255.255.0", 4), 24);
    assert.equal(parseMask("24", 4), 24);
    assert.equal(parseMask("255.0.255.0", 4), null);
    assert.equal(parseMask("33", 4), null);
    assert.equal(parseMask("64", 6), 64);
  });

  it("matches subnets", () => {
    assert.equal(inSubnet(parseIp("198.18.0.30")!, parseIp("198.18.0.0")!, 24), true);
    assert.equal(inSubnet(parseIp("198.18.1.30")!, parseIp("198.18.0.0")!, 24), false);
  });

  it("property: format(parse(x)) == x for any IPv4 and any IPv6", () => {
    fc.assert(fc.property(fc.ipV4(), (s) => formatIp(parseIp(s)!) === s));
    fc.assert(
      fc.property(fc.ipV6(), (s) => {
        const a = parseIp(s);
        return a !== null && parseIp(formatIp(a))!.value === a.value;
      }),
    );
  });
});
