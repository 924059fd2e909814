/**
 * What the fuzzer found (bench/fuzz.ts, docs/security.md ("Fuzzing every parser")), each input kept as a
 * test: the parser now answers it with its typed error or a well-formed reply.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import dnsPacket from "dns-packet";
import type { Directory } from "../../src/dc/directory.js";
import { answerMessage, newDnsStats } from "../../src/dc/dns/answer.js";
import { createDirectoryZone } from "../../src/dc/dns/source.js";
import { DirectoryError } from "../../src/dc/errors.js";
import { runOp } from "../../src/dc/ops.js";
import { IkeError } from "../../src/ike/errors.js";
import { createReplayCache } from "../../src/kerberos/acceptor/replay-cache.js";
import { decodeMessage } from "../../src/ike/message.js";
import { newDirectory } from "../dc/helpers.js";
import { tempHome } from "../helpers/cli.js";

/** A query for one name given as raw labels (bytes), type A, class IN. */
function queryWithLabels(labels: Buffer[]): Buffer {
  const name = Buffer.concat([...labels.flatMap((l) => [Buffer.of(l.length), l]), Buffer.of(0)]);
  return Buffer.concat([
    Buffer.from("123401000001000000000000", "hex"),
    name,
    Buffer.from("00010001", "hex"),
  ]);
}

describe("IKE: a Delete payload cannot make thousands of SPIs out of nothing (RFC 7296 3.11)", () => {
  // ike seed 1 input 35004: INFORMATIONAL with D{ESP, 2 SPIs} then D{IKE, SPI size 0,
  // num of SPIs 0xff00}: 8 bytes that decoded into 65,280 empty buffers (100-700 ms each
  // time, in a 68-byte datagram anyone can send).
  const datagram = Buffer.from(
    "010203040506070800000000000000002a20250800000000000000442a000010030400020102030405060708" +
      "290000080100ff0000000010010800180101010101010101",
    "hex",
  );

  it("ike seed 1 input 35004: SPI size 0 with num of SPIs 65,280 is malformed, at once", () => {
    const t0 = performance.now();
    assert.throws(
      () => decodeMessage(datagram),
      (e: unknown) => {
        assert.ok(e instanceof IkeError);
        assert.equal(e.code, "malformed");
        assert.match(e.message, /Delete payload: SPI size 0 with num of SPIs 65280/);
        return true;
      },
    );
    assert.ok(performance.now() - t0 < 50, "decoded in well under 50 ms");
  });

  it("the IKE SA's own Delete (protocol 1, SPI size 0, no SPIs) still decodes", () => {
    const ok = Buffer.from(datagram);
    ok.writeUInt16BE(0, 50); // num of SPIs of the second Delete
    const m = decodeMessage(ok);
    assert.deepEqual(
      m.payloads.map((p) => p.type),
      ["D", "D", "N"],
    );
  });
});

describe("acceptor replay cache: a full cache does not sweep on every AP-REQ", () => {
  // ap-req seed 1: once 100,000 unexpired authenticators were cached, every new one walked
  // the whole map (0.9 ms per AP-REQ, 1.7 s for 2,000).
  it("2,000 new authenticators into a full cache of 100,000 take well under a second", () => {
    const c = createReplayCache({ now: () => 1000 });
    for (let i = 0; i < 100_000; i++) c.checkAndStore(`k${i}`, 10_000);
    const t0 = performance.now();
    for (let i = 0; i < 2000; i++) assert.equal(c.checkAndStore(`x${i}`, 10_000), true);
    assert.ok(performance.now() - t0 < 1000, `${Math.round(performance.now() - t0)} ms`);
    assert.equal(c.size, 100_000);
    assert.equal(c.evicted, 2000);
    assert.equal(c.checkAndStore("x1999", 10_000), false, "a replay is still refused");
  });

  it("expired entries are still swept before anything is evicted", () => {
    const clock = { now: 1000 };
    const c = createReplayCache({ now: () => clock.now, maxEntries: 100 });
    for (let i = 0; i < 100; i++) c.checkAndStore(`k${i}`, 2000);
    clock.now = 3000;
    assert.equal(c.checkAndStore("new", 9000), true);
    assert.equal(c.size, 1);
    assert.equal(c.evicted, 0);
  });
});

