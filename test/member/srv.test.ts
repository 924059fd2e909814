/**
 * RFC 2782's order of SRV records (priorities, weights with an injected random, weight 0,
 * duplicates, "."), the KDC list built from `_kerberos._udp` and `_kerberos._tcp`, the
 * fallback to machine.json's DC, and the transport honouring each KDC's protocol.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { encodeKrbError } from "../../src/kerberos/messages/index.js";
import { createFakeKdcIo, createKdcTransport } from "../../src/kerberos/transport.js";
import { createLocatingTransport, locateKdcs } from "../../src/member/kdc-locator.js";
import { ResolverError, type SrvResolver } from "../../src/member/resolver.js";
import { kdcListOf, orderSrv, type SrvRecord, type SrvTarget } from "../../src/member/srv.js";

const rec = (target: string, priority: number, weight: number, port = 88): SrvRecord => ({
  priority,
  weight,
  port,
  target,
});
/** A random source that returns the given fractions in turn (then 0). */
const seq = (...xs: number[]) => {
  let i = 0;
  return () => xs[i++] ?? 0;
};
const targets = (rs: SrvRecord[]) => rs.map((r) => r.target);

describe("orderSrv (RFC 2782)", () => {
  it("lower priority first, whatever the weights and the random", () => {
    const rs = [rec("c", 20, 100), rec("a", 0, 0), rec("b", 10, 100)];
    for (const r of [0, 0.5, 0.999])
      assert.deepEqual(targets(orderSrv(rs, () => r)), ["a", "b", "c"]);
  });

  it("within a priority, the running sum of weights >= r picks: r drawn in [0, total]", () => {
    // weights 10, 30, 60 (total 100): r = floor(f * 101)
    const rs = [rec("a", 0, 10), rec("b", 0, 30), rec("c", 0, 60)];
    // f = 0.99 -> r 99 > 40 -> c; then total 40: f 0.2 -> r 8 <= 10 -> a; then b
    assert.deepEqual(targets(orderSrv(rs, seq(0.99, 0.2))), ["c", "a", "b"]);
    // f = 0.3 -> r 30 -> running 10, 40 -> b; total 70: f 0.5 -> r 35 -> running 10, 70 -> c
    assert.deepEqual(targets(orderSrv(rs, seq(0.3, 0.5))), ["b", "c", "a"]);
    // f = 0 -> r 0 -> the first (a)
    assert.deepEqual(targets(orderSrv(rs, seq(0, 0))), ["a", "b", "c"]);
  });

  it("over a uniform random, weights 1 and 3 come first 2/5 and 3/5 of the time (r in [0, 4] inclusive)", () => {
    const rs = [rec("light", 0, 1), rec("heavy", 0, 3)];
    let heavyFirst = 0;
    for (let i = 0; i < 1000; i++)
      if (orderSrv(rs, seq(i / 1000))[0]?.target === "heavy") heavyFirst++;
    // r = floor(f * 5): light for r 0..1 (running sum 1), heavy for r 2..4
    assert.equal(heavyFirst, 600);
  });

  it("weight 0 is listed first in its priority: chosen only when r is 0", () => {
    const rs = [rec("w100", 0, 100), rec("zero", 0, 0)];
    assert.deepEqual(targets(orderSrv(rs, seq(0))), ["zero", "w100"]);
    assert.deepEqual(targets(orderSrv(rs, seq(0.5))), ["w100", "zero"]);
    // all weight 0: the order given
    assert.deepEqual(targets(orderSrv([rec("x", 0, 0), rec("y", 0, 0)], seq(0.7))), ["x", "y"]);
  });

  it("duplicates (same target and port, any case or trailing dot) count once, at their best priority", () => {
    const rs = [rec("DC1.bigfirm.com.", 10, 5), rec("dc1.bigfirm.com", 0, 5), rec("dc2", 5, 5)];
    const out = orderSrv(rs, seq(0));
    assert.deepEqual(
      out.map((r) => `${r.target} ${r.priority}`),
      ["dc1.bigfirm.com 0", "dc2 5"],
    );
    // another port of the same host is another server
    assert.equal(orderSrv([rec("a", 0, 1, 88), rec("a", 0, 1, 750)], seq(0)).length, 2);
  });

  it('a lone "." means no service; beside other records "." is ignored', () => {
    assert.deepEqual(orderSrv([rec(".", 0, 0, 0)], seq(0)), []);
    assert.deepEqual(orderSrv([rec("", 0, 0, 0)], seq(0)), []);
    assert.deepEqual(targets(orderSrv([rec(".", 0, 0, 0), rec("dc1", 1, 0)], seq(0))), ["dc1"]);
    assert.deepEqual(orderSrv([], seq(0)), []);
  });
});

const target = (name: string, addresses: string[], port = 88): SrvTarget => ({
  ...rec(name, 0, 0, port),
  addresses,
});

