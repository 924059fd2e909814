/**
 * Issue 14 item 4, against a real `postern dc` on loopback: clients that send Kerberos and
 * DNS queries over TCP and never read, then 256 slow-drip connections (a byte every 5 s) to
 * each of the KDC and DNS; meanwhile MIT `kinit` (over TCP) gets its TGT within a bound, and
 * the DC's RSS (/proc/PID/status) stays bounded and returns near its baseline. Attackers
 * come from 127.0.0.2-9, kinit from 127.0.0.1. Every loop and wait is bounded.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import * as dgram from "node:dgram";
import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import dnsPacket from "dns-packet";
import { cli, tempHome } from "../helpers/cli.js";
import { buildAsReq, principal } from "../kerberos-kdc/client.js";
import { cliInit, type DcProcess, PASSWORD, startDcProcess } from "./helpers.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const SOURCES = ["127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5"].concat([
  "127.0.0.6",
  "127.0.0.7",
  "127.0.0.8",
  "127.0.0.9",
]);

function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"));
  return Number(m?.[1] ?? 0) / 1024;
}

/** Samples the RSS every 200 ms until stopped; the peak. */
function watchRss(pid: number): { stop(): number } {
  let peak = rssMb(pid);
  const t = setInterval(() => {
    peak = Math.max(peak, rssMb(pid));
  }, 200);
  return {
    stop() {
      clearInterval(t);
      return Math.max(peak, rssMb(pid));
    },
  };
}

function kinit(conf: string, cc: string): Promise<{ code: number; out: string; ms: number }> {
  const t0 = Date.now();
  return new Promise((resolve) => {
    const child = execFile(
      "kinit",
      ["Administrator@BIGFIRM.COM"],
      {
        encoding: "utf8",
        timeout: 20_000,
        env: { ...process.env, KRB5_CONFIG: conf, KRB5CCNAME: `FILE:${cc}` },
      },
      (e, stdout, stderr) =>
        resolve({
          code: e ? Number((e as { code?: number }).code ?? 1) : 0,
          out: `${stdout}${stderr}`,
          ms: Date.now() - t0,
        }),
    );
    child.stdin?.end(`${PASSWORD}\n`);
  });
}

function frame(msg: Uint8Array, lengthBytes: 2 | 4): Buffer {
  const b = Buffer.alloc(lengthBytes + msg.length);
  if (lengthBytes === 2) b.writeUInt16BE(msg.length, 0);
  else b.writeUInt32BE(msg.length, 0);
  b.set(msg, lengthBytes);
  return b;
}

function connect(port: number, localAddress: string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ port, host: "127.0.0.1", localAddress }, () => resolve(s));
    s.once("error", reject);
  });
}

/**
 * A client that writes `record` over and over and never reads, until `maxBytes` are
 * written, `ms` pass or the DC closes the connection; then it holds the connection open
 * until `ms` pass. The bytes the kernel took from it.
 */
async function neverReader(
  port: number,
  source: string,
  record: Buffer,
  maxBytes: number,
  ms: number,
): Promise<{ taken: number }> {
  const s = await connect(port, source);
  s.on("error", () => undefined);
  s.pause();
  const closed = new Promise<boolean>((r) => s.once("close", () => r(true)));
  const until = Date.now() + ms;
  let sent = 0;
  const batch = Buffer.concat(Array.from({ length: 64 }, () => record));
  while (sent < maxBytes && Date.now() < until && !s.destroyed) {
    sent += batch.length;
    if (s.write(batch)) continue;
    const drained = await Promise.race([
      new Promise<boolean>((r) => s.once("drain", () => r(true))),
      closed.then(() => false),
      sleep(until - Date.now()).then(() => false),
    ]);
    if (!drained) break;
  }
  const taken = s.bytesWritten - s.writableLength;
  await Promise.race([closed, sleep(Math.max(0, until - Date.now()))]);
  s.destroy();
  return { taken };
}

/**
 * `n` connections spread over SOURCES, each dripping a 1,000-byte record (its length
 * prefix first) a byte every 5 s for `ms`; how each ended.
 */
