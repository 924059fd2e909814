/**
 * A GPO's files in SYSVOL over SMB and the domain store over LDAP, against a real Samba 4.17
 * AD DC serving SYSVOL (service s3fs) in a namespace of its own; the member is joined with
 * `postern join --ad` and runs the CLI inside the namespace, as a domain administrator
 * (KRB5CCNAME from MIT kinit), or as itself (the machine's ticket):
 *   1. `netsh firewall ... store=domain gponame=G` writes the GPO's Machine\Registry.pol:
 *      read back with smbclient (password, independently of postern's Kerberos path) and
 *      decoded by Samba's own Registry.pol parser (samba.dcerpc.preg); GPT.INI's version
 *      and the GPO's versionNumber move together, the Registry extension is listed;
 *   2. an unknown GPO, a command with no Registry.pol mapping, the machine's own identity
 *      (no right to write the GPO): one line each, nothing written;
 *   3. `netsh ipsec static set store location=domain` then add a policy over LDAP (sealed,
 *      Kerberos), inspected with ldbsearch on the DC's database, read back with show, and
 *      assigned in the GPO: GPT.INI's version moves again.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { parseLdif } from "../../src/gpipsec/ldb.js";
import { gptVersion } from "../../src/gpipsec/sysvol.js";
import { BIN } from "../helpers/cli.js";
import {
  adJoinArgs,
  adminPasswordFile,
  SAMBA_SKIP,
  type SambaInNamespace,
  sambaInNamespace,
} from "../helpers/samba.js";

const PASSWORD = "Sysv0l-Adm1n-Pass";
const DC_IP = "10.78.3.1";
const REALM = "SYSVOL.TEST";
const DOMAIN = "sysvol.test";
const DOMAIN_DN = "DC=sysvol,DC=test";
const GPO = "Firewall lab";
const REGISTRY_EXT =
  "[{35378EAC-683F-11D2-A89A-00C04FBBCFA2}{D02B1F72-3407-48AE-BA88-E8213C6761F1}]";
const IPSEC_EXT = "[{E437BC1C-AA7D-11D2-A382-00C04F991E27}{DEA8AFA0-CC85-11D0-9CE2-0080C7221EBD}]";

/** Samba's own Registry.pol parser, for a reading independent of postern's codec. */
const PREG_DUMP = `
import json, sys
from samba.dcerpc import preg
from samba.ndr import ndr_unpack
f = ndr_unpack(preg.file, open(sys.argv[1], "rb").read())
out = []
for e in f.entries:
    d = e.data
    out.append([e.keyname, e.valuename, e.type, d if isinstance(d, (int, str)) else list(d)])
print(json.dumps(out))
`;

