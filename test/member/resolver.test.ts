import assert from "node:assert/strict";
import * as dgram from "node:dgram";
import { after, before, describe, it } from "node:test";
import dnsPacket, { type DecodedPacket } from "dns-packet";
import {
  createDomainResolver,
  type DomainResolver,
  ResolverError,
  resolveFilterNames,
} from "../../src/member/resolver.js";
import { EMPTY_SERVERS, expandSpec } from "../../src/policy/expand.js";
import { loadLocalStore } from "../../src/policy/store.js";
import { addAndJoin, cliInit, type DcProcess, startDcProcess } from "../dc/helpers.js";
import { cli, tempHome } from "../helpers/cli.js";

async function rejectsWith(p: Promise<unknown>, code: string, message: RegExp): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof ResolverError, String(e));
    assert.equal(e.code, code);
    assert.match(e.message, message);
    assert.ok(!e.message.includes("\n"), "one line");
    return true;
  });
}

async function ok(home: string, ...args: string[]): Promise<string> {
  const r = await cli(home, ...args);
  assert.equal(r.code, 0, `${args.join(" ")}: ${r.err}`);
  return r.out;
}

describe("the member's resolver against a real DC's DNS (RFC 1035 4.1, RFC 7766)", () => {
  const dcHome = tempHome("pres-dc");
  const member = tempHome("pres-m");
  const policyHome = tempHome("pres-pol");
  let dc: DcProcess | undefined;
  let resolver: DomainResolver;
  before(async () => {
    await cliInit(dcHome.dir);
    dc = await startDcProcess(dcHome.dir);
    const join = await addAndJoin(dcHome.dir, member.dir, dc.apiPort, "server1", "198.18.0.20");
    assert.equal(join.code, 0, join.err);
    await ok(dcHome.dir, "domain", "dns", "add", "www", "198.18.0.20");
    await ok(dcHome.dir, "domain", "dns", "add", "www", "198.18.0.21");
    for (let i = 1; i <= 40; i++)
      await ok(dcHome.dir, "domain", "dns", "add", "big", `10.9.0.${i}`);
    resolver = createDomainResolver({
      servers: [{ host: "127.0.0.1", port: dc.dnsPort }],
      domain: "bigfirm.com",
    });
  });
  after(async () => {
    await dc?.stop();
    dcHome.cleanup();
    member.cleanup();
    policyHome.cleanup();
  });

  it("lookupA: a joined member's A record; case, trailing dot and a short name do not matter", async () => {
    assert.deepEqual(await resolver.lookupA("server1.bigfirm.com"), ["198.18.0.20"]);
    assert.deepEqual(await resolver.lookupA("SERVER1.BigFirm.COM."), ["198.18.0.20"]);
    assert.deepEqual(await resolver.lookupA("server1"), ["198.18.0.20"]);
    assert.deepEqual((await resolver.lookupA("www.bigfirm.com")).sort(), [
      "198.18.0.20",
      "198.18.0.21",
    ]);
  });

  it("lookupA: NXDOMAIN and NODATA are no addresses, not errors (RFC 2308)", async () => {
    assert.deepEqual(await resolver.lookupA("nosuch.bigfirm.com"), []);
    assert.deepEqual(await resolver.lookupA("_tcp.bigfirm.com"), []);
  });

  it("lookupPtr: the responder's host name from its address, as Kerberos in IKE needs it", async () => {
    assert.equal(await resolver.lookupPtr("198.18.0.20"), "server1.bigfirm.com");
    assert.equal(await resolver.lookupPtr("127.0.0.1"), "dc1.bigfirm.com");
    assert.equal(await resolver.lookupPtr("198.18.0.99"), null);
  });

  it("RFC 1035 4.2.1: a truncated UDP answer (TC) is asked again over TCP", async () => {
    const all = await resolver.lookupA("big.bigfirm.com");
    assert.equal(all.length, 40, "40 A records do not fit in 512 bytes: only TCP carries them");
    assert.ok(all.includes("10.9.0.40"));
  });

  it("REFUSED (a name outside the domain) and a bad argument are one-line errors", async () => {
    await rejectsWith(
      resolver.lookupA("www.example.org"),
      "dns.refused",
      new RegExp(
        `^DNS query refused \\(REFUSED\\) by 127\\.0\\.0\\.1:${dc?.dnsPort} for www\\.example\\.org A$`,
      ),
    );
    await rejectsWith(resolver.lookupPtr("server1"), "dns.bad-name", /^'server1' is not an IPv4/);
    await rejectsWith(
      resolver.lookupA("a..b"),
      "dns.bad-name",
      /^'a\.\.b' is not a valid DNS name$/,
    );
  });

  it("resolveFilterNames: each name of the store's filters once; an unknown name gets a note and matches nothing", async () => {
    const ips = (...args: string[]) => ok(policyHome.dir, "netsh", "ipsec", "static", ...args);
    await ips("add", "filter", "filterlist=Web", "srcaddr=me", "dstaddr=server1.bigfirm.com");
    await ips("add", "filter", "filterlist=Web", "srcaddr=www.bigfirm.com", "dstaddr=me");
    await ips("add", "filter", "filterlist=Other", "srcaddr=me", "dstaddr=gone.bigfirm.com");
    await ips("add", "filter", "filterlist=Other", "srcaddr=server1.bigfirm.com", "dstaddr=any");
    const store = loadLocalStore(policyHome.dir);
    const { names, notes } = await resolveFilterNames(store, resolver);
    assert.deepEqual([...names.entries()].sort(), [
      ["gone.bigfirm.com", []],
      ["server1.bigfirm.com", ["198.18.0.20"]],
      ["www.bigfirm.com", ["198.18.0.20", "198.18.0.21"]],
    ]);
    assert.deepEqual(notes, [
      "filter name 'gone.bigfirm.com' did not resolve (no A record): its filters match nothing",
    ]);
    const ctx = {
      hostAddresses: [],
      servers: EMPTY_SERVERS,
      resolve: (n: string) => names.get(n) ?? [],
    };
    assert.deepEqual(expandSpec({ kind: "dns", name: "server1.bigfirm.com" }, ctx), [
      { kind: "range", family: 4, lo: 0xc6120014n, hi: 0xc6120014n },
    ]);
    assert.deepEqual(expandSpec({ kind: "dns", name: "gone.bigfirm.com" }, ctx), []);
  });
});

