import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { UsageError } from "../../src/errors.js";
import { parseFilterList, parseFilterSpec } from "../../src/netsh/ipseccmd/filterspec.js";

const f = (text: string) => parseFilterSpec(text).filter;
const host = (address: string) => ({ kind: "subnet", address, prefix: 32, family: 4 });

function refused(text: string, pattern: RegExp): void {
  assert.throws(
    () => parseFilterSpec(text),
    (e: unknown) =>
      e instanceof UsageError && e.message.startsWith("-f: ") && pattern.test(e.message),
    text,
  );
}

describe("ipseccmd -f filter specs", () => {
  it("A=B is one direction, A+B mirrored; 0 is me, * is any", () => {
    assert.deepEqual(f("0=*"), {
      description: "",
      src: { kind: "me" },
      dst: { kind: "any" },
      protocol: 0,
      srcPort: 0,
      dstPort: 0,
      mirrored: false,
    });
    assert.equal(f("0+*").mirrored, true);
    assert.deepEqual(f("*+0").src, { kind: "any" });
  });

  it("a bare address is a host (mask 255.255.255.255)", () => {
    assert.deepEqual(f("10.1.2.3+0").src, host("10.1.2.3"));
  });

  it("masks as dotted quads and as prefix lengths", () => {
    const net = { kind: "subnet", address: "10.2.0.0", prefix: 16, family: 4 };
    assert.deepEqual(f("10.2.0.0/255.255.0.0=0").src, net);
    assert.deepEqual(f("0=10.2.0.0/16").dst, net);
  });

  it("ports on either side, protocol after the destination", () => {
    const x = f("*+0:80:TCP");
    assert.deepEqual(
      [x.src, x.dst, x.srcPort, x.dstPort, x.protocol],
      [{ kind: "any" }, { kind: "me" }, 0, 80, 6],
    );
    const y = f("0:1024=10.0.0.1:53:UDP");
    assert.deepEqual([y.srcPort, y.dstPort, y.protocol], [1024, 53, 17]);
  });

  it("::PROTO without a port; ICMP, RAW and numbers; protocol names in any case", () => {
    assert.equal(f("0+*::ICMP").protocol, 1);
    assert.equal(f("0+*::raw").protocol, 255);
    assert.equal(f("0+*::47").protocol, 47);
    assert.equal(f("0+*::tcp").protocol, 6);
    assert.equal(f("0+*::TCP").dstPort, 0);
  });

  it("DNS names stay names (resolved when the policy applies)", () => {
    assert.deepEqual(f("0+server1.bigfirm.com:80:TCP").dst, {
      kind: "dns",
      name: "server1.bigfirm.com",
    });
  });

  it("(spec) is pass-through, [spec] blocking, plain negotiates", () => {
    assert.equal(parseFilterSpec("0+*").kind, "negotiate");
    assert.equal(parseFilterSpec("(0+*::ICMP)").kind, "permit");
    assert.equal(parseFilterSpec("[*=0:445:TCP]").kind, "block");
    assert.equal(parseFilterSpec("[*=0:445:TCP]").filter.dstPort, 445);
  });

  it("a list: blanks separate specs, in one argument or several", () => {
    assert.equal(parseFilterList(["0+* 10.0.0.0/8=0", "(0+*::ICMP)"]).length, 3);
  });

  it("bad specs: one line naming -f and the spec", () => {
    refused("0*", /'0\*': expected SRC=DST/);
    refused("0+*+1.2.3.4", /more than one/);
    refused("0+*:80", /port needs protocol TCP or UDP/);
    refused("0:80+*::ICMP", /port needs protocol/);
    refused("0+*::GRE", /protocol 'GRE'/);
    refused("0+*:70000:TCP", /port '70000'/);
    refused("0+0", /both 0/);
    refused("me+any", /netsh's spelling/);
    refused("+*", /no source address/);
    refused("0/24+*", /takes no mask/);
    refused("10.0.0.1/33+0", /33/);
    refused("10.0.0.1/24+0", /bits outside/);
    refused("(0+*", /not closed/);
    refused("0:1:2+*", /protocol goes after the destination/);
    refused("0+fe80::1", /IPv6/);
    refused("10.0.0.1-10.0.0.9+0", /netsh syntax/);
    assert.throws(() => parseFilterList([" "]), /-f: needs at least one filter spec/);
  });
});
