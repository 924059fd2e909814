import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { formatIp, inSubnet, parseIp, parseMask } from "../../src/policy/ip.js";

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
