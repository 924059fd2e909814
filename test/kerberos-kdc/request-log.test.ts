/**
 * The KDC's per-request log line against MIT's own: the same MIT client commands (kinit,
 * kvno, with the same krb5.conf enctypes) run against MIT's krb5kdc and against `postern dc
 * start --log-format json`; each request's line must match krb5kdc's field by field
 * (request type, requested etypes, address, status, client, service, message; for an issued
 * ticket the authtime and the reply/ticket/session etypes), once the realm and principal
 * names are mapped. The DC's stderr must be one JSON object per line, and the password must
 * appear nowhere in either log.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { tempHome } from "../helpers/cli.js";
import { cliInit, type DcProcess, PASSWORD, startDcProcess } from "../dc/helpers.js";
import { createMitRealm, ENCTYPES, haveMit, type MitRealm } from "../kerberos-codec/mit-realm.js";
import { requestLogLine } from "../../src/kerberos/kdc/request-log.js";

const ALICE_PW = "Alice-Passw0rd";

/** A request line of either KDC, in fields. */
interface Line {
  kind: string;
  etypes: string;
  from: string;
  status: string;
  rest: string;
}

const LINE = /^(AS_REQ|TGS_REQ) \((\d+ etypes? \{[^}]*\})\) (\S+): ([A-Z_]+): (.*)$/;

function fields(text: string): Line {
  const m = LINE.exec(text);
  assert.ok(m, `not a KDC request line: ${text}`);
  return {
    kind: m[1] as string,
    etypes: m[2] as string,
    from: m[3] as string,
    status: m[4] as string,
    rest: m[5] as string,
  };
}

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

/**
 * TCP only (udp_preference_limit 1): our AS-REP carries a PAC and outgrows UDP, which
 * would add a RESPONSE_TOO_BIG line that MIT's PAC-less replies never cause.
 */
const clientConf = (realm: string, kdc: string) =>
  `[libdefaults]\n default_realm = ${realm}\n dns_lookup_kdc = false\n rdns = false\n dns_canonicalize_hostname = false\n udp_preference_limit = 1\n permitted_enctypes = ${ENCTYPES}\n[realms]\n ${realm} = {\n  kdc = ${kdc}\n }\n`;

/** Request lines of a log, from the `seen`-th on, waiting (bounded) until at least `n` are there. */
async function newLines(read: () => string[], seen: number, n: number): Promise<string[]> {
  for (let i = 0; i < 100 && read().length < seen + n; i++)
    await new Promise((r) => setTimeout(r, 50));
  return read().slice(seen);
}

