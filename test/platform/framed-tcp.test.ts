/**
 * src/platform/framed-tcp.ts on loopback with small limits: answers in request order,
 * backpressure against a client that never reads (the handler is not called without
 * bound, the write timeout cuts it), slow-drip and idle cuts, eviction of the
 * longest-waiting idle connection, the per-connection request rate and allowance.
 */
import assert from "node:assert/strict";
import * as net from "node:net";
import { describe, it } from "node:test";
import {
  createFramedTcpServer,
  type FramedTcpOptions,
  frameRecord,
  type TcpLimits,
} from "../../src/platform/framed-tcp.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const LIMITS: TcpLimits = {
  maxConnections: 16,
  maxConnectionsPerSource: 16,
  idleTimeoutMs: 2000,
  recordTimeoutMs: 2000,
  writeTimeoutMs: 2000,
  maxPendingWriteBytes: 64 * 1024,
  maxInFlight: 8,
  maxRecordsPerSecond: 1000,
  maxRecordsPerConnection: 10_000,
};

async function withServer(
  o: Partial<Omit<FramedTcpOptions, "limits">> & { limits?: Partial<TcpLimits> },
  body: (port: number, s: ReturnType<typeof createFramedTcpServer>) => Promise<void>,
): Promise<void> {
  const s = createFramedTcpServer({
    lengthBytes: 2,
    maxRecordBytes: 1024,
    onRecord: (m) => m,
    ...o,
    limits: { ...LIMITS, ...o.limits },
  });
  const port = await s.listen(0, "127.0.0.1");
  try {
    await body(port, s);
  } finally {
    await s.close();
  }
}

function connect(port: number, localAddress = "127.0.0.1"): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const c = net.connect({ port, host: "127.0.0.1", localAddress }, () => resolve(c));
    c.once("error", reject);
  });
}

/** Collects 2-byte-framed records from a socket; resolves on close. */
function collect(c: net.Socket): { records: Buffer[]; closed: Promise<number> } {
  const records: Buffer[] = [];
  let buf = Buffer.alloc(0);
  const t0 = Date.now();
  c.on("error", () => undefined);
  c.on("data", (d: Buffer) => {
    buf = Buffer.concat([buf, d]);
    while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
      records.push(buf.subarray(2, 2 + buf.readUInt16BE(0)));
      buf = buf.subarray(2 + buf.readUInt16BE(0));
    }
  });
  return { records, closed: new Promise((r) => c.on("close", () => r(Date.now() - t0))) };
}

