import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import {
  checkFilterSides,
  formatAddressSpec,
  formatFilterSide,
  parseFilterSide,
} from "../../src/policy/address.js";
import { formatIp } from "../../src/policy/ip.js";
import type { AddressSpec } from "../../src/policy/model.js";

describe("filter addresses (srcaddr/srcmask, dstaddr/dstmask)", () => {
  it("reads me, any, server types and DNS names case-insensitively", () => {
    assert.deepEqual(parseFilterSide("ME", undefined, "src"), { kind: "me" });
    assert.deepEqual(parseFilterSide("Any", undefined, "src"), { kind: "any" });
    assert.deepEqual(parseFilterSide("gateway", undefined, "dst"), {
      kind: "server",
      server: "gateway",
    });
    assert.deepEqual(parseFilterSide("Server1.BigFirm.com", undefined, "dst"), {
      kind: "dns",
      name: "server1.bigfirm.com",
    });
  });

  it("reads hosts and subnets with dotted masks or prefixes, IPv4 and IPv6", () => {
    assert.deepEqual(parseFilterSide("198.18.0.20", undefined, "dst"), {
      kind: "subnet",
      address: "198.18.0.20",
      prefix: 32,
      family: 4,
    });
    assert.deepEqual(parseFilterSide("198.18.0.0", "255.255.255.0", "src"), {
      kind: "subnet",
      address: "198.18.0.0",
      prefix: 24,
      family: 4,
    });
    assert.equal((parseFilterSide("198.18.0.0", "24", "src") as { prefix: number }).prefix, 24);
    assert.deepEqual(parseFilterSide("2001:DB8::", "32", "src"), {
      kind: "subnet",
      address: "2001:db8::",
      prefix: 32,
      family: 6,
    });
  });

  it("reads ranges of one family, in order", () => {
    assert.deepEqual(parseFilterSide("198.18.0.1-198.18.0.9", undefined, "src"), {
      kind: "range",
      from: "198.18.0.1",
      to: "198.18.0.9",
      family: 4,
    });
    assert.throws(
      () => parseFilterSide("198.18.0.1-::1", undefined, "src"),
      /srcaddr: range .* mixes IPv4 and IPv6/,
    );
    assert.throws(
      () => parseFilterSide("198.18.0.9-198.18.0.1", undefined, "src"),
      /ends before it starts/,
    );
    assert.throws(
      () => parseFilterSide("198.18.0.1-198.18.0.9", "24", "src"),
      /srcmask: a mask does not apply to the range/,
    );
    assert.throws(() => parseFilterSide("198.18.0.1-host", undefined, "src"), /bad range/);
  });

  it("refuses bad addresses and masks, naming the tag", () => {
    assert.throws(
      () => parseFilterSide("300.1.1.1", undefined, "src"),
      /^Error: srcaddr: bad IP address|srcaddr: bad IP address/,
    );
    assert.throws(() => parseFilterSide("1.2.3", undefined, "dst"), /dstaddr: bad IP address/);
    assert.throws(() => parseFilterSide("fe80::zz", undefined, "dst"), /dstaddr: bad IP address/);
    assert.throws(
      () => parseFilterSide("-bad-.example", undefined, "dst"),
      /dstaddr: .* is not an address/,
    );
    assert.throws(() => parseFilterSide("10.0.0.0", "255.0.255.0", "src"), /srcmask: bad mask/);
    assert.throws(() => parseFilterSide("10.0.0.0", "33", "src"), /srcmask: bad mask/);
    assert.throws(
      () => parseFilterSide("10.0.0.1", "8", "src"),
      /bits outside srcmask.*10\.0\.0\.0/,
    );
    assert.throws(() => parseFilterSide("me", "banana", "src"), /srcmask: bad mask/);
  });

  it("server types face me; me cannot face me", () => {
    const me: AddressSpec = { kind: "me" };
    const dns: AddressSpec = { kind: "server", server: "dns" };
    checkFilterSides(me, dns);
    checkFilterSides(dns, me);
    assert.throws(
      () => checkFilterSides(dns, { kind: "any" }),
      /srcaddr: server type DNS needs dstaddr=me/,
    );
    assert.throws(
      () => checkFilterSides({ kind: "any" }, dns),
      /dstaddr: server type DNS needs srcaddr=me/,
    );
    assert.throws(() => checkFilterSides(dns, dns), /needs dstaddr=me/);
    assert.throws(() => checkFilterSides(me, me), /both 'me'/);
  });

  it("formats one-string forms", () => {
    assert.equal(
      formatAddressSpec({ kind: "subnet", address: "10.0.0.0", prefix: 8, family: 4 }),
      "10.0.0.0/8",
    );
    assert.equal(
      formatAddressSpec({ kind: "subnet", address: "10.0.0.1", prefix: 32, family: 4 }),
      "10.0.0.1",
    );
    assert.equal(formatAddressSpec({ kind: "server", server: "wins" }), "WINS");
  });

  const v4 = fc
    .integer({ min: 0, max: 2 ** 32 - 1 })
    .map((n) => ({ family: 4 as const, value: BigInt(n) }));
  const v6 = fc
    .bigInt({ min: 0n, max: (1n << 128n) - 1n })
    .map((value) => ({ family: 6 as const, value }));
  const subnet = fc.oneof(v4, v6).chain((ip) =>
    fc.integer({ min: 0, max: ip.family === 4 ? 32 : 128 }).map((prefix): AddressSpec => {
      const bits = BigInt(ip.family === 4 ? 32 : 128);
      const mask = prefix === 0 ? 0n : ((1n << bits) - 1n) ^ ((1n << (bits - BigInt(prefix))) - 1n);
      return {
        kind: "subnet",
        address: formatIp({ family: ip.family, value: ip.value & mask }),
        prefix,
        family: ip.family,
      };
    }),
  );
  const range = fc.oneof(fc.tuple(v4, v4), fc.tuple(v6, v6)).map(([a, b]): AddressSpec => {
    const [lo, hi] = a.value <= b.value ? [a, b] : [b, a];
    return { kind: "range", from: formatIp(lo), to: formatIp(hi), family: a.family };
  });
  const label = fc.stringMatching(/^[a-z][a-z0-9-]{0,10}[a-z0-9]$/);
  const dns = fc
    .array(label, { minLength: 1, maxLength: 4 })
    .filter((ls) => !["me", "any", "dns", "wins", "dhcp", "gateway"].includes(ls.join(".")))
    .map((ls): AddressSpec => ({ kind: "dns", name: ls.join(".") }));
  const fixed = fc.constantFrom<AddressSpec>(
    { kind: "me" },
    { kind: "any" },
    { kind: "server", server: "dns" },
    { kind: "server", server: "wins" },
    { kind: "server", server: "dhcp" },
    { kind: "server", server: "gateway" },
  );

  it("property: parse(format(spec)) = spec for every address kind", () => {
    fc.assert(
      fc.property(fc.oneof(subnet, range, dns, fixed), (spec) => {
        const { addr, mask } = formatFilterSide(spec);
        assert.deepEqual(parseFilterSide(addr, mask ?? undefined, "src"), spec);
      }),
      { numRuns: 1000 },
    );
  });
});