describe("the KDC logs each request as MIT's krb5kdc does", { skip: !haveMit() }, () => {
  const home = tempHome("pkdclog");
  let dc: DcProcess | undefined;
  let mit: MitRealm | undefined;
  let dcEnv: Record<string, string> = {};
  let mitEnv: Record<string, string> = {};

  /** The DC's stderr as JSON records (every line must parse). */
  const dcRecords = () =>
    (dc?.stderr() ?? "")
      .split("\n")
      .filter((l) => l !== "")
      .map((l) => JSON.parse(l) as { component: string; level: string; msg: string });
  const dcLines = () =>
    dcRecords()
      .filter((r) => r.component === "kdc" && LINE.test(r.msg))
      .map((r) => r.msg);
  const mitLines = () =>
    fs
      .readFileSync(path.join(mit?.dir as string, "kdc.log"), "utf8")
      .split("\n")
      .map((l) => /krb5kdc\[\d+\]\(info\): (.*)$/.exec(l)?.[1] ?? "")
      .filter((l) => LINE.test(l));

  before(async () => {
    mit = await createMitRealm("pkdclog");
    mit.ok("kadmin.local", ["-q", `addprinc -pw ${ALICE_PW} alice`]);
    mit.ok("kadmin.local", ["-q", "addprinc -randkey host/x.mit.test"]);
    await mit.startKdc();
    fs.writeFileSync(
      path.join(mit.dir, "client.conf"),
      clientConf("MIT.TEST", `127.0.0.1:${mit.port}`),
    );
    mitEnv = {
      KRB5_CONFIG: path.join(mit.dir, "client.conf"),
      KRB5CCNAME: `FILE:${path.join(mit.dir, "cc")}`,
    };
    await cliInit(home.dir);
    dc = await startDcProcess(home.dir, 0, 20_000, ["--log-format", "json"]);
    const started = dcRecords().find((r) => r.component === "kdc" && r.msg.startsWith("realm "));
    const port = /on 127\.0\.0\.1:(\d+) /.exec(started?.msg ?? "")?.[1];
    assert.ok(port, dc.stderr());
    const conf = path.join(home.dir, "krb5.conf");
    fs.writeFileSync(conf, clientConf("BIGFIRM.COM", `127.0.0.1:${port}`));
    dcEnv = { KRB5_CONFIG: conf, KRB5CCNAME: `FILE:${path.join(home.dir, "cc")}` };
  });
  after(async () => {
    await dc?.kill9();
    mit?.stop();
    home.cleanup();
  });

  /**
   * Runs one client action against both KDCs; their new request lines must be as many and
   * pairwise the same, names mapped; returns our lines.
   */
  async function same(
    action: (env: Record<string, string>, who: "mit" | "dc") => Promise<unknown>,
    n: number,
  ): Promise<Line[]> {
    const m0 = mitLines().length;
    const d0 = dcLines().length;
    await action(mitEnv, "mit");
    await action(dcEnv, "dc");
    const theirs = await newLines(mitLines, m0, n);
    const ours = await newLines(dcLines, d0, n);
    assert.equal(theirs.length, n, theirs.join("\n"));
    assert.equal(ours.length, n, ours.join("\n"));
    const map = (s: string) =>
      s
        .replaceAll("alice@MIT.TEST", "Administrator@BIGFIRM.COM")
        .replaceAll("host/x.mit.test", "host/dc1.bigfirm.com")
        .replaceAll("mit.test", "bigfirm.com")
        .replaceAll("MIT.TEST", "BIGFIRM.COM");
    return ours.map((o, i) => {
      const t = fields(map(theirs[i] as string));
      const f = fields(o);
      assert.equal(f.kind, t.kind, `${o}\n${theirs[i]}`);
      assert.equal(f.etypes, t.etypes, "the requested etypes, in MIT's words");
      assert.equal(f.from, "127.0.0.1");
      assert.equal(f.from, t.from);
      assert.equal(f.status, t.status, `${o}\n${theirs[i]}`);
      if (f.status === "ISSUE") {
        const issue =
          /^authtime (\d+), etypes \{rep=(\S+), tkt=(\S+), ses=(\S+)\}, (\S+) for (\S+)$/;
        const a = issue.exec(f.rest);
        const b = issue.exec(t.rest);
        assert.ok(a && b, `${o}\n${theirs[i]}`);
        assert.ok(Math.abs(Number(a[1]) - Date.now() / 1000) < 60, "authtime is now");
        // rep, tkt and ses etypes: the same names as MIT's for the same client request.
        assert.deepEqual(a.slice(2), b.slice(2), `${o}\n${theirs[i]}`);
      } else {
        assert.equal(f.rest, t.rest, `${o}\n${theirs[i]}`);
      }
      return f;
    });
  }

  it("kinit: NEEDED_PREAUTH then ISSUE of the TGT, with authtime and rep/tkt/ses etypes", async () => {
    const lines = await same(
      (env, who) =>
        who === "mit"
          ? run("kinit", ["alice"], env, `${ALICE_PW}\n`)
          : run("kinit", ["Administrator"], env, `${PASSWORD}\n`),
      2,
    );
    assert.deepEqual(
      lines.map((l) => l.status),
      ["NEEDED_PREAUTH", "ISSUE"],
    );
    assert.match(
      lines[1]?.rest as string,
      /, Administrator@BIGFIRM\.COM for krbtgt\/BIGFIRM\.COM@BIGFIRM\.COM$/,
    );
  });

  it("kvno: TGS ISSUE for the service; an unknown service: LOOKING_UP_SERVER", async () => {
    const ok = await same(
      (env, who) => run("kvno", [who === "mit" ? "host/x.mit.test" : "host/dc1.bigfirm.com"], env),
      1,
    );
    assert.equal(ok[0]?.kind, "TGS_REQ");
    assert.match(
      ok[0]?.rest as string,
      /Administrator@BIGFIRM\.COM for host\/dc1\.bigfirm\.com@BIGFIRM\.COM$/,
    );
    // kvno tries the name twice (with and without the realm's referral), as MIT shows.
    const missing = await same(
      (env, who) => run("kvno", [`host/nosuch.${who === "mit" ? "mit.test" : "bigfirm.com"}`], env),
      2,
    );
    assert.equal(missing[0]?.status, "LOOKING_UP_SERVER");
  });

  it("a wrong password (PREAUTH_FAILED), an unknown client (CLIENT_NOT_FOUND), an unknown service in the AS-REQ (SERVER_NOT_FOUND)", async () => {
    const cc = (env: Record<string, string>) => ({
      ...env,
      KRB5CCNAME: `FILE:${env.KRB5CCNAME?.slice(5)}-x`,
    });
    const user = (who: string) => (who === "mit" ? "alice" : "Administrator");
    const bad = await same((env, who) => run("kinit", [user(who)], cc(env), "Wrong-Passw0rd\n"), 2);
    assert.deepEqual(
      bad.map((l) => l.status),
      ["NEEDED_PREAUTH", "PREAUTH_FAILED"],
    );
    const nobody = await same((env) => run("kinit", ["nobody"], cc(env), "x\n"), 1);
    assert.equal(nobody[0]?.status, "CLIENT_NOT_FOUND");
    const nosvc = await same(
      (env, who) =>
        run(
          "kinit",
          ["-S", `host/nosuch.${who === "mit" ? "mit.test" : "bigfirm.com"}`, user(who)],
          cc(env),
          `${who === "mit" ? ALICE_PW : PASSWORD}\n`,
        ),
      1,
    );
    assert.equal(nosvc[0]?.status, "SERVER_NOT_FOUND");
  });

  it("levels: issued tickets and NEEDED_PREAUTH at info, refusals at notice; no password anywhere", () => {
    const kdc = dcRecords().filter((r) => r.component === "kdc" && LINE.test(r.msg));
    const levelOf = (status: string) =>
      new Set(kdc.filter((r) => fields(r.msg).status === status).map((r) => r.level));
    assert.deepEqual([...levelOf("ISSUE")], ["info"]);
    assert.deepEqual([...levelOf("NEEDED_PREAUTH")], ["info"]);
    assert.deepEqual([...levelOf("PREAUTH_FAILED")], ["notice"]);
    assert.deepEqual([...levelOf("CLIENT_NOT_FOUND")], ["notice"]);
    const all = dc?.stderr() ?? "";
    assert.ok(!all.includes(PASSWORD) && !all.includes("Wrong-Passw0rd"));
  });
});