describe("SYSVOL over SMB and the domain store over LDAP (Samba AD serving SYSVOL)", {
  skip: SAMBA_SKIP,
}, () => {
  let samba: SambaInNamespace | undefined;
  let dir = "";
  let home = "";
  let adminCc = "";
  let gpoGuid = "";
  let krb5 = "";

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
  /** The CLI as the domain administrator (admin=true) or as the machine. */
  const postern = (admin: boolean, ...args: string[]) =>
    run(process.execPath, [BIN, "--home", home, ...args], admin ? { KRB5CCNAME: adminCc } : {});
  const ok = (r: ReturnType<typeof run>) => {
    assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
    return r.stdout;
  };
  const oneLine = (r: ReturnType<typeof run>, re: RegExp) => {
    assert.ok(r.status === 1 || r.status === 2, r.stdout + r.stderr);
    assert.match(r.stderr, re);
    assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
  };
  const folder = () => `${DOMAIN}\\Policies\\{${gpoGuid}}`;
  /** A file of the GPO fetched with smbclient and the administrator's password. */
  const smbGet = (rel: string): Buffer => {
    const local = path.join(dir, "fetched");
    fs.rmSync(local, { force: true });
    must("smbclient", [
      `//${DC_IP}/sysvol`,
      "-s",
      samba?.dc.conf ?? "",
      "-U",
      `SYSVOL\\Administrator%${PASSWORD}`,
      "-c",
      `get "${folder()}\\${rel}" "${local}"`,
    ]);
    return fs.readFileSync(local);
  };
  const gpoEntry = () => {
    const found = parseLdif(
      must("ldbsearch", [
        "-H",
        path.join(dir, "private", "sam.ldb"),
        "-b",
        `CN=Policies,CN=System,${DOMAIN_DN}`,
        "-s",
        "one",
        `(displayName=${GPO})`,
        "versionNumber",
        "gPCMachineExtensionNames",
      ]),
    );
    assert.equal(found.length, 1);
    const e = found[0] as (typeof found)[number];
    return {
      version: Number(e.attributes.get("versionnumber")?.[0]?.toString()),
      extensions: e.attributes.get("gpcmachineextensionnames")?.[0]?.toString() ?? "",
    };
  };

  before(async () => {
    samba = sambaInNamespace("syv", {
      realm: REALM,
      domain: "SYSVOL",
      adminPassword: PASSWORD,
      ip: DC_IP,
      services: ["kdc", "ldap", "dns", "cldap", "rpc", "s3fs", "winbindd"],
    });
    dir = samba.dir;
    await samba.dc.waitReady(120_000);
    const created = must("samba-tool", [
      "gpo",
      "create",
      GPO,
      "-H",
      `ldap://${DC_IP}`,
      "-s",
      samba.dc.conf,
      "-U",
      `SYSVOL\\Administrator%${PASSWORD}`,
    ]);
    gpoGuid = /\{([0-9A-F-]{36})\}/i.exec(created)?.[1]?.toUpperCase() ?? "";
    assert.ok(gpoGuid, created);
    krb5 = path.join(dir, "client-krb5.conf");
    fs.writeFileSync(
      krb5,
      `[libdefaults]\n default_realm = ${REALM}\n dns_lookup_kdc = false\n rdns = false\n[realms]\n ${REALM} = {\n  kdc = ${DC_IP}\n }\n`,
    );
    adminCc = path.join(dir, "admin.cc");
    must(
      "kinit",
      ["-c", adminCc, `Administrator@${REALM}`],
      { KRB5_CONFIG: krb5 },
      `${PASSWORD}\n`,
    );
    home = fs.mkdtempSync(path.join(dir, "home-"));
    const passwordFile = adminPasswordFile(dir, PASSWORD);
    ok(
      postern(
        false,
        ...adJoinArgs({ domain: DOMAIN, dnsServer: DC_IP, name: "ws1", passwordFile }),
      ),
    );
  });

  after(() => samba?.cleanup());

  it("netsh firewall ... store=domain writes the GPO's Registry.pol, GPT.INI and versionNumber move together", () => {
    const v0 = gpoEntry().version;
    const sid = JSON.parse(fs.readFileSync(path.join(home, "agent", "machine.json"), "utf8"))
      .domainSid as string;
    const g = `gponame=${GPO}`;
    for (const cmd of [
      ["set", "opmode", "mode=enable", "exceptions=disable", "profile=domain"],
      [
        "add",
        "portopening",
        "protocol=TCP",
        "port=445",
        "name=SMB",
        "scope=custom",
        "addresses=10.78.3.0/24",
      ],
      ["set", "icmpsetting", "type=8", "mode=enable"],
      ["set", "bypass", `sddl=O:DAG:DAD:(A;;RCGW;;;${sid}-515)`],
    ])
      assert.match(ok(postern(true, "netsh", "firewall", ...cmd, "store=domain", g)), /^Ok\./);

    // read back over SMB with a password, decoded by Samba's parser
    const pol = smbGet("Machine\\Registry.pol");
    const local = path.join(dir, "registry.pol");
    fs.writeFileSync(local, pol);
    const entries = JSON.parse(must("/usr/bin/python3", ["-c", PREG_DUMP, local])) as [
      string,
      string,
      number,
      number | string,
    ][];
    const root = "SOFTWARE\\Policies\\Microsoft\\WindowsFirewall\\DomainProfile";
    const has = (key: string, value: string, type: number, data: number | string) =>
      assert.ok(
        entries.some(
          (e) =>
            e[0] === key &&
            e[1] === value &&
            e[2] === type &&
            (typeof data === "number" ? e[3] === data : String(e[3]).replace(/\0+$/, "") === data),
        ),
        `${key}\\${value} = ${data} not in ${JSON.stringify(entries)}`,
      );
    has(root, "EnableFirewall", 4, 1);
    has(root, "DoNotAllowExceptions", 4, 1);
    has(`${root}\\GloballyOpenPorts\\List`, "445:TCP", 1, "445:TCP:10.78.3.0/24:enabled:SMB");
    has(`${root}\\IcmpSettings`, "AllowInboundEchoRequest", 4, 1);
    has(
      "SOFTWARE\\Policies\\Microsoft\\Windows\\IPSec\\ICFv4",
      "BypassFirewall",
      1,
      `O:DAG:DAD:(A;;RCGW;;;${sid}-515)`,
    );
    assert.ok(!entries.some((e) => e[0].includes("StandardProfile")), "standard profile untouched");

    // four writes: the machine half moved by four, the files and the directory agree
    const gpt = gptVersion(smbGet("GPT.INI").toString("latin1"));
    const after = gpoEntry();
    assert.equal(gpt, v0 + 4);
    assert.equal(after.version, gpt);
    assert.ok(after.extensions.includes(REGISTRY_EXT), after.extensions);
  });

  it("an unknown GPO, a setting with no Registry.pol mapping, the machine's own ticket: one line, nothing written", () => {
    const before = { gpo: gpoEntry(), pol: smbGet("Machine\\Registry.pol").toString("hex") };
    oneLine(
      postern(
        true,
        "netsh",
        "firewall",
        "set",
        "opmode",
        "mode=disable",
        "store=domain",
        "gponame=Nope",
      ),
      /no Group Policy object 'Nope' in the domain/,
    );
    oneLine(
      postern(
        true,
        "netsh",
        "firewall",
        "set",
        "service",
        "type=fileandprint",
        "store=domain",
        `gponame=${GPO}`,
      ),
      /not a Registry\.pol setting postern writes/,
    );
    // the machine may read the GPO but not write it
    oneLine(
      postern(
        false,
        "netsh",
        "firewall",
        "set",
        "opmode",
        "mode=disable",
        "store=domain",
        `gponame=${GPO}`,
      ),
      /(reading|writing) \\\\dc1\.sysvol\.test\\sysvol\\.*Registry\.pol: NT_STATUS_ACCESS_DENIED/,
    );
    assert.deepEqual(gpoEntry(), before.gpo);
    assert.equal(smbGet("Machine\\Registry.pol").toString("hex"), before.pol);
  });

  it("netsh ipsec static on the domain store over LDAP: written, seen by ldbsearch, shown, assigned (GPT.INI moves)", () => {
    const ipsec = (...args: string[]) => ok(postern(true, "netsh", "ipsec", "static", ...args));
    ipsec("set", "store", "location=domain");
    ipsec("add", "filterlist", "name=Server1 SMB");
    ipsec(
      "add",
      "filter",
      "filterlist=Server1 SMB",
      "srcaddr=me",
      "dstaddr=10.78.3.20",
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
    // independently: the objects in the DC's database
    const sam = path.join(dir, "private", "sam.ldb");
    const container = `CN=IP Security,CN=System,${DOMAIN_DN}`;
    const pol = parseLdif(
      must("ldbsearch", ["-H", sam, "-b", container, "-s", "one", "(ipsecName=Bypass lab)"]),
    );
    assert.equal(pol.length, 1);
    assert.equal(pol[0]?.attributes.get("ipsecnfareference")?.length, 2);
    const nfa = parseLdif(
      must("ldbsearch", [
        "-H",
        sam,
        "-b",
        container,
        "-s",
        "one",
        "(&(objectClass=ipsecNFA)(ipsecName=Server1))",
      ]),
    );
    assert.equal(nfa.length, 1);
    // read back over LDAP
    const shown = ipsec("show", "policy", "name=Bypass lab");
    assert.match(shown, /Policy Name\s+: Bypass lab/);
    assert.match(shown, /Store\s+: Domain Store/);

    const v0 = gpoEntry().version;
    ipsec("set", "policy", "name=Bypass lab", "assign=yes", `gponame=${GPO}`);
    const gpt = gptVersion(smbGet("GPT.INI").toString("latin1"));
    const g = gpoEntry();
    assert.equal(gpt, v0 + 1);
    assert.equal(g.version, gpt);
    assert.ok(
      g.extensions.includes(IPSEC_EXT) && g.extensions.includes(REGISTRY_EXT),
      g.extensions,
    );
  });
});
