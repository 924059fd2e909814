import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import * as dgram from "node:dgram";
import { after, before, describe, it } from "node:test";
import dnsPacket from "dns-packet";
import fc from "fast-check";
import { addComputer } from "../../src/dc/computers.js";
import type { Directory } from "../../src/dc/directory.js";
import { answerMessage, newDnsStats } from "../../src/dc/dns/answer.js";
import { type DnsServer, startDnsServer } from "../../src/dc/dns/server.js";
import { createDirectoryZone } from "../../src/dc/dns/source.js";
import { addRecord, updateOwnAddress } from "../../src/dc/records.js";
import { tempHome } from "../helpers/cli.js";
import { newDirectory } from "./helpers.js";

/** dig as a child process, asynchronously: the server answers from this same process. */
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

function nsupdate(input: string): Promise<string> {
  return new Promise((resolve) => {
    const p = spawn("nsupdate", ["-t", "3"], { stdio: ["pipe", "pipe", "pipe"] });
    let out = "";
    const t = setTimeout(() => p.kill("SIGKILL"), 10_000);
    p.stdout.on("data", (c: Buffer) => {
      out += c.toString();
    });
    p.stderr.on("data", (c: Buffer) => {
      out += c.toString();
    });
    p.on("close", () => {
      clearTimeout(t);
      resolve(out);
    });
    p.stdin.end(input);
  });
}

function status(out: string): string | undefined {
  return /status: (\w+)/.exec(out)?.[1];
}

