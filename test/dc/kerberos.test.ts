/**
 * The DC's Kerberos side with real processes: a `postern dc start` child on loopback, MIT
 * kinit/klist against its KDC, our client and acceptor.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { randomBytes } from "../../src/crypto/primitives.js";
import { requestBinding } from "../../src/dc/api/channel.js";
import { apiRequest, requestBody } from "../../src/member/api-client.js";
import { keytabWriter, machinePrincipal } from "../../src/member/machine-keys.js";
import { machineClient, machineTgt, negotiateHeader } from "../../src/member/machine-tgt.js";
import { acceptApReq, createReplayCache } from "../../src/kerberos/acceptor/index.js";
import { buildApReq } from "../../src/kerberos/client/index.js";
import { readKeytabFile } from "../../src/kerberos/files/keytab.js";
import { decodeTicket } from "../../src/kerberos/messages/index.js";
import { BIN, cli, tempHome } from "../helpers/cli.js";
import {
  adminNegotiate,
  apiTarget,
  cliInit,
  type DcProcess,
  PASSWORD,
  startDcProcess,
} from "./helpers.js";

export function run(
  cmd: string,
  args: string[],
  env: Record<string, string>,
  input?: string,
): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    const child = execFile(
      cmd,
      args,
      { encoding: "utf8", timeout: 15_000, env: { ...process.env, ...env } },
      (e, stdout, stderr) =>
        resolve({
          code: e ? Number((e as { code?: number }).code ?? 1) : 0,
          out: `${stdout}${stderr}`,
        }),
    );
    // A tool that exits before reading its stdin (kinit with a keytab, klist) makes the
    // write fail with EPIPE: the exit status and output above are what the test checks.
    child.stdin?.on("error", () => {});
    child.stdin?.end(input ?? "");
  });
}

/** The realm and KDC port from the DC's log line `kdc: realm R on 127.0.0.1:PORT`. */
export function kdcOf(dc: DcProcess): { realm: string; port: number } {
  const m = /kdc: realm (\S+) on 127\.0\.0\.1:(\d+)/.exec(dc.stderr());
  assert.ok(m, `no KDC line in the DC's log: ${dc.stderr()}`);
  return { realm: m[1] as string, port: Number(m[2]) };
}

export function writeKrb5Conf(file: string, realm: string, port: number): void {
  fs.writeFileSync(
    file,
    `[libdefaults]\n default_realm = ${realm}\n dns_lookup_kdc = false\n rdns = false\n dns_canonicalize_hostname = false\n[realms]\n ${realm} = {\n  kdc = 127.0.0.1:${port}\n }\n[domain_realm]\n .bigfirm.com = ${realm}\n`,
  );
}