describe("fuzz findings, kept as tests", () => {
  const home = tempHome("fuzz-findings");
  let dir: Directory;
  before(() => {
    dir = newDirectory(home.dir);
  });
  after(() => {
    dir?.close();
    home.cleanup();
  });

  describe("DC DNS: a question the DC cannot echo gets FORMERR, not a reply no client can parse", () => {
    const ask = (q: Buffer) => {
      const out = answerMessage(q, createDirectoryZone(dir, { kdcPort: 88 }), newDnsStats(), true);
      assert.ok(out, "an answer");
      return dnsPacket.decode(out) as dnsPacket.DecodedPacket & { rcode?: string }; // threw "Cannot decode name (bad label)" before the fix
    };

    it("dns seed 3 input 12134: a 50-byte label of bytes that are not UTF-8 (re-encoded as 150)", () => {
      const r = ask(
        queryWithLabels([Buffer.from("bigfirm"), Buffer.alloc(50, 0xc3).fill(0xff, 25)]),
      );
      assert.equal(r.rcode, "FORMERR");
      assert.equal(r.id, 0x1234);
    });

    it("dns seed 3 input 69411: a label holding '.' (an ip6.arpa name re-encoded with an empty label)", () => {
      const labels = ["1", "2", ".", "0", "ip6", "arpa"].map((l) => Buffer.from(l));
      assert.equal(ask(queryWithLabels(labels)).rcode, "FORMERR");
    });

    it("ordinary names are still answered", () => {
      const r = ask(
        queryWithLabels([Buffer.from("dc1"), Buffer.from("bigfirm"), Buffer.from("com")]),
      );
      assert.equal(r.rcode, "NOERROR");
      assert.equal((r.answers?.[0] as { data?: unknown } | undefined)?.data, "127.0.0.1");
    });
  });

  describe("DC admin operations: bad names and parameters are a DirectoryError (4xx), not a 500", () => {
    for (const op of ["__proto__", "constructor", "toString", "hasOwnProperty"]) {
      it(`api seed 3 input 148: POST /v1/admin/${op} is an unknown operation`, async () => {
        await assert.rejects(runOp(dir, "test", op, {}), (e: unknown) => {
          assert.ok(e instanceof DirectoryError);
          assert.equal(e.code, "dc.not-found");
          assert.match(e.message, /unknown operation/);
          return true;
        });
      });
    }

    for (const limit of [1.5, -1, "5", Number.MAX_VALUE]) {
      it(`api seed 3 input 41819: audit.list {"limit": ${JSON.stringify(limit)}} is refused in one line`, async () => {
        await assert.rejects(runOp(dir, "test", "audit.list", { limit }), (e: unknown) => {
          assert.ok(e instanceof DirectoryError);
          assert.match(e.message, /^audit\.list: limit must be a whole number/);
          return true;
        });
      });
    }

    it("api seed 1 input 900533: computer.reset-key with tokenTtlMs 1e20 is refused before the key is reset", async () => {
      await runOp(dir, "test", "computer.add", { name: "web1" });
      const before = (await runOp(dir, "test", "computer.show", { name: "web1" })) as {
        kvno: number;
      };
      await assert.rejects(
        runOp(dir, "test", "computer.reset-key", {
          name: "web1",
          joinToken: true,
          tokenTtlMs: 1e20,
        }),
        (e: unknown) => {
          assert.ok(e instanceof DirectoryError, String(e)); // was RangeError: Invalid time value (500)
          assert.match(e.message, /^tokenTtlMs must be a whole number of ms from 1 to/);
          return true;
        },
      );
      const after = (await runOp(dir, "test", "computer.show", { name: "web1" })) as {
        kvno: number;
      };
      assert.equal(after.kvno, before.kvno, "the key was not reset");
      const ok = (await runOp(dir, "test", "computer.reset-key", {
        name: "web1",
        joinToken: true,
        tokenTtlMs: 60_000,
      })) as { token?: string };
      assert.match(ok.token ?? "", /^pjt1\./);
    });

    it("audit.list with a whole limit still lists", async () => {
      assert.equal(((await runOp(dir, "test", "audit.list", { limit: 1 })) as unknown[]).length, 1);
      assert.equal(((await runOp(dir, "test", "audit.list", { limit: 0 })) as unknown[]).length, 0);
    });
  });
});
