/**
 * Samba 4.17 AD DC interop (see /work/shared/reference/interop-notes.md, Samba facts):
 * a DC provisioned in a temporary directory and run inside a network namespace of its
 * own; a computer account WS1$ (enabled, password set, SPN, msDS-SupportedEncryptionTypes
 * = 24) in a group PosternBypass; its keytab exported by `samba-tool domain exportkeytab`.
 *   1. our client (CLI, in the namespace) logs in as WS1$ with that keytab, the AS-REP
 *      coming over TCP after KRB_ERR_RESPONSE_TOO_BIG, and gets host/svc1 ticket;
 *   2. our acceptor, with SVC1$'s exported keys, reads WS1$'s SIDs from Samba's PAC,
 *      PosternBypass included, server and KDC (krbtgt) signatures verified;
 *   3. a group added later shows up after a new login.
 * Processes are stopped by pid and the namespace removed in after().
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { randomBytes } from "../../src/crypto/primitives.js";
import { acceptApReq, createReplayCache } from "../../src/kerberos/acceptor/index.js";
import { buildApReq } from "../../src/kerberos/client/index.js";
import { readCcacheFile } from "../../src/kerberos/files/ccache.js";
import { type Keytab, readKeytabFile } from "../../src/kerberos/files/keytab.js";
import { decodeTicket } from "../../src/kerberos/messages/index.js";
import { NAME_TYPE, parsePrincipal } from "../../src/kerberos/principal.js";
import { BIN, uniqueName } from "../helpers/cli.js";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const SKIP = SAMBA_SKIP;

function run(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv } = {}): string {
  const r = spawnSync(cmd, args, {
    encoding: "utf8",
    timeout: 60_000,
    env: { ...process.env, ...opts.env },
  });
  if (r.status !== 0)
    throw new Error(`${cmd} ${args.join(" ")} failed (${r.status}): ${r.stderr}${r.stdout}`);
  return r.stdout;
}

const SET_ENCTYPES = `
import sys, ldb
from samba.samdb import SamDB
from samba.param import LoadParm
from samba.auth import system_session
lp = LoadParm(); lp.load(sys.argv[1])
db = SamDB(url=lp.samdb_url(), session_info=system_session(), lp=lp)
for name in sys.argv[2:]:
    res = db.search(base=db.domain_dn(), expression="(sAMAccountName=%s)" % name, attrs=["dn"])
    m = ldb.Message(); m.dn = res[0].dn
    m["e"] = ldb.MessageElement("24", ldb.FLAG_MOD_REPLACE, "msDS-SupportedEncryptionTypes")
    db.modify(m)
`;
import { stopSambaInNetns, SAMBA_SKIP } from "../helpers/samba.js";

describe("Samba AD DC: machine login with a samba-tool keytab, groups from the PAC", {
  skip: SKIP,
}, () => {
  let dir = "";
  let ns = "";
  let samba: ChildProcess | undefined;
  let conf = "";
  let env: NodeJS.ProcessEnv = {};
  const tool = (...args: string[]) => run("samba-tool", [...args, "-s", conf]);
  const inNs = (args: string[], extra: NodeJS.ProcessEnv = {}) =>
    run("ip", [
      "netns",
      "exec",
      ns,
      "env",
      ...Object.entries({ ...env, ...extra }).map(([k, v]) => `${k}=${v}`),
      ...args,
    ]);
  const sidOf = (kind: "group" | "computer", name: string) => {
    const m = /objectSid: (S-[0-9-]+)/.exec(tool(kind, "show", name));
    assert.ok(m, `no objectSid for ${name}`);
    return m[1]!;
  };

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "pkl-samba-"));
    run("samba-tool", [
      "domain",
      "provision",
      "--realm=SAMBA.TEST",
      "--domain=SAMBA",
      "--server-role=dc",
      "--dns-backend=SAMBA_INTERNAL",
      `--targetdir=${dir}`,
      "--host-name=dc1",
      "--adminpass=Adm1n-Passw0rd!x",
      "--option=interfaces=lo",
      "--option=bind interfaces only=yes",
    ]);
    conf = path.join(dir, "etc", "smb.conf");
    const run_ = path.join(dir, "run");
    fs.mkdirSync(run_);
    const text = fs
      .readFileSync(conf, "utf8")
      .replace(/^\s*dns forwarder = .*\n/m, "")
      .replace(/log file = .*/, `log file = ${dir}/log.%m`)
      .replace(
        "[global]\n",
        `[global]\n\tpid directory = ${run_}\n\tncalrpc dir = ${run_}/ncalrpc\n\twinbindd socket directory = ${run_}/winbindd\n\tserver services = kdc ldap\n`,
      );
    fs.writeFileSync(conf, text);
    ns = uniqueName("pkl");
    run("ip", ["netns", "add", ns]);
    run("ip", ["-n", ns, "link", "set", "lo", "up"]);
    samba = spawn("ip", ["netns", "exec", ns, "samba", "-s", conf, "-F"], { stdio: "ignore" });
    let up = false;
    for (let i = 0; i < 120 && !up; i++) {
      const r = spawnSync("ip", [
        "netns",
        "exec",
        ns,
        "bash",
        "-c",
        "exec 3<>/dev/tcp/127.0.0.1/88",
      ]);
      up = r.status === 0;
      if (!up) await new Promise((r2) => setTimeout(r2, 250));
    }
    assert.ok(up, "Samba's KDC did not listen on 127.0.0.1:88 within 30 s");
    for (const name of ["WS1", "SVC1"]) {
      tool("computer", "create", name);
      tool("user", "setpassword", `${name}$`, `--newpassword=${name}-Passw0rd!x`);
      tool("user", "enable", `${name}$`);
      tool("spn", "add", `host/${name.toLowerCase()}.samba.test`, `${name}$`);
    }
    run("/usr/bin/python3", ["-c", SET_ENCTYPES, conf, "WS1$", "SVC1$"]);
    tool("group", "add", "PosternBypass");
    tool("group", "addmembers", "PosternBypass", "WS1$");
    tool("domain", "exportkeytab", path.join(dir, "ws1.keytab"), "--principal=WS1$");
    tool("domain", "exportkeytab", path.join(dir, "svc1.keytab"), "--principal=SVC1$");
    tool("domain", "exportkeytab", path.join(dir, "krbtgt.keytab"), "--principal=krbtgt");
    fs.writeFileSync(
      path.join(dir, "krb5.conf"),
      "[libdefaults]\n default_realm = SAMBA.TEST\n[realms]\n SAMBA.TEST = {\n  kdc = 127.0.0.1:88\n }\n",
    );
    env = {
      KRB5_CONFIG: path.join(dir, "krb5.conf"),
      KRB5CCNAME: `FILE:${path.join(dir, "ws1.cc")}`,
    };
  });

  after(() => stopSambaInNetns(dir, ns, samba));

  /** SVC1$'s keys under the SPN the client asked for (as ktpass maps them on Windows). */
  function serviceKeytab(): Keytab {
    const svc = parsePrincipal("host/svc1.samba.test@SAMBA.TEST", undefined, NAME_TYPE.NT_SRV_HST);
    return {
      entries: readKeytabFile(path.join(dir, "svc1.keytab")).entries.map((e) => ({
        ...e,
        principal: svc,
      })),
    };
  }

  function acceptFromCache() {
    const cc = readCcacheFile(env.KRB5CCNAME!);
    const cred = cc.credentials.find(
      (c) => c.server.name.nameString.join("/") === "host/svc1.samba.test",
    );
    assert.ok(cred, "service ticket in the cache");
    const built = buildApReq({
      ticket: decodeTicket(cred.ticket),
      sessionKey: cred.key,
      client: cred.client,
      nowMs: Date.now(),
      randomBytes,
      mutualRequired: true,
    });
    const krbtgt = readKeytabFile(path.join(dir, "krbtgt.keytab")).entries.find(
      (e) => e.key.keytype === 18,
    )!;
    return acceptApReq(
      {
        keytab: serviceKeytab(),
        now: () => Date.now(),
        replayCache: createReplayCache({ now: () => Date.now() }),
        kdcKey: { etype: 18, key: krbtgt.key.keyvalue },
      },
      built.bytes,
    );
  }

  it("our client logs in as WS1$ with samba-tool's keytab (AES; AS-REP over TCP after error 52)", () => {
    const out = inNs([
      process.execPath,
      path.join(HERE, "samba-login.js"),
      env.KRB5_CONFIG!,
      path.join(dir, "ws1.keytab"),
      "WS1$",
    ]);
    const r = JSON.parse(out) as { protos: string[]; clientEtype: number };
    assert.equal(r.clientEtype, 18);
    // one AS-REQ, pre-authenticated with the keytab's key: error 52 over UDP, then TCP
    assert.deepEqual(r.protos, ["udp", "tcp"]);
    inNs([process.execPath, BIN, "kinit", "-k", "-t", path.join(dir, "ws1.keytab"), "WS1$"]);
    const kvno = inNs([process.execPath, BIN, "kvno", "host/svc1.samba.test"]);
    assert.equal(kvno.trim(), "host/svc1.samba.test@SAMBA.TEST: kvno = 2");
    const klist = run(process.execPath, [BIN, "klist", "-e"], { env });
    assert.match(klist, /Default principal: WS1\$@SAMBA\.TEST/);
    assert.match(
      klist,
      /host\/svc1\.samba\.test@SAMBA\.TEST\n.*Etype \(skey, tkt\): aes256-cts-hmac-sha1-96, aes256-cts-hmac-sha1-96/,
    );
  });

  it("one AS-REQ with the salt of the last login; a stale salt falls back to Samba's ETYPE-INFO2", () => {
    const login = (stale?: string) =>
      JSON.parse(
        inNs([
          process.execPath,
          path.join(HERE, "samba-login.js"),
          env.KRB5_CONFIG!,
          "password:WS1-Passw0rd!x",
          "WS1$",
          ...(stale ? [stale] : []),
        ]),
      ) as { logins: { messages: number; clientEtype: number }[] };
    // first login: PREAUTH_REQUIRED, then the timestamp; the second: the timestamp at once
    assert.deepEqual(
      login().logins.map((l) => [l.messages, l.clientEtype]),
      [
        [2, 18],
        [1, 18],
      ],
    );
    // a salt of another name: Samba refuses the timestamp, the client asks again
    assert.deepEqual(
      login("SAMBA.TESThostold.samba.test").logins.map((l) => [l.messages, l.clientEtype]),
      [
        [3, 18],
        [1, 18],
      ],
    );
  });

  it("MS-PAC: our acceptor reads WS1$'s groups from Samba's PAC, PosternBypass included", () => {
    const acc = acceptFromCache();
    assert.equal(acc.client.name.nameString[0], "WS1$");
    assert.equal(acc.pac?.verified.server, true);
    assert.equal(acc.pac?.verified.kdc, true);
    assert.deepEqual(acc.pac?.verified, {
      server: true,
      kdc: true,
      extendedKdc: true,
      ticket: true,
    });
    const id = acc.pac?.identity;
    assert.ok(id, "Samba's PAC has LOGON_INFO");
    assert.equal(id.userSid, sidOf("computer", "WS1"));
    assert.ok(id.groupSids.includes(`${id.domainSid}-515`), "Domain Computers");
    assert.ok(id.groupSids.includes(sidOf("group", "PosternBypass")), id.groupSids.join(" "));
    assert.equal(id.clientInfo?.name, "WS1$");
  });

  it("a group added later appears after a new login (groups travel in the ticket)", () => {
    tool("group", "add", "PosternLater");
    tool("group", "addmembers", "PosternLater", "WS1$");
    const later = sidOf("group", "PosternLater");
    assert.ok(
      !acceptFromCache().pac?.identity?.groupSids.includes(later),
      "old ticket keeps old groups",
    );
    inNs([process.execPath, BIN, "kinit", "-k", "-t", path.join(dir, "ws1.keytab"), "WS1$"]);
    inNs([process.execPath, BIN, "kvno", "host/svc1.samba.test"]);
    assert.ok(acceptFromCache().pac?.identity?.groupSids.includes(later));
  });
});
