/**
 * Interop of the request binding (docs/security.md): MIT's own GSS-API initiator
 * (gss_init_sec_context through koffi, mit-gss-init.ts) given our channel bindings'
 * application data makes a token the DC accepts for that request and refuses for another,
 * so the DC hashes the bindings exactly as MIT krb5 does (RFC 4121 §4.1.1.2).
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { requestBindingData } from "../../src/dc/api/channel.js";
import { apiRequest, type ApiTarget, requestBody } from "../../src/member/api-client.js";
import { tempHome } from "../helpers/cli.js";
import {
  apiTarget,
  cliInit,
  type DcProcess,
  kdcPortOf,
  PASSWORD,
  startDcProcess,
} from "./helpers.js";

const INIT = path.resolve("dist/test/dc/mit-gss-init.js");

function run(cmd: string, args: string[], env: Record<string, string>, input = "") {
  return new Promise<{ code: number; out: string; err: string }>((resolve) => {
    const child = execFile(
      cmd,
      args,
      { encoding: "utf8", timeout: 15_000, env: { ...process.env, ...env } },
      (e, out, err) =>
        resolve({ code: e ? Number((e as { code?: number }).code ?? 1) : 0, out, err }),
    );
    child.stdin?.on("error", () => {});
    child.stdin?.end(input);
  });
}

describe("MIT GSS-API channel bindings against the DC's request binding", () => {
  const home = tempHome("pmitcb");
  let dc: DcProcess | undefined;
  let api: ApiTarget;
  let env: Record<string, string> = {};
  before(async () => {
    await cliInit(home.dir);
    dc = await startDcProcess(home.dir);
    api = apiTarget(home.dir, dc.apiPort);
    const conf = path.join(home.dir, "krb5.conf");
    fs.writeFileSync(
      conf,
      `[libdefaults]\n default_realm = BIGFIRM.COM\n dns_lookup_kdc = false\n rdns = false\n dns_canonicalize_hostname = false\n[realms]\n BIGFIRM.COM = {\n  kdc = 127.0.0.1:${kdcPortOf(dc)}\n }\n[domain_realm]\n .bigfirm.com = BIGFIRM.COM\n`,
    );
    env = { KRB5_CONFIG: conf, KRB5CCNAME: `FILE:${path.join(home.dir, "admin.cc")}` };
    const k = await run("kinit", ["Administrator@BIGFIRM.COM"], env, `${PASSWORD}\n`);
    assert.equal(k.code, 0, k.out + k.err);
  });
  after(async () => {
    await dc?.kill9();
    home.cleanup();
  });

  const mitToken = async (appData?: Buffer) => {
    const args = [INIT, "host@dc1.bigfirm.com", ...(appData ? [appData.toString("hex")] : [])];
    const r = await run(process.execPath, args, env);
    assert.equal(r.code, 0, r.err);
    return `Negotiate ${r.out.trim()}`;
  };

  it("bound by MIT to this request: served (200); the same token on another body: 401", async () => {
    const path_ = "/v1/admin/computer.list";
    const body = { limit: 5 };
    const data = requestBindingData(api.fingerprint, "POST", path_, requestBody(body));
    const authorization = await mitToken(data);
    const ok = await apiRequest(api, "POST", path_, body, undefined, { authorization });
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    assert.match(JSON.stringify(ok.body.result), /DC1\$/i);
    const other = await mitToken(data);
    const r = await apiRequest(api, "POST", path_, { limit: 6 }, undefined, {
      authorization: other,
    });
    assert.equal(r.status, 401);
    assert.match(String(r.body.error), /bound to another request/);
  });

  it("MIT with no channel bindings: 401, no channel bindings", async () => {
    const r = await apiRequest(api, "POST", "/v1/admin/computer.list", {}, undefined, {
      authorization: await mitToken(),
    });
    assert.equal(r.status, 401);
    assert.match(String(r.body.error), /no channel bindings/);
  });
});
