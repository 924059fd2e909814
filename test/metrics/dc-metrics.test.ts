/**
 * `postern dc start --metrics 127.0.0.1:0` as a process: MIT's kinit and kvno against its
 * KDC, dig against its DNS and a request to its API, then /metrics must count each one
 * with the labels an operator would query (type, etype, error code, qtype, rcode, route,
 * status).
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as http from "node:http";
import * as https from "node:https";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { tempHome } from "../helpers/cli.js";
import { cliInit, type DcProcess, kdcPortOf, PASSWORD, startDcProcess } from "../dc/helpers.js";

function run(cmd: string, args: string[], env: Record<string, string>, input = "") {
  return new Promise<{ code: number; out: string }>((resolve) => {
    const child = execFile(
      cmd,
      args,
      { encoding: "utf8", timeout: 15_000, env: { ...process.env, ...env } },
      (e, stdout, stderr) =>
        resolve({ code: e ? Number((e as { code?: number }).code ?? 1) : 0, out: stdout + stderr }),
    );
    child.stdin?.on("error", () => {});
    child.stdin?.end(input);
  });
}

function scrape(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: "127.0.0.1", port, path: "/metrics" }, (res) => {
        let body = "";
        res.on("data", (c: Buffer) => {
          body += c.toString();
        });
        res.on("end", () => resolve(body));
      })
      .on("error", reject);
  });
}

/** The value of one series (`name{labels}`), or undefined when it is not exposed. */
function value(text: string, series: string): number | undefined {
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe("the DC's /metrics: KDC, DNS and API counted as MIT tools, dig and a client see them", () => {
  const home = tempHome("pmet-dc");
  let dc: DcProcess | undefined;
  let metricsPort = 0;
  let env: Record<string, string> = {};

  before(async () => {
    await cliInit(home.dir);
    dc = await startDcProcess(home.dir, 0, 20_000, ["--metrics", "127.0.0.1:0"]);
    const m = /metrics: serving http:\/\/127\.0\.0\.1:(\d+)\/metrics/.exec(dc.stderr());
    assert.ok(m, dc.stderr());
    metricsPort = Number(m[1]);
    const conf = path.join(home.dir, "krb5.conf");
    fs.writeFileSync(
      conf,
      `[libdefaults]\n default_realm = BIGFIRM.COM\n dns_lookup_kdc = false\n rdns = false\n dns_canonicalize_hostname = false\n[realms]\n BIGFIRM.COM = {\n  kdc = 127.0.0.1:${kdcPortOf(dc)}\n }\n`,
    );
    env = { KRB5_CONFIG: conf, KRB5CCNAME: `FILE:${path.join(home.dir, "cc")}` };
  });
  after(async () => {
    await dc?.kill9();
    home.cleanup();
  });

  it("AS and TGS exchanges by type and ticket etype, a bad password by its error name", async () => {
    const before = await scrape(metricsPort);
    assert.equal(value(before, 'postern_kdc_requests_total{type="AS-REQ"}'), undefined);
    assert.equal((await run("kinit", ["Administrator"], env, `${PASSWORD}\n`)).code, 0);
    const kvno = await run("kvno", ["host/dc1.bigfirm.com"], env);
    assert.equal(kvno.code, 0, kvno.out);
    const bad = await run(
      "kinit",
      ["Administrator"],
      { ...env, KRB5CCNAME: `FILE:${home.dir}/x` },
      "Wrong-Passw0rd\n",
    );
    assert.notEqual(bad.code, 0);
    const text = await scrape(metricsPort);
    // kinit: an AS-REQ without pre-authentication (PREAUTH_REQUIRED), then one with it.
    assert.ok((value(text, 'postern_kdc_requests_total{type="AS-REQ"}') ?? 0) >= 3, text);
    assert.equal(value(text, 'postern_kdc_requests_total{type="TGS-REQ"}'), 1);
    const asTickets = text
      .split("\n")
      .filter((l) => l.startsWith('postern_kdc_tickets_total{type="AS-REQ",etype="'));
    assert.equal(asTickets.length, 1, text);
    assert.match(asTickets[0] as string, /etype="(17|18|19|20)"\} 1$/);
    assert.ok(text.includes('postern_kdc_tickets_total{type="TGS-REQ",etype="'), text);
    assert.equal(value(text, 'postern_kdc_errors_total{code="KDC_ERR_PREAUTH_FAILED"}'), 1);
    assert.ok((value(text, 'postern_kdc_errors_total{code="KDC_ERR_PREAUTH_REQUIRED"}') ?? 0) >= 2);
  });

  it("DNS queries by type and rcode (dig)", async () => {
    const dnsPort = String(dc?.dnsPort);
    const srv = await run(
      "dig",
      ["+short", "-p", dnsPort, "@127.0.0.1", "SRV", "_kerberos._udp.bigfirm.com"],
      {},
    );
    assert.match(srv.out, /dc1\.bigfirm\.com/);
    await run("dig", ["+short", "-p", dnsPort, "@127.0.0.1", "A", "nosuch.bigfirm.com"], {});
    const text = await scrape(metricsPort);
    assert.equal(value(text, 'postern_dns_queries_total{qtype="SRV",rcode="NOERROR"}'), 1);
    assert.equal(value(text, 'postern_dns_queries_total{qtype="A",rcode="NXDOMAIN"}'), 1);
  });

  it("API requests by route and status; unknown paths are one 'other' label (401: authentication comes first)", async () => {
    const ask = (p: string) =>
      new Promise<number>((resolve, reject) => {
        https
          .get(
            { host: "127.0.0.1", port: dc?.apiPort, path: p, rejectUnauthorized: false },
            (res) => {
              res.resume();
              res.on("end", () => resolve(res.statusCode ?? 0));
            },
          )
          .on("error", reject);
      });
    assert.equal(await ask("/v1/policy"), 401);
    await ask("/no/such/route/1");
    await ask("/no/such/route/2");
    const text = await scrape(metricsPort);
    assert.equal(value(text, 'postern_api_requests_total{route="/v1/policy",status="401"}'), 1);
    assert.ok(
      (value(text, 'postern_api_requests_total{route="other",status="401"}') ?? 0) >= 2,
      text,
    );
    assert.ok(!text.includes("/no/such"), "request paths never become labels");
    assert.equal(value(text, 'postern_directory_objects{kind="computer"}'), 1);
  });
});