describe("DNS: the domain zone answered to dig (RFC 1034 4.3.2, RFC 2782 SRV)", () => {
  const home = tempHome("pdc-dns");
  let dir: Directory;
  let server: DnsServer;
  let port = 0;
  before(async () => {
    dir = newDirectory(home.dir);
    addComputer(dir, "t", "xpclient");
    updateOwnAddress(dir, "machine:XPCLIENT$", "XPCLIENT$", "198.18.0.30");
    addRecord(dir, "t", "server1", "198.18.0.20");
    addRecord(dir, "t", "server1", "2001:db8::20");
    server = await startDnsServer(
      createDirectoryZone(dir, { kdcPort: 88 }),
      "127.0.0.1",
      0,
      () => {},
    );
    port = server.udpPort();
  });
  after(async () => {
    await server?.close();
    dir?.close();
    home.cleanup();
  });

  it("SOA and NS of the apex, authoritative, no recursion offered", async () => {
    const out = await dig(port, "bigfirm.com", "SOA");
    assert.equal(status(out), "NOERROR");
    assert.match(out, /flags: qr aa( rd)?;/);
    assert.match(
      out,
      /bigfirm\.com\.\s+3600\s+IN\s+SOA\s+dc1\.bigfirm\.com\. hostmaster\.bigfirm\.com\. \d+ 900 600 86400 3600/,
    );
    assert.match(await dig(port, "+short", "bigfirm.com", "NS"), /^dc1\.bigfirm\.com\.$/m);
  });

  it("A and AAAA of the DC and of members", async () => {
    assert.equal((await dig(port, "+short", "dc1.bigfirm.com", "A")).trim(), "127.0.0.1");
    assert.equal((await dig(port, "+short", "xpclient.bigfirm.com", "A")).trim(), "198.18.0.30");
    assert.equal((await dig(port, "+short", "server1.bigfirm.com", "AAAA")).trim(), "2001:db8::20");
    assert.equal((await dig(port, "+short", "SERVER1.BigFirm.COM", "A")).trim(), "198.18.0.20");
  });

  it("Kerberos, kpasswd and DC locator SRV records with the DC's address as additional data", async () => {
    for (const [name, p] of [
      ["_kerberos._udp", 88],
      ["_kerberos._tcp", 88],
      ["_kpasswd._udp", 464],
      ["_kpasswd._tcp", 464],
      ["_ldap._tcp.dc._msdcs", 389],
    ] as const) {
      const out = await dig(port, `${name}.bigfirm.com`, "SRV");
      assert.match(out, new RegExp(`IN\\s+SRV\\s+0 100 ${p} dc1\\.bigfirm\\.com\\.`), name);
      assert.match(out, /ADDITIONAL SECTION:\ndc1\.bigfirm\.com\.\s+\d+\s+IN\s+A\s+127\.0\.0\.1/);
    }
  });

  it("the same answers over TCP (RFC 1035 4.2.2)", async () => {
    assert.match(
      await dig(port, "+tcp", "_kerberos._tcp.bigfirm.com", "SRV"),
      /SRV\s+0 100 88 dc1\.bigfirm\.com\./,
    );
  });

  it("REFUSED for names outside the zone: no recursion", async () => {
    const out = await dig(port, "example.org", "A");
    assert.equal(status(out), "REFUSED");
    assert.doesNotMatch(out, /flags:[^;]* ra/);
    assert.equal(status(await dig(port, "bigfirm.com.evil.org", "A")), "REFUSED");
    assert.match(await dig(port, "bigfirm.com", "AXFR"), /Transfer failed/, "no zone transfer");
  });

  it("NXDOMAIN with the SOA for unknown names in the zone (RFC 2308), NODATA for known names", async () => {
    const nx = await dig(port, "nosuch.bigfirm.com", "A");
    assert.equal(status(nx), "NXDOMAIN");
    assert.match(nx, /AUTHORITY SECTION:\nbigfirm\.com\.\s+\d+\s+IN\s+SOA/);
    const nodata = await dig(port, "xpclient.bigfirm.com", "MX");
    assert.equal(status(nodata), "NOERROR");
    assert.match(nodata, /ANSWER: 0, AUTHORITY: 1/);
    assert.equal(
      status(await dig(port, "_tcp.bigfirm.com", "A")),
      "NOERROR",
      "an empty non-terminal exists",
    );
  });

  it("refuses RFC 2136 updates (nsupdate): hosts update through the API", async () => {
    const out = await nsupdate(
      `server 127.0.0.1 ${port}\nzone bigfirm.com\nupdate add evil.bigfirm.com 60 A 203.0.113.9\nsend\n`,
    );
    assert.match(out, /REFUSED/);
    assert.equal((await dig(port, "+short", "evil.bigfirm.com", "A")).trim(), "");
    assert.ok(server.stats["refused-update"] >= 1);
  });

  it("answers FORMERR to a malformed query with a header, drops shorter garbage, counts both", async () => {
    const before = server.stats.malformed;
    const sock = dgram.createSocket("udp4");
    try {
      const reply = await new Promise<Buffer>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error("no reply")), 3000);
        sock.once("message", (m) => {
          clearTimeout(t);
          resolve(m);
        });
        sock.send(Buffer.from([0, 0, 0, 0, 0]), port, "127.0.0.1");
        const bad = Buffer.alloc(20, 0xff);
        bad.writeUInt16BE(0x1234, 0);
        bad.writeUInt16BE(0x0100, 2);
        sock.send(bad, port, "127.0.0.1");
      });
      assert.equal(reply.readUInt16BE(0), 0x1234);
      assert.equal(reply.readUInt16BE(2) & 0x800f, 0x8001, "QR set, RCODE 1 FORMERR");
      assert.equal(server.stats.malformed, before + 2);
    } finally {
      sock.close();
    }
  });

  it("a new join shows at once, with a higher SOA serial", async () => {
    const serial = (out: string) => Number(/SOA\s+\S+ \S+ (\d+)/.exec(out)?.[1]);
    const s1 = serial(await dig(port, "bigfirm.com", "SOA"));
    updateOwnAddress(dir, "machine:XPCLIENT$", "XPCLIENT$", "198.18.0.31");
    assert.equal((await dig(port, "+short", "xpclient.bigfirm.com", "A")).trim(), "198.18.0.31");
    assert.ok(serial(await dig(port, "bigfirm.com", "SOA")) > s1);
  });
});

