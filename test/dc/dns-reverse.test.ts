import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { after, before, describe, it } from "node:test";
import dnsPacket, { type Answer, type DecodedPacket } from "dns-packet";
import fc from "fast-check";
import { answerMessage, newDnsStats, type ZoneSource } from "../../src/dc/dns/answer.js";
import {
  addressOfReverseName,
  inReversePrefix,
  parseReverseName,
  reverseNameOf,
} from "../../src/dc/dns/reverse.js";
import { formatIp, parseIp } from "../../src/policy/ip.js";
import { cli, tempHome } from "../helpers/cli.js";
import { addAndJoin, cliInit, type DcProcess, startDcProcess } from "./helpers.js";

/** dig as a child process, asynchronously. */
function dig(port: number, ...args: string[]): Promise<string> {
  return new Promise((resolve) => {
    execFile(
      "dig",
      ["@127.0.0.1", "-p", String(port), "+time=2", "+tries=1", ...args],
      { encoding: "utf8", timeout: 10_000 },
      (_e, stdout) => resolve(stdout),
    );
  });
}

function status(out: string): string | undefined {
  return /status: (\w+)/.exec(out)?.[1];
}

/** A zone in memory: the forward records of bigfirm.com, as the directory would hold them. */
function fakeZone(hosts: [string, string][]): ZoneSource {
  const origin = "bigfirm.com";
  const soa = {
    type: "SOA" as const,
    name: origin,
    ttl: 3600,
    data: {
      mname: "dc1.bigfirm.com",
      rname: "hostmaster.bigfirm.com",
      serial: 7,
      refresh: 900,
      retry: 600,
      expire: 86400,
      minimum: 3600,
    },
  };
  const records = (name: string): Answer[] =>
    hosts
      .filter(([n]) => n === name)
      .map(([n, a]) => ({ type: a.includes(":") ? "AAAA" : "A", name: n, ttl: 1200, data: a }));
  return {
    origin: () => origin,
    soa: () => soa,
    recordsAt: records,
    nameExists: (name) => hosts.some(([n]) => n === name || n.endsWith(`.${name}`)),
    namesWithAddress: (address) =>
      hosts.filter(([, a]) => a === address).map(([name]) => ({ name, ttl: 1200 })),
    hasAddressIn: (prefix) =>
      hosts.some(([, a]) => {
        const ip = parseIp(a);
        return ip !== null && inReversePrefix(ip, prefix);
      }),
  };
}

function ask(zone: ZoneSource, name: string, type: "PTR" | "A" | "SOA" | "ANY"): DecodedPacket {
  const q = dnsPacket.encode({
    type: "query",
    id: 4242,
    flags: dnsPacket.RECURSION_DESIRED,
    questions: [{ type: type as "A", name }],
  });
  return dnsPacket.decode(answerMessage(q, zone, newDnsStats(), true) as Buffer);
}

const rcode = (p: DecodedPacket) => (p as { rcode?: string }).rcode;
const dataOf = (a: Answer) => (a as { data?: unknown }).data;