async function slowDrip(
  port: number,
  lengthBytes: 2 | 4,
  n: number,
  ms: number,
): Promise<{ cutByServer: number; longestMs: number; total: number }> {
  const record = frame(Buffer.alloc(1000, 0x30), lengthBytes);
  const socks: { s: net.Socket; opened: number; closed?: number }[] = [];
  for (const src of SOURCES)
    for (let i = 0; i < n / SOURCES.length; i++) {
      const s = await connect(port, src).catch(() => undefined);
      if (!s) continue;
      const rec: { s: net.Socket; opened: number; closed?: number } = { s, opened: Date.now() };
      s.on("error", () => undefined);
      s.resume(); // reads (and drops) what comes, so the DC's close is seen at once
      s.on("close", () => {
        rec.closed ??= Date.now();
      });
      s.write(record.subarray(0, 1));
      socks.push(rec);
    }
  let at = 1;
  const drip = setInterval(() => {
    for (const r of socks) if (!r.s.destroyed) r.s.write(record.subarray(at, at + 1));
    at++;
  }, 5000);
  await sleep(ms);
  clearInterval(drip);
  const cutByServer = socks.filter((r) => r.closed !== undefined).length;
  const end = Date.now();
  const longestMs = Math.max(...socks.map((r) => (r.closed ?? end) - r.opened));
  for (const r of socks) r.s.destroy();
  return { cutByServer, longestMs, total: socks.length };
}

/** One datagram to 127.0.0.1:port from `source`; the answer (or none in 2 s). */
function udpAsk(port: number, bytes: Uint8Array, source = "127.0.0.2"): Promise<Buffer | null> {
  return new Promise((resolve) => {
    const s = dgram.createSocket("udp4");
    const timer = setTimeout(() => {
      s.close();
      resolve(null);
    }, 2000);
    s.on("message", (m) => {
      clearTimeout(timer);
      s.close();
      resolve(m);
    });
    s.bind(0, source, () => s.send(bytes, port, "127.0.0.1"));
  });
}

/** One DNS query over TCP from 127.0.0.1; the answer's rcode. */
async function dnsTcp(port: number, name: string): Promise<string> {
  const q = dnsPacket.encode({ type: "query", id: 7, questions: [{ type: "A", name }] });
  const s = await connect(port, "127.0.0.1");
  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0);
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error("no DNS answer over TCP in 5 s"));
    }, 5000);
    s.on("data", (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        clearTimeout(timer);
        s.destroy();
        const a = dnsPacket.decode(buf.subarray(2)) as { rcode?: string };
        resolve(a.rcode ?? "?");
      }
    });
    s.write(frame(q, 2));
  });
}