describe("DNS answer core (pure)", () => {
  const home = tempHome("pdc-dnscore");
  let dir: Directory;
  before(() => {
    dir = newDirectory(home.dir);
  });
  after(() => {
    dir?.close();
    home.cleanup();
  });

  it("RFC 1035 4.1.1: two questions are FORMERR; a response is dropped; IQUERY is NOTIMP", async () => {
    const zone = createDirectoryZone(dir, { kdcPort: 88 });
    const stats = newDnsStats();
    const two = dnsPacket.encode({
      type: "query",
      id: 7,
      questions: [
        { type: "A", name: "a.bigfirm.com" },
        { type: "A", name: "b.bigfirm.com" },
      ],
    });
    const r = dnsPacket.decode(answerMessage(two, zone, stats, true) as Buffer);
    assert.equal((r as { rcode?: string }).rcode, "FORMERR");
    const resp = dnsPacket.encode({
      type: "response",
      id: 8,
      questions: [{ type: "A", name: "a.bigfirm.com" }],
    });
    assert.equal(answerMessage(resp, zone, stats, true), null);
    assert.equal(stats["dropped-response"], 1);
    const iq = dnsPacket.encode({
      type: "query",
      id: 9,
      flags: 1 << 11,
      questions: [{ type: "A", name: "a.bigfirm.com" }],
    });
    assert.equal(
      (dnsPacket.decode(answerMessage(iq, zone, stats, true) as Buffer) as { rcode?: string })
        .rcode,
      "NOTIMP",
    );
  });

  it("RFC 1035 4.2.1: an answer over 512 bytes on UDP without EDNS is truncated (TC)", async () => {
    for (let i = 1; i <= 40; i++) addRecord(dir, "t", "big", `10.0.0.${i}`);
    const zone = createDirectoryZone(dir, { kdcPort: 88 });
    const stats = newDnsStats();
    const q = dnsPacket.encode({
      type: "query",
      id: 1,
      questions: [{ type: "A", name: "big.bigfirm.com" }],
    });
    const udp = dnsPacket.decode(answerMessage(q, zone, stats, true) as Buffer);
    assert.equal(udp.flag_tc, true);
    assert.equal(udp.answers?.length, 0);
    const tcp = dnsPacket.decode(answerMessage(q, zone, stats, false) as Buffer);
    assert.equal(tcp.answers?.length, 40);
  });

  it("property: any bytes get an answer or a counted drop, never an exception", () => {
    const zone = createDirectoryZone(dir, { kdcPort: 88 });
    const stats = newDnsStats();
    const total = () => Object.values(stats).reduce((a, b) => a + b, 0) - stats.truncated;
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 600 }), (bytes) => {
        const before = total();
        const out = answerMessage(Buffer.from(bytes), zone, stats, true);
        assert.ok(out === null || out.length >= 12);
        assert.equal(total(), before + 1, "exactly one outcome counted per message");
      }),
      { numRuns: 2000 },
    );
  });

  it("property: a query for any name answers with the same id and question", () => {
    const zone = createDirectoryZone(dir, { kdcPort: 88 });
    const stats = newDnsStats();
    const label = fc.stringMatching(/^[a-z0-9_-]{1,20}$/);
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 65535 }),
        fc.array(label, { minLength: 1, maxLength: 4 }),
        fc.boolean(),
        (id, labels, inZone) => {
          const name = inZone ? `${labels.join(".")}.bigfirm.com` : `${labels.join(".")}.example`;
          const q = dnsPacket.encode({ type: "query", id, questions: [{ type: "A", name }] });
          const r = dnsPacket.decode(answerMessage(q, zone, stats, true) as Buffer);
          assert.equal(r.id, id);
          assert.equal(r.questions?.[0]?.name, name);
          const rcode = (r as { rcode?: string }).rcode;
          assert.ok(inZone ? rcode === "NXDOMAIN" || rcode === "NOERROR" : rcode === "REFUSED");
        },
      ),
      { numRuns: 500 },
    );
  });
});