describe("reverse names (RFC 1035 3.5 IN-ADDR.ARPA, RFC 3596 2.5 IP6.ARPA), pure", () => {
  it("RFC 1035 3.5: 198.18.0.30 is 30.0.18.198.in-addr.arpa, and back", () => {
    assert.equal(reverseNameOf("198.18.0.30"), "30.0.18.198.in-addr.arpa");
    const r = parseReverseName("30.0.18.198.in-addr.arpa");
    assert.ok(r);
    assert.equal(addressOfReverseName(r), "198.18.0.30");
  });

  it("RFC 3596 2.5: an IPv6 address is 32 nibbles under ip6.arpa, least significant first", () => {
    const name = reverseNameOf("2001:db8::20");
    assert.equal(name, "0.2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa");
    const r = parseReverseName(name as string);
    assert.ok(r);
    assert.equal(addressOfReverseName(r), "2001:db8::20");
    assert.equal(reverseNameOf("not-an-address"), null);
  });

  it("a shorter name is a prefix; labels that are not octets or nibbles name nothing", () => {
    const p = parseReverseName("0.18.198.in-addr.arpa");
    assert.deepEqual(p, { apex: "in-addr.arpa", family: 4, value: 0xc6120000n, bits: 24 });
    assert.equal(addressOfReverseName(p as NonNullable<typeof p>), null);
    assert.deepEqual(parseReverseName("in-addr.arpa"), {
      apex: "in-addr.arpa",
      family: 4,
      value: 0n,
      bits: 0,
    });
    for (const bad of [
      "256.0.18.198.in-addr.arpa",
      "030.0.18.198.in-addr.arpa",
      "1.30.0.18.198.in-addr.arpa",
      "x.in-addr.arpa",
      "10.0.0.2.ip6.arpa",
      "bigfirm.com",
    ]) {
      assert.equal(parseReverseName(bad), null, bad);
    }
  });

  it("property: reverseNameOf and parseReverseName are inverse for every address", () => {
    const v4 = fc.bigInt({ min: 0n, max: (1n << 32n) - 1n }).map((value) => ({
      family: 4 as const,
      value,
    }));
    const v6 = fc.bigInt({ min: 0n, max: (1n << 128n) - 1n }).map((value) => ({
      family: 6 as const,
      value,
    }));
    fc.assert(
      fc.property(fc.oneof(v4, v6), (ip) => {
        const text = formatIp(ip);
        const r = parseReverseName(reverseNameOf(text) as string);
        assert.ok(r);
        assert.equal(addressOfReverseName(r), text);
        assert.ok(inReversePrefix(ip, r));
      }),
      { numRuns: 1000 },
    );
  });
});

describe("DNS answer core: PTR derived from the zone's A/AAAA records (pure)", () => {
  const zone = fakeZone([
    ["dc1.bigfirm.com", "198.18.0.10"],
    ["server1.bigfirm.com", "198.18.0.20"],
    ["www.bigfirm.com", "198.18.0.20"],
    ["server1.bigfirm.com", "2001:db8::20"],
  ]);

  it("RFC 1034 4.3.2: PTR for every name holding the address, authoritative, same id and question", () => {
    const r = ask(zone, "20.0.18.198.in-addr.arpa", "PTR");
    assert.equal(r.id, 4242);
    assert.equal(rcode(r), "NOERROR");
    assert.equal(r.flag_aa, true);
    assert.equal(r.flag_rd, true, "RD copied");
    assert.equal(r.flag_ra, false, "no recursion offered");
    assert.deepEqual(r.questions, [{ name: "20.0.18.198.in-addr.arpa", type: "PTR", class: "IN" }]);
    assert.deepEqual(
      r.answers?.map((a) => [a.type, a.name, dataOf(a)]),
      [
        ["PTR", "20.0.18.198.in-addr.arpa", "server1.bigfirm.com"],
        ["PTR", "20.0.18.198.in-addr.arpa", "www.bigfirm.com"],
      ],
    );
  });

  it("RFC 3596 2.5: PTR for an AAAA address under ip6.arpa", () => {
    const r = ask(zone, reverseNameOf("2001:db8::20") as string, "PTR");
    assert.equal(rcode(r), "NOERROR");
    assert.deepEqual(r.answers?.map(dataOf), ["server1.bigfirm.com"]);
  });

  it("RFC 2308: NXDOMAIN with an SOA for an address no host holds, and for a malformed name", () => {
    for (const name of [
      "99.0.18.198.in-addr.arpa",
      "300.0.18.198.in-addr.arpa",
      "a.in-addr.arpa",
    ]) {
      const r = ask(zone, name, "PTR");
      assert.equal(rcode(r), "NXDOMAIN", name);
      assert.equal(r.flag_aa, true);
      assert.equal(r.answers?.length, 0);
      assert.equal(r.authorities?.[0]?.type, "SOA");
      assert.equal(r.authorities?.[0]?.name, "in-addr.arpa");
    }
  });

  it("RFC 2308: NODATA for another type at a reverse name, and for a prefix holding an address", () => {
    const a = ask(zone, "20.0.18.198.in-addr.arpa", "A");
    assert.equal(rcode(a), "NOERROR");
    assert.equal(a.answers?.length, 0);
    assert.equal(a.authorities?.[0]?.type, "SOA");
    const prefix = ask(zone, "18.198.in-addr.arpa", "PTR");
    assert.equal(rcode(prefix), "NOERROR", "an empty non-terminal exists");
    assert.equal(rcode(ask(zone, "19.198.in-addr.arpa", "PTR")), "NXDOMAIN");
  });

  it("the reverse apex answers its SOA; forward names are unchanged; outside names REFUSED", () => {
    const soa = ask(zone, "in-addr.arpa", "SOA");
    assert.equal(rcode(soa), "NOERROR");
    assert.equal(soa.answers?.[0]?.type, "SOA");
    const fwd = ask(zone, "server1.bigfirm.com", "A");
    assert.deepEqual(fwd.answers?.map(dataOf), ["198.18.0.20"]);
    assert.equal(rcode(ask(zone, "example.arpa", "PTR")), "REFUSED");
  });
});

