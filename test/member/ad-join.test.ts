/**
 * `postern join --ad`, `join --keytab` and `leave` against a real Samba 4.17 AD DC in a
 * namespace of its own (the CLI runs inside it, DCs found through Samba's DNS SRV records):
 *   1. join by password: the account has what adcli gives it (UAC 4096, dNSHostName, SPNs,
 *      enctypes 24), the keytab (0600) holds AES keys MIT's kinit accepts, machine.json has
 *      kind "ad" and no key;
 *   2. bad password, unknown domain, unreachable DC: one line, exit 1, nothing written;
 *      --dc NAME resolved through the domain's DNS servers, a stopped one first;
 *   3. a half-made account (samba-tool's: disabled, no password, no SPN) is fixed by a join;
 *      a rejoin reuses the account (same SID, next kvno);
 *   4. join --keytab adopts a samba-tool keytab; another host's keytab is one line;
 *   5. leave deletes the account, or disables it with --disable;
 *   6. `netsh firewall set bypass group="JOINT\trusted"` stores the SID read over LDAP.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { BIN, uniqueName } from "../helpers/cli.js";
import {
  adJoinArgs,
  adminPasswordFile,
  provisionSambaDc,
  type SambaDc,
  stopSambaInNetns,
  SAMBA_SKIP,
} from "../helpers/samba.js";

const SKIP = SAMBA_SKIP;
const PASSWORD = "Join-Adm1n-Passw0rd";
const DC_IP = "10.78.1.1";
/** A DNS server address of the namespace with nothing listening (named before DC_IP). */
const STOPPED_DNS = "10.78.1.2";
const DOMAIN = "join.test";
const REALM = "JOIN.TEST";

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}) {
  return spawnSync(cmd, args, {
    encoding: "utf8",
    timeout: 90_000,
    env: { ...process.env, ...env },
  });
}
function must(cmd: string, args: string[]): string {
  const r = run(cmd, args);
  if (r.status !== 0)
    throw new Error(`${cmd} ${args.join(" ")} failed (${r.status}): ${r.stderr}${r.stdout}`);
  return r.stdout;
}