describe("the DC's administrator keys (RFC 3962 string-to-key, AD salt REALM + Administrator)", () => {
  const dcHome = tempHome("pdk-admin");
  let dc: DcProcess | undefined;
  let conf = "";
  before(async () => {
    await cliInit(dcHome.dir);
    dc = await startDcProcess(dcHome.dir);
    const k = kdcOf(dc);
    conf = path.join(dcHome.dir, "krb5.conf");
    writeKrb5Conf(conf, k.realm, k.port);
  });
  after(async () => {
    await dc?.kill9();
    dcHome.cleanup();
  });

  it("MIT kinit Administrator@BIGFIRM.COM with the password from dc init; postern klist reads the cache", async () => {
    const cc = path.join(dcHome.dir, "admin.cc");
    const env = { KRB5_CONFIG: conf, KRB5CCNAME: `FILE:${cc}` };
    const r = await run("kinit", ["Administrator@BIGFIRM.COM"], env, `${PASSWORD}\n`);
    assert.equal(r.code, 0, r.out);
    const l = await run("klist", [], env);
    assert.match(l.out, /krbtgt\/BIGFIRM\.COM@BIGFIRM\.COM/);
    const ours = await run(process.execPath, [BIN, "klist"], env);
    assert.equal(ours.code, 0, ours.out);
    assert.match(ours.out, /Default principal: Administrator@BIGFIRM\.COM/);
    assert.match(ours.out, /krbtgt\/BIGFIRM\.COM@BIGFIRM\.COM/);
  });

  it("a wrong password is refused by the KDC (RFC 4120 §7.5.9 KDC_ERR_PREAUTH_FAILED)", async () => {
    const env = { KRB5_CONFIG: conf, KRB5CCNAME: `FILE:${path.join(dcHome.dir, "bad.cc")}` };
    const r = await run("kinit", ["Administrator@BIGFIRM.COM"], env, "Wrong-Passw0rd\n");
    assert.notEqual(r.code, 0);
    assert.match(r.out, /incorrect|Preauthentication failed/i);
  });

  it("domain admin set-password changes the keys: the new password works, the old one not", async () => {
    const pw = path.join(dcHome.dir, "new-pw.txt");
    fs.writeFileSync(pw, "Second-Passw0rd\n", { mode: 0o600 });
    const s = await cli(dcHome.dir, "domain", "admin", "set-password", "--password-file", pw);
    assert.equal(s.code, 0, s.err);
    const env = { KRB5_CONFIG: conf, KRB5CCNAME: `FILE:${path.join(dcHome.dir, "n.cc")}` };
    assert.equal(
      (await run("kinit", ["Administrator@BIGFIRM.COM"], env, "Second-Passw0rd\n")).code,
      0,
    );
    assert.notEqual(
      (await run("kinit", ["Administrator@BIGFIRM.COM"], env, `${PASSWORD}\n`)).code,
      0,
    );
  });
});

