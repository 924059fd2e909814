/**
 * `postern agent --metrics 127.0.0.1:9851` in a namespace pair: after a ping through an SA
 * negotiated on demand, a scrape inside the namespace shows the IKE SA by state and auth
 * method, the child SAs, ESP packets and bytes both ways, and the policy load; an agent
 * without --metrics serves nothing. The other agent runs with `--log-format json --verbose`:
 * its output parses line by line and holds the IKE exchanges at debug level.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { needsRoot } from "../helpers/cli.js";
import { ADDR_B, createLab, type Lab, p2pPolicy } from "../agent/lab.js";
import { ADDR_A } from "../agent/lab.js";

const SCRAPE = `require("node:http").get("http://127.0.0.1:9851/metrics", (r) => { let b = ""; r.on("data", (c) => { b += c; }); r.on("end", () => process.stdout.write(b)); }).on("error", (e) => { process.stderr.write(e.code + "\\n"); process.exit(3); });`;

function value(text: string, series: string): number | undefined {
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe("the agent's /metrics after traffic through an SA (two namespaces)", needsRoot(), () => {
  let lab: Lab;
  before(() => {
    lab = createLab("pmt");
  });
  after(() => lab?.destroy());

  it("IKE SA established (psk), child SAs, ESP packets and bytes, the policy load", async () => {
    const qm = "ESP[AES128GCM,None]";
    const homeA = await lab.home("a", p2pPolicy(ADDR_B, qm, "shared secret"));
    const homeB = await lab.home("b", p2pPolicy(ADDR_A, qm, "shared secret"));
    const a = await lab.startAgent(lab.nsA, homeA, ["--metrics", "127.0.0.1:9851"]);
    const b = await lab.startAgent(lab.nsB, homeB, ["--log-format", "json", "--verbose"]);
    try {
      const ping = lab.exec(lab.nsA, ["ping", "-c", "4", "-i", "0.3", "-W", "3", ADDR_B], 30_000);
      assert.match(ping.out, /[34] received/, ping.out + a.out());
      const r = lab.exec(lab.nsA, [process.execPath, "-e", SCRAPE], 10_000);
      assert.equal(r.code, 0, r.err);
      const text = r.out;
      assert.equal(value(text, 'postern_ike_sas{state="established",auth="psk"}'), 1, text);
      assert.equal(value(text, 'postern_child_sas{protocol="esp",direction="out"}'), 1);
      assert.equal(value(text, 'postern_child_sas{protocol="esp",direction="in"}'), 1);
      assert.ok(
        (value(text, 'postern_ipsec_packets_total{direction="out",protocol="esp"}') ?? 0) >= 4,
      );
      assert.ok(
        (value(text, 'postern_ipsec_packets_total{direction="in",protocol="esp"}') ?? 0) >= 3,
      );
      // four 84-byte echo requests at least (IPv4 header + ICMP + 56 bytes of data)
      assert.ok((value(text, 'postern_ipsec_bytes_total{direction="out"}') ?? 0) >= 4 * 84);
      assert.ok((value(text, 'postern_acquire_total{event="acquire_started"}') ?? 0) >= 1);
      assert.equal(value(text, 'postern_policy_loads_total{result="loaded"}'), 1);
      assert.equal(
        value(text, 'postern_datapath_drops_total{direction="in",reason="auth_failed"}'),
        undefined,
      );
      assert.match(a.out(), /metrics: serving http:\/\/127\.0\.0\.1:9851\/metrics/);
      // B runs without --metrics: nothing listens there.
      const none = lab.exec(lab.nsB, [process.execPath, "-e", SCRAPE], 10_000);
      assert.equal(none.code, 3);
      assert.match(none.err, /ECONNREFUSED/);
      // B runs with --log-format json --verbose: every line one JSON object, and the IKE
      // detail at debug level (the exchanges it answered, the proposal chosen), no secret.
      // (The pipes are read on the event loop, which the spawnSync calls above held.)
      for (let i = 0; i < 50 && !/IKE_AUTH response/.test(b.out()); i++)
        await new Promise((r) => setTimeout(r, 100));
      const records = b
        .out()
        .trim()
        .split("\n")
        .map(
          (l) =>
            JSON.parse(l) as {
              time: string;
              level: string;
              priority: number;
              component: string;
              msg: string;
            },
        );
      const debug = records.filter((r) => r.level === "debug").map((r) => r.msg);
      assert.ok(records.every((r) => r.component === "agent" && typeof r.time === "string"));
      assert.ok(
        debug.some((m) => /recv IKE_SA_INIT request 0 \[SA\[AES_/.test(m)),
        debug.join("\n"),
      );
      assert.ok(
        debug.some((m) =>
          /IKE SA [0-9a-f]{16}_[0-9a-f]{16} 192\.0\.2\.1: recv IKE_AUTH request 1 \[IDi .*AUTH SA\[/.test(
            m,
          ),
        ),
        debug.join("\n"),
      );
      assert.ok(
        debug.some((m) =>
          /established: proposal chosen AES_GCM_16_256\/PRF_HMAC_SHA2_384\//.test(m),
        ),
        debug.join("\n"),
      );
      // the answer's SA payload is the child proposal chosen (ESP AES-GCM-16 128)
      assert.ok(
        debug.some((m) => /send IKE_AUTH response 1 \[.*SA\[AES_GCM_16_128[^,\]]*\]/.test(m)),
        debug.join("\n"),
      );
      assert.ok(records.every((r) => r.priority === (r.level === "debug" ? 7 : r.priority)));
      assert.doesNotMatch(b.out(), /shared secret/);
      // A runs at the default level (info): no IKE message detail.
      assert.doesNotMatch(a.out(), /IKE_AUTH (request|response) \d/);
    } finally {
      assert.equal(await lab.stopAgent(a), 0);
      assert.equal(await lab.stopAgent(b), 0);
    }
  });
});
