/**
 * Which GPOs apply to an AD member, against a real Samba 4.17 AD DC: the member (joined with
 * `postern join --ad`) runs `postern gpresult` as itself (its keytab's TGT, sealed LDAP).
 * Two GPOs are linked to the domain; one is security-filtered (Apply Group Policy taken
 * from Authenticated Users, given to the group "IPsec Hosts"):
 *   - the member is in no such group: the GPO is shown filtered out with the reason;
 *   - the member joins "IPsec Servers", which samba-tool makes a member of "IPsec Hosts"
 *     (nested): the GPO applies, after the one linked before it;
 *   - a deny ACE for "IPsec Servers" filters it out again, naming the group;
 *   - `postern gpupdate` (as the machine) applies the IPsec policy assigned in the applied
 *     GPO and its Registry.pol firewall settings, not the filtered GPO's; unchanged is not
 *     applied again, /force is. Samba's IP Security objects are unreadable to the machine
 *     until Authenticated Users get an inheritable read on the container: one note, then
 *     `samba-tool dsacl set` makes it work;
 *   - merge as Windows: an opening a GPO stops setting returns to the local one, and the
 *     local assigned IPsec policy comes back when no GPO assigns one;
 *   - gpresult names the winning GPO (name, GUID) or "local" of each setting, link order
 *     deciding between two GPOs;
 *   - the agent (`--gp-refresh 0.05:0.02`) applies a GPO change by itself, one line logged,
 *     the firewall swapped in one nft generation (`nft monitor`).
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { BIN } from "../helpers/cli.js";
import {
  adJoinArgs,
  adminPasswordFile,
  SAMBA_SKIP,
  type SambaInNamespace,
  sambaInNamespace,
} from "../helpers/samba.js";

const PASSWORD = "Sc0pe-Adm1n-Pass";
const DC_IP = "10.78.4.1";
const DOMAIN = "scope.test";
const DOMAIN_DN = "DC=scope,DC=test";
const APPLY = "edacfd8f-ffb3-11d1-b41d-00a0c968f939";
const DEFAULT_DOMAIN_POLICY = "31b2f340-016d-11d2-945f-00c04fb984f9";

type Source = { source: "gpo" | "local"; gpo?: { name: string; guid: string } };
interface Winners {
  lastApplied: string | null;
  ipsec: { policy: string | null } & Source;
  firewall: ({ setting: string; value: unknown } & Source)[];
}

/** Rewrites a GPO's DACL: argv = sam.ldb conf, GPO DN, ACEs to drop, ACEs to add (SDDL). */
const SET_DACL = `
import sys
from samba.samdb import SamDB
from samba.param import LoadParm
from samba.auth import system_session
from samba.ndr import ndr_unpack
from samba.dcerpc import security
import ldb
lp = LoadParm(); lp.load(sys.argv[1])
db = SamDB(url=lp.samdb_url(), session_info=system_session(), lp=lp)
dn = sys.argv[2]
res = db.search(base=dn, scope=ldb.SCOPE_BASE, attrs=["nTSecurityDescriptor"])
sd = ndr_unpack(security.descriptor, res[0]["nTSecurityDescriptor"][0])
sddl = sd.as_sddl(security.dom_sid(db.get_domain_sid()))
for ace in sys.argv[3].split("|"):
    if ace:
        assert ace in sddl, (ace, sddl)
        sddl = sddl.replace(ace, "")
i = sddl.index("D:") + 2
while sddl[i] != "(": i += 1
sddl = sddl[:i] + sys.argv[4] + sddl[i:]
m = ldb.Message(); m.dn = ldb.Dn(db, dn)
new = security.descriptor.from_sddl(sddl, security.dom_sid(db.get_domain_sid()))
from samba.ndr import ndr_pack
m["nTSecurityDescriptor"] = ldb.MessageElement(ndr_pack(new), ldb.FLAG_MOD_REPLACE, "nTSecurityDescriptor")
db.modify(m, controls=["sd_flags:1:4"])
print(sddl)
`;