describe("request-log lines from names a client chose", () => {
  it("control characters are escaped and long names bounded: one line, whatever the request held", () => {
    const l = requestLogLine(
      {
        request: "AS-REQ",
        errorCode: 6,
        facts: {
          etypes: [18, 99],
          client: "evil\nAS_REQ fake@R",
          service: `x/${"a".repeat(300)}@R`,
        },
      },
      "::ffff:10.0.0.5",
    );
    assert.ok(l);
    assert.ok(!l.line.includes("\n"));
    assert.match(
      l.line,
      /^AS_REQ \(2 etypes \{aes256-cts-hmac-sha1-96\(18\), UNSUPPORTED:\(99\)\}\) 10\.0\.0\.5: CLIENT_NOT_FOUND: evil\\x0aAS_REQ fake@R for x\/a+\.\.\., Client not found in Kerberos database$/,
    );
    assert.equal(l.level, "notice");
  });

  it("a retransmission is MIT's DISPATCH line; a replayed authenticator is a warning", () => {
    const again = requestLogLine({ request: "TGS-REQ", retransmit: true }, "10.0.0.5");
    assert.equal(
      again?.line,
      "DISPATCH: repeated (retransmitted?) request from 10.0.0.5, resending previous response",
    );
    const replay = requestLogLine(
      { request: "TGS-REQ", errorCode: 34, facts: { etypes: [18] } },
      "10.0.0.5",
    );
    assert.match(
      replay?.line ?? "",
      /: REPEAT: authtime 0, etypes \{rep=UNSUPPORTED:\(0\)\} <unknown client> for <unknown server>, Request is a replay$/,
    );
    assert.equal(replay?.level, "warning");
  });
});