describe("join an Active Directory (Samba AD): by password, by keytab, leave", {
  skip: SKIP,
}, () => {
  let dir = "";
  let ns = "";
  let dc: SambaDc | undefined;
  let pwFile = "";
  const ldb = (filter: string, ...attrs: string[]) =>
    must("ldbsearch", ["-H", path.join(dir, "dc", "private", "sam.ldb"), filter, ...attrs]);
  const postern = (home: string, ...args: string[]) =>
    run("ip", ["netns", "exec", ns, process.execPath, BIN, "--home", home, ...args]);
  const home = () => fs.mkdtempSync(path.join(dir, "home-"));
  const joinAd = (h: string, name: string, extra: string[] = []) =>
    postern(
      h,
      ...adJoinArgs({ domain: DOMAIN, dnsServer: DC_IP, name, passwordFile: pwFile, extra }),
    );
  const oneLine = (r: ReturnType<typeof run>, re: RegExp) => {
    assert.equal(r.status, 1, r.stdout + r.stderr);
    assert.match(r.stderr, re);
    assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
    assert.doesNotMatch(r.stderr, /\n\s+at /);
  };
  const nothingWritten = (h: string) =>
    assert.deepEqual(
      ["krb5.keytab", "machine.json", "krb5cc"].filter((f) =>
        fs.existsSync(path.join(h, "agent", f)),
      ),
      [],
    );

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "padjoin-"));
    ns = uniqueName("padj");
    must("ip", ["netns", "add", ns]);
    must("ip", ["-n", ns, "link", "set", "lo", "up"]);
    must("ip", ["-n", ns, "link", "add", "djoin0", "type", "veth", "peer", "name", "djoin1"]);
    must("ip", ["-n", ns, "link", "set", "djoin1", "up"]);
    must("ip", ["-n", ns, "addr", "add", `${DC_IP}/24`, "dev", "djoin0"]);
    must("ip", ["-n", ns, "link", "set", "djoin0", "up"]);
    fs.mkdirSync(path.join(dir, "dc"));
    dc = provisionSambaDc({
      dir: path.join(dir, "dc"),
      ns,
      realm: REALM,
      domain: "JOINT",
      hostName: "dc1",
      adminPassword: PASSWORD,
      iface: "djoin0",
      ip: DC_IP,
    });
    await dc.waitReady();
    pwFile = adminPasswordFile(dir, PASSWORD);
  });

  after(() => {
    dc?.stop();
    stopSambaInNetns(path.join(dir, "dc"), ns, undefined);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("join --ad by password: the account as adcli makes it, a keytab MIT kinit accepts", () => {
    const h = home();
    const r = joinAd(h, "ws1");
    assert.equal(r.status, 0, r.stderr);
    assert.match(
      r.stdout,
      /^joined join\.test \(Active Directory, DC dc1\.join\.test\) as WS1\$ \(S-1-5-21-[\d-]+\), kvno 1/,
    );
    const acct = ldb(
      "(sAMAccountName=WS1$)",
      "userAccountControl",
      "dNSHostName",
      "servicePrincipalName",
      "msDS-SupportedEncryptionTypes",
    );
    assert.match(acct, /dn: CN=WS1,CN=Computers,DC=join,DC=test/);
    assert.match(acct, /userAccountControl: 4096\n/);
    assert.match(acct, /dNSHostName: ws1\.join\.test/);
    assert.match(acct, /servicePrincipalName: host\/WS1\n/);
    assert.match(acct, /servicePrincipalName: host\/ws1\.join\.test/);
    assert.match(acct, /msDS-SupportedEncryptionTypes: 24/);
    const kt = path.join(h, "agent", "krb5.keytab");
    assert.equal(fs.statSync(kt).mode & 0o777, 0o600);
    const info = JSON.parse(fs.readFileSync(path.join(h, "agent", "machine.json"), "utf8"));
    assert.equal(info.kind, "ad");
    assert.equal(info.keys, undefined);
    assert.equal(info.dc.hostName, "dc1.join.test");
    // the DNS servers asked and the DCs found (here one and the same), for the agent
    assert.deepEqual(info.dc.dnsServers, [DC_IP]);
    // MIT's kinit, with its own krb5.conf, gets a TGT from Samba with our keytab
    const conf = path.join(dir, "krb5.conf");
    fs.writeFileSync(
      conf,
      `[libdefaults]\n default_realm = ${REALM}\n dns_lookup_kdc = false\n udp_preference_limit = 1\n[realms]\n ${REALM} = {\n  kdc = ${DC_IP}\n }\n`,
    );
    const env = { KRB5_CONFIG: conf, KRB5CCNAME: `FILE:${path.join(dir, "mit.cc")}` };
    const k = run("ip", ["netns", "exec", ns, "kinit", "-k", "-t", kt, `WS1$@${REALM}`], env);
    assert.equal(k.status, 0, k.stderr);
    const list = run("klist", ["-e"], env);
    assert.match(list.stdout, /krbtgt\/JOIN\.TEST@JOIN\.TEST/);
    assert.match(list.stdout, /aes256-cts-hmac-sha1-96/);
  });

  it("a bad password, an unknown domain, an unreachable DC: one line each, nothing written", () => {
    const h = home();
    const bad = path.join(dir, "bad.pw");
    fs.writeFileSync(bad, "not-the-password\n", { mode: 0o600 });
    oneLine(
      postern(
        h,
        "join",
        "--ad",
        "--domain",
        DOMAIN,
        "--dns-server",
        DC_IP,
        "--name",
        "ws2",
        "--user",
        "Administrator",
        "--password-file",
        bad,
      ),
      /PREAUTH_FAILED.*wrong password/,
    );
    nothingWritten(h);
    assert.doesNotMatch(ldb("(sAMAccountName=WS2$)"), /dn: /);
    oneLine(
      postern(
        h,
        "join",
        "--ad",
        "--domain",
        "nowhere.test",
        "--dns-server",
        DC_IP,
        "--name",
        "ws2",
        "--user",
        "Administrator",
        "--password-file",
        pwFile,
      ),
      /no DC of nowhere\.test in DNS/,
    );
    oneLine(joinAd(h, "ws2", ["--dc", "10.78.1.9"]), /the DC 10\.78\.1\.9 does not answer LDAP/);
    nothingWritten(h);
  });

  it("join --ad --dc NAME: the name from the domain's DNS (--dns-server, repeated, a stopped one first), not the host's resolver; an unknown name is one line", () => {
    // an address of the namespace where no DNS server listens: refused at once, next asked
    must("ip", ["-n", ns, "addr", "add", `${STOPPED_DNS}/24`, "dev", "djoin0"]);
    const h = home();
    const r = postern(
      h,
      "join",
      "--ad",
      "--domain",
      DOMAIN,
      "--dns-server",
      STOPPED_DNS,
      "--dns-server",
      DC_IP,
      "--dc",
      "dc1",
      "--name",
      "ws8",
      "--user",
      "Administrator",
      "--password-file",
      pwFile,
    );
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^joined join\.test \(Active Directory, DC dc1\.join\.test\) as WS8\$/);
    const info = JSON.parse(fs.readFileSync(path.join(h, "agent", "machine.json"), "utf8"));
    assert.equal(info.dc.host, DC_IP);
    assert.deepEqual(info.dc.dnsServers, [STOPPED_DNS, DC_IP]);
    const h2 = home();
    oneLine(
      joinAd(h2, "ws9", ["--dc", "nosuchdc"]),
      /^postern: the DC nosuchdc\.join\.test has no address in join\.test's DNS \(asked 10\.78\.1\.1\)$/m,
    );
    nothingWritten(h2);
    assert.doesNotMatch(ldb("(sAMAccountName=WS9$)"), /dn: /);
  });

  it("a clock two hours off the DC's (faketime): one line naming the skew, nothing written, no account", {
    skip: fs.existsSync("/usr/bin/faketime") ? false : "skipped: needs faketime (scripts/setup.sh)",
  }, () => {
    const h = home();
    const r = run("ip", [
      "netns",
      "exec",
      ns,
      "faketime",
      "-f",
      "+2h",
      process.execPath,
      BIN,
      "--home",
      h,
      "join",
      "--ad",
      "--domain",
      DOMAIN,
      "--dns-server",
      DC_IP,
      "--name",
      "ws3",
      "--user",
      "Administrator",
      "--password-file",
      pwFile,
    ]);
    oneLine(r, /this host's clock is -(71\d\d|72\d\d) s off the DC's \(Kerberos allows 300 s\)/);
    nothingWritten(h);
    assert.doesNotMatch(ldb("(sAMAccountName=WS3$)"), /dn: /);
  });

  it("a half-made account (disabled, no password, no SPN) is fixed by join; a rejoin reuses it", () => {
    dc!.tool("computer", "create", "WS5");
    assert.match(ldb("(sAMAccountName=WS5$)", "userAccountControl"), /userAccountControl: 4098\n/);
    const h = home();
    const first = joinAd(h, "ws5");
    assert.equal(first.status, 0, first.stderr);
    const sid = /\((S-1-5-21-[\d-]+)\)/.exec(first.stdout)?.[1];
    assert.ok(sid);
    assert.match(ldb("(sAMAccountName=WS5$)", "userAccountControl"), /userAccountControl: 4096\n/);
    assert.equal(postern(h, "leave", "--local-only").status, 0);
    const again = joinAd(h, "ws5");
    assert.equal(again.status, 0, again.stderr);
    assert.ok(again.stdout.includes(`(${sid})`), "the same account");
    const kv = (s: string) => Number(/kvno (\d+)/.exec(s)?.[1]);
    assert.equal(kv(again.stdout), kv(first.stdout) + 1);
    assert.match(
      postern(h, "klist", "-c", path.join(h, "agent", "krb5cc")).stdout,
      /krbtgt\/JOIN\.TEST/,
    );
  });

  it('netsh firewall set bypass group="JOINT\\trusted" stores the group\'s SID read over LDAP', () => {
    dc!.tool("group", "add", "trusted");
    const want = /objectSid: (S-1-5-21-[\d-]+)/.exec(
      ldb("(sAMAccountName=trusted)", "objectSid"),
    )?.[1];
    assert.ok(want);
    const h = home();
    assert.equal(joinAd(h, "ws8").status, 0);
    const set = postern(h, "netsh", "firewall", "set", "bypass", "group=JOINT\\trusted");
    assert.equal(set.status, 0, set.stderr);
    const show = postern(h, "netsh", "firewall", "show", "bypass");
    assert.ok(show.stdout.includes(`O:DAG:DAD:(A;;RCGW;;;${want})`), show.stdout);
    oneLine(
      postern(h, "netsh", "firewall", "set", "bypass", "group=nosuch"),
      /no group or computer 'nosuch' in join\.test/,
    );
    oneLine(
      postern(h, "netsh", "firewall", "set", "bypass", "group=OTHER\\trusted"),
      /OTHER is not this machine's domain/,
    );
    assert.ok(
      postern(h, "netsh", "firewall", "show", "bypass").stdout.includes(want),
      "list unchanged",
    );
  });

  it("join --keytab adopts a samba-tool keytab; another host's keytab is one line", () => {
    dc!.tool("computer", "create", "WS3");
    dc!.tool("user", "setpassword", "WS3$", "--random-password");
    dc!.tool("user", "enable", "WS3$");
    const kt = path.join(dir, "ws3.keytab");
    dc!.tool("domain", "exportkeytab", kt, "--principal=WS3$");
    const other = home();
    oneLine(
      postern(
        other,
        "join",
        "--keytab",
        kt,
        "--domain",
        DOMAIN,
        "--dns-server",
        DC_IP,
        "--name",
        "ws4",
      ),
      /holds keys of WS3\$, not of this host \(WS4\$\)/,
    );
    nothingWritten(other);
    const h = home();
    const r = postern(
      h,
      "join",
      "--keytab",
      kt,
      "--domain",
      DOMAIN,
      "--dns-server",
      DC_IP,
      "--name",
      "ws3",
    );
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /as WS3\$ \(S-1-5-21-[\d-]+\), kvno \d+, keys copied from/);
    const info = JSON.parse(fs.readFileSync(path.join(h, "agent", "machine.json"), "utf8"));
    assert.equal(info.sam, "WS3$");
    assert.equal(info.kind, "ad");
  });

  it("leave deletes the account (or disables it with --disable) and the local files", () => {
    const h = home();
    assert.equal(joinAd(h, "ws6").status, 0);
    const del = postern(h, "leave", "--user", "Administrator", "--password-file", pwFile);
    assert.equal(del.status, 0, del.stderr);
    assert.match(del.stdout, /WS6\$ deleted from the directory/);
    assert.doesNotMatch(ldb("(sAMAccountName=WS6$)"), /dn: /);
    nothingWritten(h);
    const h2 = home();
    assert.equal(joinAd(h2, "ws7").status, 0);
    const dis = postern(
      h2,
      "leave",
      "--user",
      "Administrator",
      "--password-file",
      pwFile,
      "--disable",
    );
    assert.equal(dis.status, 0, dis.stderr);
    assert.match(ldb("(sAMAccountName=WS7$)", "userAccountControl"), /userAccountControl: 4098/);
    nothingWritten(h2);
  });
});