/** A UDP peer on loopback that answers each query with `reply` (or nothing when it returns []). */
async function scriptedPeer(
  reply: (q: DecodedPacket, raw: Buffer) => Buffer[],
): Promise<{ port: number; seen: DecodedPacket[]; close: () => Promise<void> }> {
  const sock = dgram.createSocket("udp4");
  const seen: DecodedPacket[] = [];
  sock.on("message", (msg, rinfo) => {
    const q = dnsPacket.decode(msg);
    seen.push(q);
    for (const out of reply(q, msg)) sock.send(out, rinfo.port, rinfo.address);
  });
  await new Promise<void>((r) => sock.bind(0, "127.0.0.1", r));
  return {
    port: sock.address().port,
    seen,
    close: () => new Promise<void>((r) => sock.close(() => r())),
  };
}

function response(q: DecodedPacket, over: Partial<dnsPacket.Packet> & { rcode?: number }): Buffer {
  return dnsPacket.encode({
    type: "response",
    id: q.id,
    flags: dnsPacket.AUTHORITATIVE_ANSWER | (over.rcode ?? 0),
    questions: q.questions,
    ...over,
  });
}

describe("the member's resolver against scripted UDP peers (RFC 5452 answer checks, bounded waits)", () => {
  const peers: { close: () => Promise<void> }[] = [];
  after(async () => {
    for (const p of peers) await p.close();
  });
  const use = async (reply: Parameters<typeof scriptedPeer>[0]) => {
    const p = await scriptedPeer(reply);
    peers.push(p);
    return p;
  };

  it("a silent port: dns.timeout after exactly `tries` queries, each with its own ID", async () => {
    const peer = await use(() => []);
    const r = createDomainResolver({
      servers: [{ host: "127.0.0.1", port: peer.port }],
      timeoutMs: 200,
    });
    await rejectsWith(
      r.lookupA("server1.bigfirm.com"),
      "dns.timeout",
      new RegExp(
        `^no DNS answer from 127\\.0\\.0\\.1:${peer.port} for server1\\.bigfirm\\.com A after 2 tries of 200 ms$`,
      ),
    );
    assert.equal(peer.seen.length, 2);
    assert.notEqual(peer.seen[0]?.id, peer.seen[1]?.id);
    assert.deepEqual(peer.seen[0]?.questions, [
      { name: "server1.bigfirm.com", type: "A", class: "IN" },
    ]);
  });

  it("a closed port: dns.unreachable from the ICMP port unreachable, without waiting for the timeout", async () => {
    const s = dgram.createSocket("udp4");
    await new Promise<void>((r) => s.bind(0, "127.0.0.1", r));
    const port = s.address().port;
    await new Promise<void>((r) => s.close(() => r()));
    const r = createDomainResolver({ servers: [{ host: "127.0.0.1", port }], timeoutMs: 10_000 });
    await rejectsWith(
      r.lookupA("server1.bigfirm.com"),
      "dns.unreachable",
      /^DNS server unreachable at 127\.0\.0\.1:\d+ for server1\.bigfirm\.com A: .*ECONNREFUSED$/,
    );
  });

  it("several servers: a silent first one costs its bound once, the next answers; then the one that answered is asked first", async () => {
    const silent = await use(() => []);
    const live = await use((q) => [
      response(q, {
        answers: [
          { type: "PTR", name: "20.0.18.198.in-addr.arpa", ttl: 60, data: "server1.bigfirm.com" },
        ],
      }),
    ]);
    const r = createDomainResolver({
      servers: [
        { host: "127.0.0.1", port: silent.port },
        { host: "127.0.0.1", port: live.port },
      ],
      timeoutMs: 150,
    });
    assert.equal(await r.lookupPtr("198.18.0.20"), "server1.bigfirm.com");
    assert.equal(silent.seen.length, 2, "the silent server got its `tries` queries");
    assert.equal(live.seen.length, 1);
    assert.equal(await r.lookupPtr("198.18.0.20"), "server1.bigfirm.com");
    assert.equal(silent.seen.length, 2, "not asked again while the other answers");
    assert.equal(live.seen.length, 2);
  });

  it("several servers, none answering: one line naming what each did", async () => {
    const silent = await use(() => []);
    const s = dgram.createSocket("udp4");
    await new Promise<void>((r) => s.bind(0, "127.0.0.1", r));
    const closed = s.address().port;
    await new Promise<void>((r) => s.close(() => r()));
    const r = createDomainResolver({
      servers: [
        { host: "127.0.0.1", port: silent.port },
        { host: "127.0.0.1", port: closed },
      ],
      timeoutMs: 100,
      tries: 1,
    });
    await rejectsWith(
      r.lookupA("server1.bigfirm.com"),
      "dns.unreachable",
      new RegExp(
        `^no DNS server answered server1\\.bigfirm\\.com A: no DNS answer from 127\\.0\\.0\\.1:${silent.port} .*; DNS server unreachable at 127\\.0\\.0\\.1:${closed} .*ECONNREFUSED$`,
      ),
    );
  });

  it("resolveFilterNames against a silent DNS: every name maps to nothing, with the timeout as its note", async () => {
    const peer = await use(() => []);
    const r = createDomainResolver({
      servers: [{ host: "127.0.0.1", port: peer.port }],
      timeoutMs: 100,
      tries: 1,
    });
    const store = {
      version: 1 as const,
      filterActions: [],
      policies: [],
      filterLists: [
        {
          guid: "g",
          name: "L",
          description: "",
          lastModified: "",
          filters: [
            {
              description: "",
              src: { kind: "dns" as const, name: "a.bigfirm.com" },
              dst: { kind: "dns" as const, name: "b.bigfirm.com" },
              protocol: 0,
              srcPort: 0,
              dstPort: 0,
              mirrored: true,
            },
          ],
        },
      ],
    };
    const { names, notes } = await resolveFilterNames(store, r);
    assert.deepEqual([...names.values()], [[], []]);
    assert.equal(notes.length, 2);
    assert.match(
      notes[0] as string,
      /^filter name 'a\.bigfirm\.com' did not resolve \(no DNS answer from .* after 1 tries of 100 ms\)/,
    );
  });

  it("RFC 5452 3.: answers with another ID or another question are ignored; the matching one is taken", async () => {
    const peer = await use((q) => {
      const good = response(q, {
        answers: [{ type: "A", name: "server1.bigfirm.com", ttl: 60, data: "198.18.0.20" }],
      });
      const wrongId = response(
        { ...q, id: ((q.id ?? 0) + 1) & 0xffff },
        {
          answers: [{ type: "A", name: "server1.bigfirm.com", ttl: 60, data: "203.0.113.66" }],
        },
      );
      const wrongQuestion = response(q, {
        questions: [{ type: "A", name: "evil.bigfirm.com" }],
        answers: [{ type: "A", name: "evil.bigfirm.com", ttl: 60, data: "203.0.113.67" }],
      });
      return [wrongId, wrongQuestion, good];
    });
    const r = createDomainResolver({ servers: [{ host: "127.0.0.1", port: peer.port }] });
    assert.deepEqual(await r.lookupA("server1.bigfirm.com"), ["198.18.0.20"]);
  });

  it("lookupA follows a CNAME chain in the answer to the A records", async () => {
    const peer = await use((q) => [
      response(q, {
        answers: [
          { type: "CNAME", name: "web.bigfirm.com", ttl: 60, data: "server1.bigfirm.com" },
          { type: "A", name: "server1.bigfirm.com", ttl: 60, data: "198.18.0.20" },
          { type: "A", name: "unrelated.bigfirm.com", ttl: 60, data: "203.0.113.1" },
        ],
      }),
    ]);
    const r = createDomainResolver({ servers: [{ host: "127.0.0.1", port: peer.port }] });
    assert.deepEqual(await r.lookupA("web.bigfirm.com"), ["198.18.0.20"]);
  });

  it("SERVFAIL, another RCODE, and an answer that does not decode are one-line errors", async () => {
    const servfail = await use((q) => [response(q, { rcode: 2 })]);
    await rejectsWith(
      createDomainResolver({ servers: [{ host: "127.0.0.1", port: servfail.port }] }).lookupPtr(
        "198.18.0.20",
      ),
      "dns.servfail",
      /^DNS server failure \(SERVFAIL\) at 127\.0\.0\.1:\d+ for 20\.0\.18\.198\.in-addr\.arpa PTR$/,
    );
    const notimp = await use((q) => [response(q, { rcode: 4 })]);
    await rejectsWith(
      createDomainResolver({ servers: [{ host: "127.0.0.1", port: notimp.port }] }).lookupA(
        "x.bigfirm.com",
      ),
      "dns.rcode",
      /^DNS error NOTIMP from /,
    );
    const garbage = await use((_q, raw) => {
      const out = Buffer.alloc(40, 0xff);
      raw.copy(out, 0, 0, 2);
      return [out];
    });
    await rejectsWith(
      createDomainResolver({ servers: [{ host: "127.0.0.1", port: garbage.port }] }).lookupA(
        "x.bigfirm.com",
      ),
      "dns.malformed",
      /^malformed DNS answer from 127\.0\.0\.1:\d+ for x\.bigfirm\.com A: /,
    );
  });

  it("a server that is not an IP address, or no server, is refused at creation", () => {
    assert.throws(
      () => createDomainResolver({ servers: [] }),
      (e: unknown) => e instanceof ResolverError && e.code === "dns.bad-name",
    );
    assert.throws(
      () => createDomainResolver({ servers: [{ host: "dc1.bigfirm.com", port: 53 }] }),
      /^ResolverError: DNS server 'dc1\.bigfirm\.com' is not an IP address$/,
    );
  });
});