describe("framed-tcp: a length-prefixed TCP server bad clients cannot starve", () => {
  it("answers go out in request order however long each takes", async () => {
    const delays = [60, 0, 30, 10];
    let i = 0;
    const onRecord = async (m: Uint8Array) => {
      await sleep(delays[i++ % delays.length] as number);
      return m;
    };
    await withServer({ onRecord }, async (port) => {
      const c = await connect(port);
      const got = collect(c);
      c.write(Buffer.concat([1, 2, 3, 4].map((n) => frameRecord(Buffer.from([n]), 2))));
      for (let t = 0; t < 50 && got.records.length < 4; t++) await sleep(20);
      assert.deepEqual(
        got.records.map((r) => r[0]),
        [1, 2, 3, 4],
      );
      c.destroy();
    });
  });

  it("a client that never reads: reading stops at the write limit, the handler runs a bounded number of times, the write timeout cuts it", async () => {
    let calls = 0;
    const big = new Uint8Array(60_000);
    await withServer(
      {
        onRecord: () => {
          calls++;
          return big;
        },
        limits: { writeTimeoutMs: 1000, maxPendingWriteBytes: 128 * 1024 },
      },
      async (port, s) => {
        const c = await connect(port);
        c.on("error", () => undefined);
        c.pause();
        const closed = new Promise<void>((r) => c.on("close", () => r()));
        // 20,000 requests (1.2 GB of answers if all were computed and queued).
        const req = frameRecord(Buffer.from([1]), 2);
        c.write(Buffer.concat(Array.from({ length: 20_000 }, () => req)));
        await sleep(2500);
        const n = s.counters();
        assert.ok(calls < 2000, `the handler ran ${calls} times`);
        assert.ok(n.paused >= 1, JSON.stringify(n));
        assert.equal(n.closed["write-timeout"], 1, JSON.stringify(n));
        c.destroy();
        await closed;
      },
    );
  });

  it("a record dripped a byte at a time is cut at recordTimeoutMs; a silent connection at idleTimeoutMs", async () => {
    await withServer({ limits: { recordTimeoutMs: 400, idleTimeoutMs: 300 } }, async (port, s) => {
      const drip = await connect(port);
      const dripped = collect(drip).closed;
      // The length (1,000) first, then the body, a byte every 100 ms.
      const record = frameRecord(Buffer.alloc(1000, 1), 2);
      let at = 0;
      const timer = setInterval(() => drip.write(record.subarray(at, ++at)), 100);
      const silent = await connect(port);
      const quiet = collect(silent).closed;
      const [dripMs, quietMs] = await Promise.all([dripped, quiet]);
      clearInterval(timer);
      assert.ok(dripMs >= 350 && dripMs < 1000, `drip cut after ${dripMs} ms`);
      assert.ok(quietMs >= 250 && quietMs < 1000, `silent cut after ${quietMs} ms`);
      const n = s.counters();
      assert.equal(n.closed["record-timeout"], 1, JSON.stringify(n));
      assert.equal(n.closed["idle-timeout"], 1, JSON.stringify(n));
    });
  });

  it("at the connection limits the longest-waiting idle connection makes room (in all, and per source)", async () => {
    await withServer(
      { limits: { maxConnections: 3, maxConnectionsPerSource: 2 } },
      async (port, s) => {
        const a = await connect(port, "127.0.0.2");
        const aClosed = collect(a).closed;
        await sleep(20);
        const b = await connect(port, "127.0.0.2");
        const bClosed = collect(b).closed;
        await sleep(20);
        const c = await connect(port, "127.0.0.2"); // same source: a goes
        await aClosed;
        const d = await connect(port, "127.0.0.3");
        await sleep(20);
        const e = await connect(port, "127.0.0.4"); // in all: b, the oldest, goes
        const got = collect(e);
        e.write(frameRecord(Buffer.from("hi"), 2));
        for (let t = 0; t < 50 && got.records.length < 1; t++) await sleep(20);
        assert.equal(got.records[0]?.toString(), "hi");
        assert.equal(s.counters().closed.evicted, 2, JSON.stringify(s.counters()));
        const bGone = await Promise.race([bClosed.then(() => true), sleep(1000).then(() => false)]);
        assert.ok(bGone, "b, the longest-waiting idle connection, was closed");
        for (const x of [b, c, d, e]) x.destroy();
      },
    );
  });

  it("a connection gets maxRecordsPerSecond answers a second and maxRecordsPerConnection in all, then closes", async () => {
    await withServer(
      { limits: { maxRecordsPerSecond: 10, maxRecordsPerConnection: 25 } },
      async (port, s) => {
        const c = await connect(port);
        const got = collect(c);
        const t0 = Date.now();
        c.write(
          Buffer.concat(Array.from({ length: 40 }, (_, i) => frameRecord(Buffer.from([i]), 2))),
        );
        await got.closed;
        const ms = Date.now() - t0;
        assert.equal(got.records.length, 25);
        assert.deepEqual(
          got.records.map((r) => r[0]),
          Array.from({ length: 25 }, (_, i) => i),
        );
        // 10 at once (the bucket), then 15 more at 10 a second.
        assert.ok(ms >= 1300 && ms < 3000, `25 answers took ${ms} ms`);
        assert.equal(s.counters().closed["request-limit"], 1);
      },
    );
  });

  it("a length above the limit gets the refusal message after the answers under way, then the connection ends", async () => {
    await withServer({ onRefused: (len) => Buffer.from(`too long: ${len}`) }, async (port, s) => {
      const c = await connect(port);
      const got = collect(c);
      const head = Buffer.alloc(2);
      head.writeUInt16BE(5000, 0);
      c.write(Buffer.concat([frameRecord(Buffer.from("ok"), 2), head]));
      await got.closed;
      assert.deepEqual(
        got.records.map((r) => r.toString()),
        ["ok", "too long: 5000"],
      );
      assert.equal(s.counters().closed["record-refused"], 1);
    });
  });
});
