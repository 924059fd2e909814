/**
 * The DC's Kerberos side with real processes: a `postern dc start` child on loopback, MIT
 * kinit/klist against its KDC, our client and acceptor.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { BIN, cli, tempHome } from "../helpers/cli.js";
import { cliInit, type DcProcess, PASSWORD, startDcProcess } from "./helpers.js";

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
    `[libdefaults]\n default_realm = ${realm}\n dns_lookup_kdc = false\n rdns = false\n[realms]\n ${realm} = {\n  kdc = 127.0.0.1:${port}\n }\n`,
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