describe("the domain's KDC list", () => {
  it("the _udp servers then the _tcp servers, each with its protocol; a target without address is left out", () => {
    const udp = [target("dc2", ["10.0.0.2"]), target("dc1", ["10.0.0.1"]), target("ghost", [])];
    const tcp = [target("dc1", ["10.0.0.1"]), target("dc3", ["10.0.0.3"], 750)];
    assert.deepEqual(
      kdcListOf(udp, tcp).map((k) => `${k.protocol} ${k.host}:${k.port}`),
      ["udp 10.0.0.2:88", "udp 10.0.0.1:88", "tcp 10.0.0.1:88", "tcp 10.0.0.3:750"],
    );
  });

  const fakeResolver = (
    records: Record<string, SrvTarget[] | Error>,
  ): SrvResolver & {
    asked: string[];
  } => {
    const asked: string[] = [];
    return {
      asked,
      async lookupSrv(name) {
        asked.push(name);
        const r = records[name] ?? [];
        if (r instanceof Error) throw r;
        return r;
      },
    };
  };
  const configured = { host: "192.0.2.1", port: 8800 };

  it("from SRV records of the domain when it publishes them (machine.json's DC unused)", async () => {
    const resolver = fakeResolver({
      "_kerberos._udp.bigfirm.com": [target("dc2", ["10.0.0.2"])],
      "_kerberos._tcp.bigfirm.com": [target("dc2", ["10.0.0.2"])],
    });
    const where = await locateKdcs({ resolver, domain: "BigFirm.com.", configured });
    assert.equal(where.source, "srv");
    assert.deepEqual(where.kdcs, [
      { host: "10.0.0.2", port: 88, protocol: "udp" },
      { host: "10.0.0.2", port: 88, protocol: "tcp" },
    ]);
    assert.deepEqual(resolver.asked.sort(), [
      "_kerberos._tcp.bigfirm.com",
      "_kerberos._udp.bigfirm.com",
    ]);
  });

  it("machine.json's DC only when the domain publishes no SRV records, or DNS fails", async () => {
    const none = await locateKdcs({ resolver: fakeResolver({}), domain: "d.test", configured });
    assert.equal(none.source, "configured");
    assert.deepEqual(none.kdcs, [configured]);
    assert.match(none.note ?? "", /no SRV records for _kerberos\._udp\.d\.test/);
    const err = new ResolverError("dns.timeout", "no DNS answer from 192.0.2.1:53");
    const down = await locateKdcs({
      resolver: fakeResolver({ "_kerberos._udp.d.test": err }),
      domain: "d.test",
      configured,
    });
    assert.deepEqual(down.kdcs, [configured]);
    assert.match(down.note ?? "", /SRV lookup failed: no DNS answer/);
    const noDns = await locateKdcs({ resolver: null, domain: "d.test", configured });
    assert.deepEqual(noDns.kdcs, [configured]);
  });

  it("the locating transport: the list found once, the KDC that answered first next time, found again after the TTL", async () => {
    let located = 0;
    let clock = 0;
    const io = createFakeKdcIo((proto, kdc) => {
      if (kdc.host === "10.0.0.9") throw new Error("connect ECONNREFUSED");
      return new Uint8Array([proto === "tcp" ? 2 : 1]);
    });
    const t = createLocatingTransport({
      io,
      now: () => clock,
      relocateAfterMs: 1000,
      locate: async () => {
        located++;
        return {
          source: "srv",
          kdcs: [
            { host: "10.0.0.9", port: 88, protocol: "tcp" },
            { host: "10.0.0.1", port: 88, protocol: "tcp" },
          ],
        };
      },
    });
    assert.deepEqual(await t.send("R", new Uint8Array(10)), new Uint8Array([2]));
    assert.deepEqual(await t.send("R", new Uint8Array(10)), new Uint8Array([2]));
    assert.equal(located, 1);
    clock = 1000;
    await t.send("R", new Uint8Array(10));
    assert.equal(located, 2);
    assert.deepEqual(
      io.calls.map((c) => `${c.proto} ${c.kdc.host}`),
      ["tcp 10.0.0.9", "tcp 10.0.0.1", "tcp 10.0.0.1", "tcp 10.0.0.9", "tcp 10.0.0.1"],
    );
  });
});

describe("the transport and a KDC's protocol", () => {
  const sname = { nameType: 2, nameString: ["krbtgt", "R"] };
  const tooBig = encodeKrbError({ stime: new Date(0), susec: 0, errorCode: 52, realm: "R", sname });
  const kdcs = [
    { host: "u", port: 88, protocol: "udp" as const },
    { host: "t", port: 88, protocol: "tcp" as const },
  ];

  it("a small request: each KDC over its own protocol, in order; TCP after RESPONSE_TOO_BIG still", async () => {
    const io = createFakeKdcIo((proto, kdc) => {
      if (kdc.host === "u" && proto === "udp") return tooBig;
      throw new Error("no reply");
    });
    const t = createKdcTransport({ io, kdcsOf: () => kdcs, maxRounds: 1 });
    await assert.rejects(t.send("R", new Uint8Array(10)), /cannot reach any KDC/);
    assert.deepEqual(
      io.calls.map((c) => `${c.proto} ${c.kdc.host}`),
      ["udp u", "tcp u", "tcp t"],
    );
  });

  it("a request too large for UDP: the TCP KDCs first; an unmarked KDC (krb5.conf) as before", async () => {
    const io = createFakeKdcIo(() => {
      throw new Error("no reply");
    });
    const all = [...kdcs, { host: "plain", port: 88 }];
    const t = createKdcTransport({ io, kdcsOf: () => all, maxRounds: 1, udpPreferenceLimit: 1 });
    await assert.rejects(t.send("R", new Uint8Array(10)));
    assert.deepEqual(
      io.calls.map((c) => `${c.proto} ${c.kdc.host}`),
      ["tcp t", "tcp plain", "udp u"],
    );
  });
});