describe("joining with Kerberos: MIT keytab, machine TGT, nested groups in the PAC, Negotiate (RFC 4559)", () => {
  const dcHome = tempHome("pdk-dc");
  const member = tempHome("pdk-member");
  let dc: DcProcess | undefined;
  let conf = "";
  const sids: Record<string, string> = {};
  const keytab = () => path.join(member.dir, "agent", "krb5.keytab");
  const api = () => apiTarget(dcHome.dir, dc?.apiPort as number);
  before(async () => {
    await cliInit(dcHome.dir);
    dc = await startDcProcess(dcHome.dir);
    const k = kdcOf(dc);
    conf = path.join(dcHome.dir, "krb5.conf");
    writeKrb5Conf(conf, k.realm, k.port);
    for (const g of ["trusted", "outer"]) {
      const r = await cli(dcHome.dir, "--json", "domain", "group", "add", g);
      assert.equal(r.code, 0, r.err);
      sids[g] = JSON.parse(r.out).sid;
    }
    const add = await cli(
      dcHome.dir,
      "--json",
      "domain",
      "computer",
      "add",
      "xpclient",
      "--join-token",
    );
    assert.equal(add.code, 0, add.err);
    for (const [g, m] of [
      ["outer", "trusted"],
      ["trusted", "xpclient$"],
    ])
      assert.equal(
        (await cli(dcHome.dir, "domain", "group", "add-member", g as string, m as string)).code,
        0,
      );
    const j = await cli(
      member.dir,
      "join",
      "--domain",
      "bigfirm.com",
      "--dc",
      `127.0.0.1:${dc.apiPort}`,
      "--name",
      "xpclient",
      "--token",
      JSON.parse(add.out).token,
      "--address",
      "198.18.0.40",
    );
    assert.equal(j.code, 0, j.err);
    assert.equal(j.err, "");
  });
  after(async () => {
    await dc?.kill9();
    dcHome.cleanup();
    member.cleanup();
  });

  it("the keytab is MIT v2, mode 0600: MIT klist -k -e lists NAME$, host/NAME, host/fqdn x the 2 enctypes of AD's default 0x18", async () => {
    assert.equal(fs.statSync(keytab()).mode & 0o777, 0o600);
    const r = await run("klist", ["-k", "-e", keytab()], {});
    assert.equal(r.code, 0, r.out);
    for (const p of ["XPCLIENT$", "host/XPCLIENT", "host/xpclient.bigfirm.com"])
      for (const e of ["aes256-cts-hmac-sha1-96", "aes128-cts-hmac-sha1-96"])
        assert.match(
          r.out,
          new RegExp(`\\s2 ${p.replace(/\$/g, "\\$")}@BIGFIRM\\.COM \\(${e}\\)`),
          `${p} ${e}`,
        );
    assert.doesNotMatch(r.out, /sha384|sha256/, "RFC 8009 keys only when the account asks");
    assert.equal(fs.existsSync(path.join(member.dir, "agent", "machine-keys.json")), false);
  });

  it("the join left the machine's TGT in <home>/agent/krb5cc (0600); postern klist and MIT klist read it", async () => {
    const cc = path.join(member.dir, "agent", "krb5cc");
    assert.equal(fs.statSync(cc).mode & 0o777, 0o600);
    const ours = await cli(member.dir, "klist", "-c", cc);
    assert.equal(ours.code, 0, ours.err);
    assert.match(ours.out, /Default principal: XPCLIENT\$@BIGFIRM\.COM/);
    assert.match(ours.out, /krbtgt\/BIGFIRM\.COM@BIGFIRM\.COM/);
    assert.match((await run("klist", ["-c", cc], {})).out, /XPCLIENT\$@BIGFIRM\.COM/);
  });

  it("MIT kinit -k -t <keytab> XPCLIENT$@BIGFIRM.COM against the DC's KDC", async () => {
    const env = { KRB5_CONFIG: conf, KRB5CCNAME: `FILE:${path.join(member.dir, "mit.cc")}` };
    const r = await run("kinit", ["-k", "-t", keytab(), "XPCLIENT$@BIGFIRM.COM"], env);
    assert.equal(r.code, 0, r.out);
    assert.match((await run("klist", [], env)).out, /Default principal: XPCLIENT\$@BIGFIRM\.COM/);
  });

  it("the PAC of a service ticket for host/xpclient (our acceptor, the keytab) lists trusted and the group holding it (MS-PAC §2.5)", async () => {
    const id = keytabWriter.read(member.dir);
    assert.ok(id);
    const service = machinePrincipal("host/xpclient.bigfirm.com", "BIGFIRM.COM");
    const tgt = await machineTgt(member.dir, id);
    const t = await machineClient(id).getServiceTicket(tgt, service);
    const ap = buildApReq({
      ticket: decodeTicket(t.ticket),
      sessionKey: { keytype: t.key.keytype, keyvalue: t.key.keyvalue },
      client: machinePrincipal("XPCLIENT$", "BIGFIRM.COM"),
      nowMs: Date.now(),
      randomBytes,
    });
    const ctx = acceptApReq(
      {
        keytab: readKeytabFile(keytab()),
        now: Date.now,
        replayCache: createReplayCache({ now: Date.now }),
        service,
      },
      ap.bytes,
    );
    const groups = ctx.pac?.identity?.groupSids ?? [];
    assert.ok(groups.includes(sids.trusted as string), `trusted in ${groups}`);
    assert.ok(groups.includes(sids.outer as string), `outer (nested) in ${groups}`);
    assert.equal(ctx.pac?.identity?.userSid, id.sid);
  });

  it("gpupdate authenticates with Negotiate; the DC's AP-REP (mutual auth) is checked", async () => {
    const r = await cli(member.dir, "--json", "gpupdate");
    assert.equal(r.code, 0, r.err);
    assert.equal(JSON.parse(r.out).auth, "negotiate");
    assert.equal(r.err, "");
  });

  it("a tampered Negotiate token gets 401 and nothing changes", async () => {
    const id = keytabWriter.read(member.dir);
    assert.ok(id);
    const ctx = await negotiateHeader(member.dir, id);
    const token = Buffer.from(ctx.header.slice("Negotiate ".length), "base64");
    token[token.length - 5] = (token[token.length - 5] as number) ^ 0x01; // inside the authenticator's MAC
    const r = await apiRequest(api(), "POST", "/v1/leave", {}, undefined, {
      authorization: `Negotiate ${token.toString("base64")}`,
    });
    assert.equal(r.status, 401, JSON.stringify(r.body));
    assert.match(String(r.body.error), /Kerberos: .*(integrity|decrypt)/);
    const show = JSON.parse(
      (await cli(dcHome.dir, "--json", "domain", "computer", "show", "xpclient")).out,
    );
    assert.equal(show.enabled, true);
  });

  it("a ticket for another service (host/xpclient, not the DC) gets 401", async () => {
    const id = keytabWriter.read(member.dir);
    assert.ok(id);
    const ctx = await negotiateHeader(
      member.dir,
      id,
      machinePrincipal("host/xpclient.bigfirm.com", "BIGFIRM.COM"),
    );
    const r = await apiRequest(api(), "GET", "/v1/policy", undefined, undefined, {
      authorization: ctx.header,
    });
    assert.equal(r.status, 401);
    assert.match(String(r.body.error), /ticket is for host\/xpclient\.bigfirm\.com/);
  });

  it("the admin API: Administrator over Negotiate (bound to the request) is served; a machine is refused (403); nobody is 401", async () => {
    const k = kdcOf(dc as DcProcess);
    const req = { method: "POST", path: "/v1/admin/computer.list", body: {} };
    const header = await adminNegotiate(k.port, api(), req);
    const ok = await apiRequest(api(), "POST", req.path, {}, undefined, { authorization: header });
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    assert.match(JSON.stringify(ok.body.result), /XPCLIENT\$/);
    assert.equal(ok.body.v, 1);
    assert.match(ok.wwwAuthenticate ?? "", /^Negotiate [A-Za-z0-9+/=]+$/);
    const id = keytabWriter.read(member.dir);
    assert.ok(id);
    const bnd = requestBinding(api().fingerprint, "POST", req.path, requestBody({}));
    const m = await negotiateHeader(member.dir, id, undefined, bnd);
    const refused = await apiRequest(api(), "POST", req.path, {}, undefined, {
      authorization: m.header,
    });
    assert.equal(refused.status, 403);
    const anon = await apiRequest(api(), "POST", req.path, {});
    assert.equal(anon.status, 401);
  });

  it("interop: curl --negotiate over TLS (MIT GSS-API, SPNEGO NegTokenInit, RFC 4178): its token is read and verified, then refused: curl 7.88 binds it to no request", async () => {
    const cc = path.join(dcHome.dir, "curl-admin.cc");
    const env = { KRB5_CONFIG: conf, KRB5CCNAME: `FILE:${cc}` };
    assert.equal((await run("kinit", ["Administrator@BIGFIRM.COM"], env, `${PASSWORD}\n`)).code, 0);
    const port = dc?.apiPort as number;
    const r = await run(
      "curl",
      [
        "-sS",
        "-v",
        "--cacert",
        path.join(dcHome.dir, "dc", "api-cert.pem"),
        "--negotiate",
        "-u",
        ":",
        "--service-name",
        "host",
        "--resolve",
        `dc1.bigfirm.com:${port}:127.0.0.1`,
        "-X",
        "POST",
        "-H",
        "content-type: application/json",
        "-d",
        "{}",
        `https://dc1.bigfirm.com:${port}/v1/admin/computer.list`,
      ],
      env,
    );
    assert.match(r.out, /SSL certificate verify ok/);
    assert.match(r.out, /Authorization: Negotiate YII/);
    assert.match(r.out, /< HTTP\/1\.1 401/);
    assert.match(r.out, /carries no channel bindings/);
    assert.doesNotMatch(r.out, /"result"/);
  });

  it("leave removes the keytab, machine.json and the ticket cache", async () => {
    const r = await cli(member.dir, "leave");
    assert.equal(r.code, 0, r.err);
    for (const f of ["krb5.keytab", "krb5cc", "machine.json"])
      assert.equal(fs.existsSync(path.join(member.dir, "agent", f)), false, f);
  });
});
