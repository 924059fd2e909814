/**
 * The metrics core: snapshot-driven counters and gauges in Prometheus' text format, label
 * sets that vanish with their source, --metrics parsing, and the /metrics server's answers.
 */
import assert from "node:assert/strict";
import * as http from "node:http";
import { describe, it } from "node:test";
import { byLabel, countBy, createMetrics } from "../../src/metrics/registry.js";
import { parseMetricsListen, startMetricsServer } from "../../src/metrics/server.js";

interface Snap {
  drops: Record<string, number>;
  sas: { state: string }[];
}

function source(snap: { current: Snap }) {
  return createMetrics(
    () => snap.current,
    [
      {
        name: "t_drops_total",
        help: "drops by reason",
        type: "counter",
        labelNames: ["reason"],
        read: (s) => byLabel("reason", s.drops),
      },
      {
        name: "t_sas",
        help: "SAs by state",
        type: "gauge",
        labelNames: ["state"],
        read: (s) => countBy(s.sas, (x) => ({ state: x.state })),
      },
    ],
  );
}

function get(
  port: number,
  path: string,
  method = "GET",
): Promise<{ status: number; body: string; type: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: "127.0.0.1", port, path, method }, (res) => {
      let body = "";
      res.on("data", (c: Buffer) => {
        body += c.toString();
      });
      res.on("end", () =>
        resolve({ status: res.statusCode ?? 0, body, type: String(res.headers["content-type"]) }),
      );
    });
    req.on("error", reject);
    req.end();
  });
}

describe("metrics registry", () => {
  it("renders counters and gauges from the snapshot of each scrape; vanished label sets go", async () => {
    const snap: { current: Snap } = {
      current: {
        drops: { replay: 3, malformed: 0 },
        sas: [{ state: "established" }, { state: "established" }, { state: "connecting" }],
      },
    };
    const m = source(snap);
    const text = await m.render();
    assert.match(text, /^# HELP t_drops_total drops by reason$/m);
    assert.match(text, /^# TYPE t_drops_total counter$/m);
    assert.match(text, /^t_drops_total\{reason="replay"\} 3$/m);
    assert.match(text, /^t_sas\{state="established"\} 2$/m);
    assert.match(text, /^t_sas\{state="connecting"\} 1$/m);
    snap.current = { drops: { replay: 5 }, sas: [{ state: "established" }] };
    const next = await m.render();
    assert.match(next, /^t_drops_total\{reason="replay"\} 5$/m);
    assert.doesNotMatch(next, /connecting/, "a state with no SA left is not shown");
  });

  it("--metrics HOST:PORT, [V6]:PORT and :PORT; anything else is one line naming the option", () => {
    assert.deepEqual(parseMetricsListen("127.0.0.1:9851"), { host: "127.0.0.1", port: 9851 });
    assert.deepEqual(parseMetricsListen("[::1]:9851"), { host: "::1", port: 9851 });
    assert.deepEqual(parseMetricsListen(":9000"), { host: "127.0.0.1", port: 9000 });
    for (const bad of ["9851", "localhost", "1.2.3.4:99999", "1.2.3.4:x", ""])
      assert.throws(() => parseMetricsListen(bad), /--metrics needs HOST:PORT/);
  });

  it("the server answers GET and HEAD of /metrics, 404 elsewhere, 405 for other methods", async () => {
    const lines: string[] = [];
    const server = await startMetricsServer(
      { host: "127.0.0.1", port: 0 },
      source({ current: { drops: { replay: 1 }, sas: [] } }),
      (l) => lines.push(l),
    );
    try {
      const ok = await get(server.port, "/metrics");
      assert.equal(ok.status, 200);
      assert.match(ok.type, /^text\/plain; version=0\.0\.4/);
      assert.match(ok.body, /^t_drops_total\{reason="replay"\} 1$/m);
      assert.equal((await get(server.port, "/metrics", "HEAD")).body, "");
      assert.equal((await get(server.port, "/")).status, 404);
      assert.equal((await get(server.port, "/metrics", "POST")).status, 405);
      assert.match(lines.join("\n"), /metrics: serving http:\/\/127\.0\.0\.1:\d+\/metrics/);
    } finally {
      await server.close();
    }
  });

  it("a source that fails gives 503 and one log line, and the next scrape works", async () => {
    let fail = true;
    const m = createMetrics(() => {
      if (fail) throw new Error("agent not running");
      return { n: 1 };
    }, [{ name: "t_up", help: "up", type: "gauge", read: (s: { n: number }) => [[{}, s.n]] }]);
    const lines: string[] = [];
    const server = await startMetricsServer({ host: "127.0.0.1", port: 0 }, m, (l) =>
      lines.push(l),
    );
    try {
      assert.equal((await get(server.port, "/metrics")).status, 503);
      assert.ok(lines.includes("metrics: cannot collect: agent not running"), lines.join("\n"));
      fail = false;
      assert.match((await get(server.port, "/metrics")).body, /^t_up 1$/m);
    } finally {
      await server.close();
    }
  });
});