describe("a real DC answers dig -x from the A records members register at join", () => {
  const dcHome = tempHome("pdc-ptr");
  const member = tempHome("pdc-ptr-m");
  let dc: DcProcess | undefined;
  let port = 0;
  before(async () => {
    await cliInit(dcHome.dir);
    dc = await startDcProcess(dcHome.dir);
    port = dc.dnsPort;
    const join = await addAndJoin(dcHome.dir, member.dir, dc.apiPort, "server1", "198.18.0.20");
    assert.equal(join.code, 0, join.err);
  });
  after(async () => {
    await dc?.stop();
    dcHome.cleanup();
    member.cleanup();
  });

  it("dig -x of a joined member gives its host name, authoritative (flags qr aa rd)", async () => {
    assert.equal((await dig(port, "+short", "-x", "198.18.0.20")).trim(), "server1.bigfirm.com.");
    const out = await dig(port, "-x", "198.18.0.20");
    assert.equal(status(out), "NOERROR");
    assert.match(out, /flags: qr aa rd;/);
    assert.match(out, /20\.0\.18\.198\.in-addr\.arpa\.\s+\d+\s+IN\s+PTR\s+server1\.bigfirm\.com\./);
  });

  it("dig -x of the DC's address gives the DC's name (not the zone apex)", async () => {
    assert.equal((await dig(port, "+short", "-x", "127.0.0.1")).trim(), "dc1.bigfirm.com.");
  });

  it("an administrator's second name for the address is answered too, the member's own first", async () => {
    const r = await cli(dcHome.dir, "domain", "dns", "add", "www", "198.18.0.20");
    assert.equal(r.code, 0, r.err);
    assert.deepEqual((await dig(port, "+short", "-x", "198.18.0.20")).trim().split("\n"), [
      "server1.bigfirm.com.",
      "www.bigfirm.com.",
    ]);
    const r6 = await cli(dcHome.dir, "domain", "dns", "add", "server1", "2001:db8::20");
    assert.equal(r6.code, 0, r6.err);
    assert.equal((await dig(port, "+short", "-x", "2001:db8::20")).trim(), "server1.bigfirm.com.");
  });

  it("NXDOMAIN with the SOA for an address nobody holds; the same over TCP", async () => {
    const out = await dig(port, "-x", "198.18.0.99");
    assert.equal(status(out), "NXDOMAIN");
    assert.match(out, /flags: qr aa rd;/);
    assert.match(out, /AUTHORITY SECTION:\nin-addr\.arpa\.\s+\d+\s+IN\s+SOA\s+dc1\.bigfirm\.com\./);
    assert.equal(status(await dig(port, "+tcp", "-x", "198.18.0.99")), "NXDOMAIN");
    assert.match(
      await dig(port, "+tcp", "+short", "-x", "198.18.0.20"),
      /^server1\.bigfirm\.com\.$/m,
    );
  });
});