describe("issue 14 item 4: a DC that bad TCP clients cannot starve (real postern dc, MIT kinit)", () => {
  const home = tempHome("pdk-abuse");
  let dc: DcProcess | undefined;
  let kdcPort = 0;
  let conf = "";
  let baseline = 0;
  const figures: string[] = [];
  before(async () => {
    await cliInit(home.dir);
    dc = await startDcProcess(home.dir);
    const m = /kdc: realm (\S+) on 127\.0\.0\.1:(\d+)/.exec(dc.stderr());
    assert.ok(m, dc.stderr());
    kdcPort = Number(m[2]);
    conf = path.join(home.dir, "krb5.conf");
    // udp_preference_limit = 1: kinit goes straight to TCP, the transport under attack.
    fs.writeFileSync(
      conf,
      `[libdefaults]\n default_realm = BIGFIRM.COM\n dns_lookup_kdc = false\n rdns = false\n udp_preference_limit = 1\n[realms]\n BIGFIRM.COM = {\n  kdc = 127.0.0.1:${kdcPort}\n }\n`,
    );
    for (let i = 0; i < 5; i++) {
      const r = await kinit(conf, path.join(home.dir, "warm.cc"));
      assert.equal(r.code, 0, r.out);
    }
    await sleep(1000);
    baseline = rssMb(dc.pid);
  });
  after(async () => {
    if (figures.length) console.log(`# figures: ${figures.join("; ")}`);
    await dc?.kill9();
    home.cleanup();
  });

  it("clients that send AS-REQs and DNS queries over TCP and never read: kinit still gets a TGT, the DC's memory stays bounded and returns", async () => {
    const pid = (dc as DcProcess).pid;
    const asReq = frame(
      buildAsReq({
        realm: "BIGFIRM.COM",
        cname: principal("Administrator"),
        etypes: [18, 17],
        nowMs: Date.now(),
      }),
      4,
    );
    const query = frame(
      dnsPacket.encode({
        type: "query",
        id: 1,
        questions: [{ type: "SRV", name: "_kerberos._tcp.bigfirm.com" }],
      }),
      2,
    );
    const watch = watchRss(pid);
    const attack = Promise.all([
      ...SOURCES.map((src) => neverReader(kdcPort, src, asReq, 64 << 20, 14_000)),
      ...SOURCES.map((src) => neverReader((dc as DcProcess).dnsPort, src, query, 64 << 20, 14_000)),
    ]);
    await sleep(3000);
    const k = await kinit(conf, path.join(home.dir, "a.cc"));
    const dns = await dnsTcp((dc as DcProcess).dnsPort, "dc1.bigfirm.com");
    const readers = await attack;
    const peak = watch.stop();
    await sleep(3000);
    const afterMb = rssMb(pid);
    const sentMb = readers.reduce((a, r) => a + r.taken, 0) / 2 ** 20;
    figures.push(
      `never-read: baseline ${baseline.toFixed(0)} MB, peak ${peak.toFixed(0)} MB, after ${afterMb.toFixed(0)} MB, attackers got ${sentMb.toFixed(1)} MB in, kinit ${k.ms} ms`,
    );
    assert.equal(k.code, 0, `kinit during the attack: ${k.out}`);
    assert.ok(k.ms < 5000, `kinit took ${k.ms} ms`);
    assert.equal(dns, "NOERROR");
    assert.ok(peak < baseline + 80, `peak RSS ${peak} MB vs baseline ${baseline} MB`);
    assert.ok(afterMb < baseline + 40, `RSS after ${afterMb} MB vs baseline ${baseline} MB`);
  });

  it("256 slow-drip connections (a byte every 5 s) to each of the KDC and DNS: all cut within ~5 s, kinit and DNS over TCP served meanwhile", async () => {
    const pid = (dc as DcProcess).pid;
    const watch = watchRss(pid);
    const drips = Promise.all([
      slowDrip(kdcPort, 4, 256, 12_000),
      slowDrip((dc as DcProcess).dnsPort, 2, 256, 12_000),
    ]);
    await sleep(2000);
    const k = await kinit(conf, path.join(home.dir, "b.cc"));
    const dns = await dnsTcp((dc as DcProcess).dnsPort, "dc1.bigfirm.com");
    const [kdcDrip, dnsDrip] = await drips;
    const peak = watch.stop();
    await sleep(2000);
    const afterMb = rssMb(pid);
    figures.push(
      `slow-drip: kdc ${kdcDrip.cutByServer}/${kdcDrip.total} cut (longest ${kdcDrip.longestMs} ms), dns ${dnsDrip.cutByServer}/${dnsDrip.total} cut (longest ${dnsDrip.longestMs} ms), kinit ${k.ms} ms, peak ${peak.toFixed(0)} MB, after ${afterMb.toFixed(0)} MB`,
    );
    assert.equal(k.code, 0, `kinit during the drip: ${k.out}`);
    assert.ok(k.ms < 5000, `kinit took ${k.ms} ms`);
    assert.equal(dns, "NOERROR");
    for (const [what, d] of [
      ["kdc", kdcDrip],
      ["dns", dnsDrip],
    ] as const) {
      assert.equal(d.total, 256, `${what}: all 256 connected`);
      assert.equal(d.cutByServer, 256, `${what}: the DC closed every dripping connection`);
      assert.ok(d.longestMs < 8000, `${what}: a drip lived ${d.longestMs} ms`);
    }
    assert.ok(afterMb < baseline + 40, `RSS after ${afterMb} MB vs baseline ${baseline} MB`);
  });

  it("UDP never amplifies: unauthenticated AS-REQs get at most 3 times their size back, DNS answers at most 5 times (else TC, and the same query over TCP gets it all)", async () => {
    const d = dc as DcProcess;
    const ratios: number[] = [];
    // AS-REQs without pre-authentication, from the smallest (one etype) up: PREAUTH_REQUIRED
    // with its ETYPE-INFO2 or RESPONSE_TOO_BIG, never a large answer to a small question.
    for (const [cname, etypes] of [
      ["Administrator", [18]],
      ["Administrator", [18, 17, 23]],
      ["nobody", [17]],
      ["krbtgt", [18]],
    ] as const) {
      const req = buildAsReq({
        realm: "BIGFIRM.COM",
        cname: principal(cname),
        etypes: [...etypes],
        nowMs: Date.now(),
      });
      const rep = await udpAsk(kdcPort, req);
      assert.ok(rep, `an answer to the AS-REQ for ${cname}`);
      ratios.push(rep.length / req.length);
      assert.ok(rep.length <= 3 * req.length, `${rep.length} bytes for ${req.length}`);
    }
    // A name with 20 addresses: 20 A records (~360 bytes, under the 512 of RFC 1035) for a
    // ~34-byte question: truncated only for the amplification bound.
    for (let i = 1; i <= 20; i++) {
      const r = await cli(home.dir, "domain", "dns", "add", "many", `198.18.7.${i}`);
      assert.equal(r.code, 0, r.err);
    }
    const q = dnsPacket.encode({
      type: "query",
      id: 9,
      questions: [{ type: "A", name: "many.bigfirm.com" }],
    });
    const udp = await udpAsk(d.dnsPort, q);
    assert.ok(udp);
    const a = dnsPacket.decode(udp) as { flag_tc?: boolean; answers?: unknown[] };
    ratios.push(udp.length / q.length);
    assert.ok(udp.length <= 5 * q.length, `${udp.length} bytes for ${q.length}`);
    assert.equal(a.flag_tc, true, "truncated: ask again over TCP");
    const s = await connect(d.dnsPort, "127.0.0.1");
    const got: Buffer[] = [];
    s.on("data", (b: Buffer) => got.push(b));
    s.write(frame(q, 2));
    for (let t = 0; t < 50 && Buffer.concat(got).length < 2; t++) await sleep(20);
    for (let t = 0; t < 50; t++) {
      const b = Buffer.concat(got);
      if (b.length >= 2 && b.length >= 2 + b.readUInt16BE(0)) break;
      await sleep(20);
    }
    s.destroy();
    const tcp = dnsPacket.decode(Buffer.concat(got).subarray(2)) as { answers?: unknown[] };
    assert.equal(tcp.answers?.length, 20);
    figures.push(`udp answer/request ratios ${ratios.map((r) => r.toFixed(2)).join(", ")}`);
  });

  it("the DC counted what it did: its KDC and DNS counters at shutdown name the cuts, timeouts and evictions", async () => {
    const d = dc as DcProcess;
    assert.equal(await d.stop(), 0);
    const m = /kdc: stopped; counters (\{.*\})/.exec(d.stderr());
    assert.ok(m, d.stderr());
    const c = JSON.parse(m[1] as string) as { tcpRejected: Record<string, number> };
    const timeouts = (c.tcpRejected["record-timeout"] ?? 0) + (c.tcpRejected.evicted ?? 0);
    assert.ok(timeouts >= 256, JSON.stringify(c.tcpRejected));
    // Each never-reading client was cut after its requests' allowance.
    assert.equal(c.tcpRejected["request-limit"], SOURCES.length, JSON.stringify(c.tcpRejected));
    const dns = /dns: stopped; tcp counters (\{.*\})/.exec(d.stderr());
    assert.ok(dns, d.stderr());
    const dc2 = JSON.parse(dns[1] as string) as { closed: Record<string, number> };
    assert.equal(dc2.closed["request-limit"], SOURCES.length, dns[1]);
    console.log(`# kdc tcp ${JSON.stringify(c.tcpRejected)}; dns tcp ${dns[1]}`);
  });
});
