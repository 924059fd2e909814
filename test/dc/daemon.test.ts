import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { signRequest } from "../../src/dc/api/machine-auth.js";
import { openSqlite } from "../../src/dc/sqlite.js";
import { apiRequest } from "../../src/member/api-client.js";
import { readKeytabFile } from "../../src/kerberos/files/keytab.js";
import { credentialOf, keytabWriter } from "../../src/member/machine-keys.js";
import { cli, runBin, tempHome } from "../helpers/cli.js";
import { apiTarget, cliInit, type DcProcess, freeFixedPort, startDcProcess } from "./helpers.js";

function dig(port: number, ...args: string[]): Promise<string> {
  return new Promise((resolve) => {
    execFile(
      "dig",
      ["@127.0.0.1", "-p", String(port), "+time=2", "+tries=1", "+short", ...args],
      { encoding: "utf8", timeout: 10_000 },
      (_e, out) => resolve(out.trim()),
    );
  });
}

describe("a real DC process: admin socket, join, DNS, policy, leave, SIGTERM, restart, backup", () => {
  const dcHome = tempHome("pdc-proc");
  const member = tempHome("pdc-member");
  const outsider = tempHome("pdc-outsider");
  let dc: DcProcess | undefined;
  let token = "";
  let apiPort = 0;
  before(async () => {
    await cliInit(dcHome.dir);
    apiPort = await freeFixedPort();
    dc = await startDcProcess(dcHome.dir, apiPort);
  });
  after(async () => {
    await dc?.kill9();
    dcHome.cleanup();
    member.cleanup();
    outsider.cleanup();
  });

  it("serves Kerberos from the directory: MIT kinit hears our KDC refuse an unknown name", async () => {
    const m = /kdc: realm (\S+) on 127\.0\.0\.1:(\d+)/.exec(dc?.stderr() ?? "");
    assert.ok(m, `no KDC line in the DC's log: ${dc?.stderr()}`);
    const [, realm, port] = m as unknown as [string, string, string];
    const conf = path.join(dcHome.dir, "krb5.conf");
    fs.writeFileSync(
      conf,
      `[libdefaults]\n default_realm = ${realm}\n dns_lookup_kdc = false\n[realms]\n ${realm} = {\n  kdc = 127.0.0.1:${port}\n }\n`,
    );
    const out = await new Promise<string>((resolve) => {
      const child = execFile(
        "kinit",
        [`nosuchhost$@${realm}`],
        { encoding: "utf8", timeout: 10_000, env: { ...process.env, KRB5_CONFIG: conf } },
        (_e, stdout, stderr) => resolve(`${stdout}${stderr}`),
      );
      child.stdin?.end("x\n");
    });
    assert.match(out, /not found in Kerberos database/);
  });

  it("makes the admin socket 0600", () => {
    const st = fs.statSync(path.join(dcHome.dir, "dc", "admin.sock"));
    assert.ok(st.isSocket());
    assert.equal(st.mode & 0o777, 0o600);
  });

  it("a second DC on the same home is refused with one line", () => {
    const r = runBin([
      "--home",
      dcHome.dir,
      "dc",
      "start",
      "--listen",
      "127.0.0.1",
      "--dns-port",
      "0",
      "--api-port",
      "0",
    ]);
    assert.equal(r.code, 1);
    assert.equal(r.err.trim(), `postern: a DC is already running on this home (pid ${dc?.pid})`);
  });

  it("admin commands go through the socket while the DC runs (the audit says so)", async () => {
    const r = await cli(
      dcHome.dir,
      "--json",
      "domain",
      "computer",
      "add",
      "xpclient",
      "--join-token",
    );
    assert.equal(r.code, 0, r.err);
    token = JSON.parse(r.out).token;
    assert.equal((await cli(dcHome.dir, "net", "group", "trusted", "/add", "/domain")).code, 0);
    assert.equal(
      (await cli(dcHome.dir, "net", "group", "trusted", "xpclient$", "/add", "/domain")).code,
      0,
    );
    const audit = JSON.parse((await cli(dcHome.dir, "--json", "domain", "audit")).out) as {
      actor: string;
      action: string;
    }[];
    assert.match(audit.at(-1)?.actor ?? "", /\(admin socket\)$/);
  });

  it("the API refuses unauthenticated callers (401) except the join endpoint", async () => {
    const target = apiTarget(dcHome.dir, dc?.apiPort as number);
    for (const [method, p] of [
      ["GET", "/v1/policy"],
      ["POST", "/v1/leave"],
      ["POST", "/v1/dns/update"],
      ["POST", "/v1/admin/computer.list"],
    ] as const) {
      const r = await apiRequest(target, method, p, undefined);
      assert.equal(r.status, 401, p);
      assert.match(r.wwwAuthenticate ?? "", /PosternMachine/);
    }
    const bad = await apiRequest(target, "GET", "/v1/policy", undefined, undefined, {
      authorization:
        'PosternMachine name="XPCLIENT$", kvno="1", ts="2020-01-01T00:00:00Z", nonce="x", mac="AAAA"',
    });
    assert.equal(bad.status, 401);
  });

  it("a bad token: one line, exit 1, nothing written, no account claimed", async () => {
    const r = await cli(
      outsider.dir,
      "join",
      "--domain",
      "bigfirm.com",
      "--dc",
      `127.0.0.1:${dc?.apiPort}`,
      "--name",
      "xpclient",
      "--token",
      // the secret altered; the DC's fingerprint at the end kept
      token.replace(
        /\.([^.]+)(\.[^.]+)$/,
        (_m, secret: string, fp: string) => `.${secret.slice(0, -3)}xyz${fp}`,
      ),
    );
    assert.equal(r.code, 1);
    assert.equal(r.err.trim(), "postern: join refused: join token rejected: unknown token");
    assert.equal(fs.existsSync(path.join(outsider.dir, "agent")), false);
    const show = JSON.parse(
      (await cli(dcHome.dir, "--json", "domain", "computer", "show", "xpclient")).out,
    );
    assert.equal(show.joinedAt, null);
  });

  it("join with the token: machine keys (0600), the host's A record, kvno 2", async () => {
    const r = await cli(
      member.dir,
      "join",
      "--domain",
      "bigfirm.com",
      "--dc",
      `127.0.0.1:${dc?.apiPort}`,
      "--name",
      "xpclient",
      "--token",
      token,
      "--address",
      "198.18.0.30",
    );
    assert.equal(r.code, 0, r.err);
    const file = path.join(member.dir, "agent", "krb5.keytab");
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
    const kt = readKeytabFile(file);
    assert.deepEqual(
      kt.entries
        .filter((e) => e.principal.name.nameString.join("/") === "XPCLIENT$")
        .map((e) => [e.key.keytype, e.kvno]),
      // AD's default for computers, msDS-SupportedEncryptionTypes 0x18: AES-SHA1 only
      [
        [17, 2],
        [18, 2],
      ],
    );
    assert.equal(await dig(dc?.dnsPort as number, "xpclient.bigfirm.com", "A"), "198.18.0.30");
  });

  it("the same token again is refused: one line, nothing changed", async () => {
    const before = (await cli(dcHome.dir, "--json", "domain", "computer", "show", "xpclient")).out;
    const r = await cli(
      outsider.dir,
      "join",
      "--domain",
      "bigfirm.com",
      "--dc",
      `127.0.0.1:${dc?.apiPort}`,
      "--name",
      "xpclient",
      "--token",
      token,
    );
    assert.equal(r.code, 1);
    assert.match(r.err, /^postern: join refused: join token rejected: already used at \S+\n$/);
    assert.equal(
      (await cli(dcHome.dir, "--json", "domain", "computer", "show", "xpclient")).out,
      before,
    );
  });

  it("the member fetches its effective policy over Negotiate (RFC 4559); unchanged is not re-sent", async () => {
    await cli(dcHome.dir, "domain", "gpo", "create", "Trusted Policy");
    await cli(dcHome.dir, "domain", "gpo", "link", "Trusted Policy", "trusted");
    const first = await cli(member.dir, "--json", "gpupdate");
    assert.equal(first.code, 0, first.err);
    const j = JSON.parse(first.out);
    assert.equal(j.changed, true);
    assert.equal(j.auth, "negotiate");
    assert.deepEqual(j.applied, ["Trusted Policy"]);
    const second = JSON.parse((await cli(member.dir, "--json", "gpupdate")).out);
    assert.equal(second.changed, false);
    // Windows' spelling: /force fetches again although the version held is current.
    const forced = await cli(member.dir, "--json", "gpupdate", "/force", "/target:computer");
    assert.equal(forced.code, 0, forced.err);
    assert.deepEqual(
      [JSON.parse(forced.out).changed, JSON.parse(forced.out).auth],
      [true, "negotiate"],
    );
    await cli(dcHome.dir, "domain", "group", "remove-member", "trusted", "xpclient$");
    const third = JSON.parse((await cli(member.dir, "--json", "gpupdate")).out);
    assert.equal(third.changed, true);
    assert.deepEqual(third.applied, []);
  });

  it("the machine updates its own A record with its join credential; a tampered request changes nothing", async () => {
    const id = keytabWriter.read(member.dir);
    assert.ok(id);
    const target = apiTarget(dcHome.dir, apiPort);
    const ok = await apiRequest(
      target,
      "POST",
      "/v1/dns/update",
      { address: "198.18.0.33" },
      credentialOf(id),
    );
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    assert.equal(await dig(dc?.dnsPort as number, "xpclient.bigfirm.com", "A"), "198.18.0.33");
    // Signed for one body, sent with another: the signature covers the body hash.
    const auth = signRequest(
      credentialOf(id),
      "POST",
      "/v1/dns/update",
      Buffer.from('{"address":"198.18.0.34"}'),
      new Date(),
    );
    const r = await apiRequest(
      target,
      "POST",
      "/v1/dns/update",
      { address: "203.0.113.66" },
      undefined,
      { authorization: auth },
    );
    assert.equal(r.status, 401);
    assert.match(String(r.body.error), /bad request signature/);
    const policy = signRequest(credentialOf(id), "GET", "/v1/policy", Buffer.alloc(0), new Date());
    const p = await apiRequest(target, "GET", "/v1/policy?x=1", undefined, undefined, {
      authorization: policy.replace(/mac="[^"]+"/, 'mac="AAAA"'),
    });
    assert.equal(p.status, 401);
    assert.equal(await dig(dc?.dnsPort as number, "xpclient.bigfirm.com", "A"), "198.18.0.33");
    const rfc2136 = await dig(dc?.dnsPort as number, "evil.bigfirm.com", "A");
    assert.equal(rfc2136, "");
    await apiRequest(
      target,
      "POST",
      "/v1/dns/update",
      { address: "198.18.0.30" },
      credentialOf(id),
    );
  });

  it("SIGTERM: clean exit 0, socket and pid file removed; a restart keeps everything", async () => {
    const beforeList = (await cli(dcHome.dir, "--json", "domain", "computer", "list")).out;
    assert.equal(await dc?.stop(), 0);
    assert.equal(fs.existsSync(path.join(dcHome.dir, "dc", "admin.sock")), false);
    assert.equal(fs.existsSync(path.join(dcHome.dir, "dc", "dc.pid")), false);
    assert.match(dc?.stderr() ?? "", /dc: stopped/);
    const direct = await cli(dcHome.dir, "--json", "domain", "computer", "list");
    assert.equal(direct.out, beforeList, "the direct path reads the same directory");
    dc = await startDcProcess(dcHome.dir, apiPort);
    assert.equal((await cli(dcHome.dir, "--json", "domain", "computer", "list")).out, beforeList);
    assert.equal(await dig(dc.dnsPort, "xpclient.bigfirm.com", "A"), "198.18.0.30");
  });

  it("online backup while running; restore refused while running, accepted when stopped", async () => {
    const file = path.join(dcHome.dir, "backup.db");
    const b = await cli(dcHome.dir, "dc", "backup", file);
    assert.equal(b.code, 0, b.err);
    assert.match(b.out, /online, from the running DC/);
    await cli(dcHome.dir, "domain", "group", "add", "after-backup");
    const refused = await cli(dcHome.dir, "dc", "restore", file);
    assert.equal(refused.code, 1);
    assert.match(refused.err, /the DC is running/);
    assert.equal(await dc?.stop(), 0);
    assert.equal((await cli(dcHome.dir, "dc", "restore", file)).code, 0);
    const groups = JSON.parse((await cli(dcHome.dir, "--json", "domain", "group", "list")).out) as {
      name: string;
    }[];
    assert.ok(groups.some((g) => g.name === "trusted"));
    assert.ok(!groups.some((g) => g.name === "after-backup"));
    const db = openSqlite(path.join(dcHome.dir, "dc", "directory.db"), { readonly: true });
    assert.equal(db.pragma("integrity_check", { simple: true }), "ok");
    db.close();
    const junk = path.join(dcHome.dir, "junk.db");
    fs.writeFileSync(junk, "not a database");
    const bad = await cli(dcHome.dir, "dc", "restore", junk);
    assert.equal(bad.code, 1);
    assert.equal(bad.err.trim().split("\n").length, 1);
  });

  it("leave: the DC disables the account and drops the DNS record; keys removed", async () => {
    dc = await startDcProcess(dcHome.dir, apiPort);
    const r = await cli(member.dir, "leave");
    assert.equal(r.code, 0, r.err);
    for (const f of ["krb5.keytab", "krb5cc", "machine.json"])
      assert.equal(fs.existsSync(path.join(member.dir, "agent", f)), false, f);
    assert.equal(await dig(dc.dnsPort, "xpclient.bigfirm.com", "A"), "");
    const show = JSON.parse(
      (await cli(dcHome.dir, "--json", "domain", "computer", "show", "xpclient")).out,
    );
    assert.equal(show.enabled, false);
  });
});