describe("gpresult on an AD member: links and security filtering (Samba AD)", {
  skip: SAMBA_SKIP,
}, () => {
  let samba: SambaInNamespace | undefined;
  let home = "";
  const gpo = { base: "", filtered: "" };
  let adminCc = "";

  const run = (cmd: string, args: string[], env: NodeJS.ProcessEnv = {}, input?: string) => {
    const e = { ...process.env, ...env };
    if (!env.KRB5CCNAME) delete e.KRB5CCNAME;
    return spawnSync("ip", ["netns", "exec", samba?.ns ?? "", cmd, ...args], {
      encoding: "utf8",
      timeout: 120_000,
      env: e,
      input,
    });
  };
  const must = (cmd: string, args: string[], env: NodeJS.ProcessEnv = {}, input?: string) => {
    const r = run(cmd, args, env, input);
    if (r.status !== 0)
      throw new Error(`${cmd} ${args.join(" ")} failed (${r.status}): ${r.stderr}${r.stdout}`);
    return r.stdout;
  };
  const tool = (...args: string[]) => samba?.dc.tool(...args) ?? "";
  const admin = () => [
    "-H",
    `ldap://${DC_IP}`,
    "-s",
    samba?.dc.conf ?? "",
    "-U",
    `SCOPE\\Administrator%${PASSWORD}`,
  ];
  /** The CLI as the domain administrator (its MIT ccache), for the GPOs' contents. */
  const asAdmin = (...args: string[]) =>
    must(process.execPath, [BIN, "--home", home, ...args], { KRB5CCNAME: adminCc });
  const gpupdate = (...args: string[]) =>
    JSON.parse(
      must(process.execPath, [BIN, "--home", home, "--json", "gpupdate", ...args]).trim(),
    ) as {
      changed: boolean;
      applied: string[];
      ipsec?: string | null;
      firewall?: string;
      firewallFrom?: string | null;
    };
  /** The CLI as this host's own administrator (local settings, no domain credentials). */
  const local = (...args: string[]) => must(process.execPath, [BIN, "--home", home, ...args]);
  const showConfig = () =>
    JSON.parse(local("--json", "netsh", "firewall", "show", "config")) as {
      profiles: Record<
        "domain" | "standard",
        {
          enabled: boolean;
          exceptions: boolean;
          portOpenings: { port: number; name: string; scope: string }[];
        }
      >;
    };
  const fw = (gpoName: string, ...a: string[]) =>
    asAdmin("netsh", "firewall", ...a, "store=domain", `gponame=${gpoName}`);
  const gpresult = (...args: string[]) =>
    must(process.execPath, [BIN, "--home", home, "gpresult", ...args]);
  const json = () =>
    JSON.parse(gpresult("--json").trim() || "{}") as {
      applied: { name: string }[];
      filtered: { name: string; reason: string; detail?: string }[];
      securityGroups: string[];
      settings: Winners;
    };
  const setDacl = (guid: string, drop: string[], add: string) =>
    must("/usr/bin/python3", [
      "-c",
      SET_DACL,
      samba?.dc.conf ?? "",
      `CN={${guid}},CN=Policies,CN=System,${DOMAIN_DN}`,
      drop.join("|"),
      add,
    ]);
  const groupSid = (name: string) =>
    /^objectSid: (S-[0-9-]+)$/m.exec(tool("group", "show", name))?.[1] ?? "";

  before(async () => {
    samba = sambaInNamespace("gps", {
      realm: DOMAIN.toUpperCase(),
      domain: "SCOPE",
      adminPassword: PASSWORD,
      ip: DC_IP,
      services: ["kdc", "ldap", "dns", "cldap", "rpc", "s3fs", "winbindd"],
    });
    await samba.dc.waitReady(120_000);
    for (const [k, name] of [
      ["base", "Lab Base"],
      ["filtered", "Lab Filtered"],
    ] as const) {
      const out = must("samba-tool", ["gpo", "create", name, ...admin()]);
      gpo[k] = /\{([0-9A-F-]{36})\}/i.exec(out)?.[1]?.toLowerCase() ?? "";
      must("samba-tool", ["gpo", "setlink", DOMAIN_DN, `{${gpo[k].toUpperCase()}}`, ...admin()]);
    }
    tool("group", "add", "IPsec Hosts");
    tool("group", "add", "IPsec Servers");
    tool("group", "addmembers", "IPsec Hosts", "IPsec Servers");
    // security filtering as the Group Policy Management Console does it
    setDacl(
      gpo.filtered,
      [`(OA;CI;CR;${APPLY};;AU)`],
      `(OA;CI;CR;${APPLY};;${groupSid("IPsec Hosts")})`,
    );
    const krb5 = path.join(samba.dir, "client-krb5.conf");
    fs.writeFileSync(
      krb5,
      `[libdefaults]\n default_realm = SCOPE.TEST\n dns_lookup_kdc = false\n rdns = false\n[realms]\n SCOPE.TEST = {\n  kdc = ${DC_IP}\n }\n`,
    );
    adminCc = path.join(samba.dir, "admin.cc");
    must(
      "kinit",
      ["-c", adminCc, "Administrator@SCOPE.TEST"],
      { KRB5_CONFIG: krb5 },
      `${PASSWORD}\n`,
    );
    home = fs.mkdtempSync(path.join(samba.dir, "home-"));
    const passwordFile = adminPasswordFile(samba.dir, PASSWORD);
    must(process.execPath, [
      BIN,
      "--home",
      home,
      ...adJoinArgs({ domain: DOMAIN, dnsServer: DC_IP, name: "ws1", passwordFile }),
    ]);
  });

  after(() => samba?.cleanup());

  it("a GPO filtered to a group the member is not in is shown filtered out, with the reason", () => {
    const text = gpresult();
    assert.match(text, /^Computer: CN=WS1,CN=Computers,DC=scope,DC=test$/im);
    const r = json();
    // samba-tool gpo setlink puts a new link first in gPLink, as the GPMC gives it the
    // highest link order: it applies first, and the Default Domain Policy (link order 1) last.
    assert.deepEqual(
      r.applied.map((g) => g.name),
      ["Lab Base", "Default Domain Policy"],
    );
    assert.deepEqual(
      r.filtered.find((g) => g.name === "Lab Filtered"),
      {
        guid: gpo.filtered,
        name: "Lab Filtered",
        som: DOMAIN_DN,
        reason: "denied by security filtering",
        detail: "no Apply Group Policy for the computer or its groups",
      },
    );
    assert.match(
      text,
      /Lab Filtered {4}linked at DC=scope,DC=test\n {8}Filtering: {2}denied by security filtering/,
    );
  });

  it("once the member is in a nested member group of the filter's group, the GPO applies, in link order (the newest link first)", () => {
    tool("group", "addmembers", "IPsec Servers", "WS1$");
    const r = json();
    assert.ok(r.securityGroups.includes(groupSid("IPsec Hosts")), "nested group in tokenGroups");
    assert.deepEqual(
      r.applied.map((g) => g.name),
      ["Lab Filtered", "Lab Base", "Default Domain Policy"],
    );
    assert.deepEqual(r.filtered, []);
  });

  it("a deny ACE for the member's group wins over the allow", () => {
    const servers = groupSid("IPsec Servers");
    setDacl(gpo.filtered, [], `(OD;CI;CR;${APPLY};;${servers})`);
    const r = json();
    assert.ok(!r.applied.some((g) => g.name === "Lab Filtered"));
    assert.equal(
      r.filtered.find((g) => g.name === "Lab Filtered")?.detail,
      `Apply Group Policy denied to ${servers}`,
    );
  });

  it("gpupdate applies the IPsec policy and the firewall settings of the applied GPOs only; unchanged is not reapplied, /force is", () => {
    // the administrator fills the GPOs, as with Windows' netsh and Group Policy editor
    const ipsec = (...a: string[]) => asAdmin("netsh", "ipsec", "static", ...a);
    ipsec("set", "store", "location=domain");
    ipsec("add", "filterlist", "name=Server1 SMB");
    ipsec(
      "add",
      "filter",
      "filterlist=Server1 SMB",
      "srcaddr=me",
      "dstaddr=10.78.4.20",
      "protocol=TCP",
      "dstport=445",
    );
    ipsec(
      "add",
      "filteraction",
      "name=Require ESP",
      "action=negotiate",
      "qmsecmethods=ESP[AES256,SHA256]",
    );
    ipsec("add", "policy", "name=Bypass lab", "mmsecmethods=AES256-SHA256-14");
    ipsec(
      "add",
      "rule",
      "name=Server1",
      "policy=Bypass lab",
      "filterlist=Server1 SMB",
      "filteraction=Require ESP",
      "kerberos=yes",
    );
    ipsec("set", "policy", "name=Bypass lab", "assign=yes", "gponame=Lab Base");
    ipsec("set", "store", "location=local");
    fw("Lab Base", "set", "opmode", "mode=enable", "exceptions=disable", "profile=domain");
    fw(
      "Lab Base",
      "add",
      "portopening",
      "protocol=TCP",
      "port=445",
      "name=SMB",
      "scope=custom",
      "addresses=10.78.4.0/24",
      "profile=domain",
    );
    // filtered out for this member (the deny ACE above): its opening must not arrive
    fw(
      "Lab Filtered",
      "add",
      "portopening",
      "protocol=TCP",
      "port=8080",
      "name=Web",
      "profile=domain",
    );

    // Samba 4.17: the IP Security objects inherit no read for Authenticated Users, so the
    // machine reads none of them: gpupdate says so in one line and applies the rest
    const denied = run(process.execPath, [BIN, "--home", home, "--json", "gpupdate"]);
    assert.equal(denied.status, 0, denied.stderr);
    assert.match(
      denied.stderr,
      /^note: GPO 'Lab Base' assigns CN=ipsecPolicy\{[0-9A-F-]+\},CN=IP Security,.* which the machine cannot read among the 0 objects of the IP Security container: IPsec policy not applied$/m,
    );
    // the one-time grant (as Windows' schema default gives): Authenticated Users read the container's objects
    must("samba-tool", [
      "dsacl",
      "set",
      `--objectdn=CN=IP Security,CN=System,${DOMAIN_DN}`,
      "--sddl=(A;CI;RPLCLORC;;;AU)",
      ...admin(),
    ]);
    const first = gpupdate("/force");
    assert.equal(first.changed, true);
    assert.equal(first.ipsec, "Lab Base");
    assert.equal(first.firewallFrom, "Lab Base");
    assert.ok(!first.applied.includes("Lab Filtered"), first.applied.join(", "));
    const assigned = JSON.parse(
      fs.readFileSync(path.join(home, "ipsec", "domain-assigned.json"), "utf8"),
    );
    assert.equal(assigned.gpo, "Lab Base");
    assert.deepEqual(
      assigned.store.policies.map((p: { name: string; assigned: boolean }) => [p.name, p.assigned]),
      [["Bypass lab", true]],
    );
    // the effective settings (local with the GPOs' layer over them), as netsh shows them
    const domainProfile = showConfig().profiles.domain;
    assert.equal(domainProfile.enabled, true);
    assert.equal(domainProfile.exceptions, false);
    const ports = domainProfile.portOpenings.map((o: { port: number }) => o.port);
    assert.ok(ports.includes(445), JSON.stringify(ports));
    assert.ok(!ports.includes(8080), JSON.stringify(ports));
    // the GPOs' values live in their own layer: the local settings hold none of them
    assert.ok(!fs.existsSync(path.join(home, "firewall", "settings.json")));

    assert.equal(gpupdate().changed, false);
    assert.equal(gpupdate("/force").changed, true);
  });

  it("a value the GPOs stop setting returns to the local one; with no GPO assigning an IPsec policy the local assigned policy comes back", () => {
    // the host's own settings, under the GPO's: saved locally, the GPO's values win
    local(
      "netsh",
      "firewall",
      "add",
      "portopening",
      "protocol=TCP",
      "port=445",
      "name=Local SMB",
      "profile=domain",
    );
    local("netsh", "ipsec", "static", "add", "policy", "name=Local pol");
    local("netsh", "ipsec", "static", "set", "policy", "name=Local pol", "assign=yes");
    const smb = () => showConfig().profiles.domain?.portOpenings.find((o) => o.port === 445);
    assert.equal(smb()?.name, "SMB", "the GPO's opening wins over the local one for 445/TCP");
    const before = json().settings;
    assert.deepEqual(
      { policy: before.ipsec.policy, source: before.ipsec.source, gpo: before.ipsec.gpo },
      { policy: "Bypass lab", source: "gpo", gpo: { name: "Lab Base", guid: gpo.base } },
    );

    // the administrator takes the opening out of the GPO and unassigns its IPsec policy
    fw("Lab Base", "delete", "portopening", "protocol=TCP", "port=445", "profile=domain");
    const ipsec = (...a: string[]) => asAdmin("netsh", "ipsec", "static", ...a);
    ipsec("set", "store", "location=domain");
    ipsec("set", "policy", "name=Bypass lab", "assign=no", "gponame=Lab Base");
    ipsec("set", "store", "location=local");
    const r = gpupdate();
    assert.equal(r.changed, true);
    assert.equal(r.ipsec, null);
    assert.deepEqual(
      { name: smb()?.name, scope: smb()?.scope },
      { name: "Local SMB", scope: "all" },
      "445/TCP is the local opening again",
    );
    assert.equal(showConfig().profiles.domain?.exceptions, false, "what the GPO still sets stays");
    assert.ok(!fs.existsSync(path.join(home, "ipsec", "domain-assigned.json")));
    const after = json().settings;
    assert.deepEqual([after.ipsec.policy, after.ipsec.source], ["Local pol", "local"]);
    assert.equal(
      after.firewall.find((x) => x.setting === "domain.portopening.tcp/445")?.source,
      "local",
    );
  });

  it("gpresult names the winning GPO (name and GUID) of each setting: link order decides between two, one set by one GPO only, the rest local", () => {
    // Lab Base sets the domain profile on (and exceptions off); the Default Domain Policy,
    // applied after it (link order 1), sets it off; ICMP echo is set only locally
    fw("Default Domain Policy", "set", "opmode", "mode=disable", "profile=domain");
    local("netsh", "firewall", "set", "icmpsetting", "type=8", "mode=enable", "profile=domain");
    assert.equal(gpupdate().changed, true);
    const row = (w: Winners, name: string) => w.firewall.find((x) => x.setting === name);
    let w = json().settings;
    assert.ok(w.lastApplied !== null);
    assert.deepEqual(row(w, "domain.enabled"), {
      setting: "domain.enabled",
      value: false,
      source: "gpo",
      gpo: { name: "Default Domain Policy", guid: DEFAULT_DOMAIN_POLICY },
    });
    assert.deepEqual(row(w, "domain.exceptions")?.gpo, { name: "Lab Base", guid: gpo.base });
    assert.deepEqual(
      { value: row(w, "domain.icmp.8")?.value, source: row(w, "domain.icmp.8")?.source },
      { value: true, source: "local" },
    );
    assert.equal(showConfig().profiles.domain?.enabled, false);
    assert.match(
      gpresult(),
      new RegExp(
        `\\n {4}domain\\.enabled +no +GPO Default Domain Policy \\{${DEFAULT_DOMAIN_POLICY.toUpperCase()}\\}\\n`,
      ),
    );
    assert.match(gpresult(), /\n {4}domain\.icmp\.8 +yes +local\n/);

    // link order: the Default Domain Policy linked again goes first (applies first): Lab Base wins
    must("samba-tool", [
      "gpo",
      "dellink",
      DOMAIN_DN,
      `{${DEFAULT_DOMAIN_POLICY.toUpperCase()}}`,
      ...admin(),
    ]);
    must("samba-tool", [
      "gpo",
      "setlink",
      DOMAIN_DN,
      `{${DEFAULT_DOMAIN_POLICY.toUpperCase()}}`,
      ...admin(),
    ]);
    assert.equal(gpupdate().changed, true);
    w = json().settings;
    assert.deepEqual(
      [row(w, "domain.enabled")?.value, row(w, "domain.enabled")?.gpo?.name],
      [true, "Lab Base"],
    );
    assert.equal(showConfig().profiles.domain?.enabled, true);
  });

  it("the agent refreshes Group Policy by itself: a GPO's new opening is applied without a window (one nft generation), one line logged", async () => {
    const ns = samba?.ns ?? "";
    const output = (p: ChildProcess) => {
      let text = "";
      p.stdout?.on("data", (d: Buffer) => {
        text += d.toString();
      });
      p.stderr?.on("data", (d: Buffer) => {
        text += d.toString();
      });
      return () => text;
    };
    const until = async (what: () => boolean, ms: number) => {
      const end = Date.now() + ms;
      while (!what() && Date.now() < end) await new Promise((r) => setTimeout(r, 200));
      return what();
    };
    const stop = async (p: ChildProcess) => {
      if (p.exitCode !== null || p.signalCode !== null) return;
      const exited = new Promise((r) => p.once("exit", r));
      p.kill("SIGTERM");
      const t = setTimeout(() => p.kill("SIGKILL"), 10_000);
      await exited;
      clearTimeout(t);
    };
    const inNs = (...a: string[]) =>
      spawn("ip", ["netns", "exec", ns, ...a], { stdio: ["ignore", "pipe", "pipe"] });
    // The agent would choose the domain profile (its DC answers), where Lab Base forbids
    // exceptions (opmode exceptions=disable, above): no opening would load there, as on
    // Windows. This test is about the refresh, so the standard profile is pinned.
    local("netsh", "firewall", "set", "currentprofile", "standard");
    // every 3 s plus up to 1.2 s at random (Windows: 90 min plus up to 30)
    const agent = inNs(process.execPath, BIN, "--home", home, "agent", "--gp-refresh", "0.05:0.02");
    const log = output(agent);
    let monitor: ChildProcess | undefined;
    try {
      assert.ok(await until(() => /agent: ready|ready: /.test(log()), 90_000), log());
      assert.match(log(), /Group Policy refreshed every 0\.05 min plus up to 0\.02 at random/);
      const input = () => must("nft", ["list", "chain", "inet", "postern", "input"]);
      assert.doesNotMatch(input(), /dport 8443/);
      monitor = inNs("nft", "monitor", "ruleset");
      const events = output(monitor);
      await new Promise((r) => setTimeout(r, 500));
      const applied = () => (log().match(/gpupdate: applied /g) ?? []).length;
      const before = applied();

      fw(
        "Lab Base",
        "add",
        "portopening",
        "protocol=TCP",
        "port=8443",
        "name=Refresh",
        "profile=all",
      );
      assert.ok(await until(() => /dport 8443/.test(input()), 90_000), log());
      // a few more refreshes: unchanged, not applied again
      await new Promise((r) => setTimeout(r, 9_000));
      assert.equal(applied() - before, 1, log());
      assert.match(log(), /gpupdate: applied .*; IPsec: local store; firewall: /);
      assert.match(log(), /gpupdate: policy unchanged/);

      // the swap: each generation (one nft transaction) that deletes the firewall's input
      // chain adds it again with the new rules, so there is no moment without them
      const gens = events().split(/^# new generation \d+ by process \d+ \(nft\)$/m);
      const swaps = gens.filter((g) => /^delete chain inet postern input$/m.test(g));
      assert.ok(swaps.length >= 1, events());
      for (const g of swaps) assert.match(g, /^add chain inet postern input /m);
      assert.ok(
        swaps.some((g) => /^add rule inet postern input .*dport 8443/m.test(g)),
        events(),
      );
    } finally {
      if (monitor) await stop(monitor);
      await stop(agent);
    }
  });
});
