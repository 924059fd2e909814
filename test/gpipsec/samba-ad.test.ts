/**
 * [MS-GPIPSEC] against a real Samba 4.17 AD DC (provisioned in a temp dir, run in a network
 * namespace of its own):
 * - Windows' three default IPsec policies that every provision holds are decoded field for
 *   field, and `netsh ipsec static show ...` presents them as Windows does;
 * - a policy written with postern's netsh lands as the five object classes with their
 *   references (checked with ldbsearch, independently of postern's reader) and reads back
 *   field for field, leaving Windows' objects byte-identical;
 * - `set policy assign=yes gponame=G` on a GPO writes the GPO's IPsec link object and the
 *   IP Security extension; assign=no removes them;
 * - a malformed blob is refused with one line and nothing is written.
 * The directory is reached through Samba's ldb tools on the DC's sam.ldb (the LDAP path is
 * the same Directory interface).
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import type { CliEnv } from "../../src/cmdline/env.js";
import { decodeFilterBlob, decodeNfaBlob } from "../../src/gpipsec/blob.js";
import { readIpsecEntries } from "../../src/gpipsec/directory.js";
import { IPSEC_CSE, IPSEC_TOOL } from "../../src/gpipsec/gpo.js";
import { ldbDirectory, parseLdif } from "../../src/gpipsec/ldb.js";
import { storeFromEntries } from "../../src/gpipsec/objects.js";
import { adBackend } from "../../src/netsh/ipsec-static/ad-backend.js";
import { createIpsecStatic } from "../../src/netsh/ipsec-static/index.js";
import { newGuid } from "../../src/policy/defaults.js";
import { type SambaInNamespace, sambaInNamespace, SAMBA_SKIP } from "../helpers/samba.js";

const SKIP = SAMBA_SKIP;
const PASSWORD = "Adm1n-Passw0rd!x";
const DC_IP = "10.78.0.1";
const DOMAIN_DN = "DC=gpipsec,DC=test";
const CONTAINER = `CN=IP Security,CN=System,${DOMAIN_DN}`;

function run(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: "utf8", timeout: 60_000 });
  if (r.status !== 0)
    throw new Error(`${cmd} ${args.join(" ")} failed (${r.status}): ${r.stderr}${r.stdout}`);
  return r.stdout;
}

describe("[MS-GPIPSEC] on Samba AD: Windows' default policies read, postern's written and assigned", {
  skip: SKIP,
}, () => {
  let dir = "";
  let samba: SambaInNamespace | undefined;
  let sam = "";
  const ldb = () => ldbDirectory(sam);
  const backend = () =>
    adBackend({
      session: (f) => f(ldb()),
      domainDn: DOMAIN_DN,
      guid: () => newGuid((n) => randomBytes(n)),
    });
  const ldbsearch = (base: string, filter: string, scope = "sub", ...attrs: string[]) =>
    parseLdif(run("ldbsearch", ["-H", sam, "-b", base, "-s", scope, filter, ...attrs]));

  /** Runs one `netsh ipsec static` command on the AD store; stdout lines, or the error. */
  async function netsh(...tokens: string[]): Promise<{ out: string; err: string; error?: string }> {
    const out: string[] = [];
    const err: string[] = [];
    const env = {
      home: dir,
      json: false,
      out: (t: string) => out.push(t),
      err: (t: string) => err.push(t),
      vars: {},
      isRoot: true,
      cwd: dir,
    } as unknown as CliEnv;
    const h = createIpsecStatic({
      now: () => new Date("2026-12-06T12:00:00Z"),
      random: (n) => randomBytes(n),
      resolve: async () => [],
      backend,
    });
    try {
      await h(tokens, env);
      return { out: out.join("\n"), err: err.join("\n") };
    } catch (e) {
      return { out: out.join("\n"), err: err.join("\n"), error: (e as Error).message };
    }
  }

  before(async () => {
    samba = sambaInNamespace("gip", {
      realm: "GPIPSEC.TEST",
      domain: "GPIPSEC",
      adminPassword: PASSWORD,
      ip: DC_IP,
    });
    ({ dir } = samba);
    sam = path.join(dir, "private", "sam.ldb");
  });

  after(() => samba?.cleanup());

  it("holds Windows' objects (3 policies, 3 ISAKMP, 8 NFA, 6 negotiation, 2 filters) and decodes them all", async () => {
    const count = (cls: string) => ldbsearch(CONTAINER, `(objectClass=${cls})`, "one", "dn").length;
    assert.deepEqual(
      ["ipsecPolicy", "ipsecISAKMPPolicy", "ipsecNFA", "ipsecNegotiationPolicy", "ipsecFilter"].map(
        count,
      ),
      [3, 3, 8, 6, 2],
    );
    const { store } = storeFromEntries(await readIpsecEntries(ldb(), DOMAIN_DN));
    const server = store.policies.find((p) => p.name === "Server (Request Security)");
    assert.ok(server);
    assert.equal(server.guid, "72385230-70fa-11d1-864c-14a300000000");
    assert.equal(server.pollingIntervalMin, 180);
    assert.equal(server.mmLifetimeMin, 480);
    assert.equal(server.mmPfs, false);
    assert.deepEqual(
      server.mmSecMethods.map((m) => `${m.conf}-${m.hash}-${m.dhGroup}`),
      ["3des-sha1-2", "3des-md5-2", "des-sha1-1", "des-md5-1"],
    );
    assert.deepEqual(
      server.rules.map((r) => [
        r.name,
        r.filterList,
        r.filterAction,
        r.connType,
        r.active,
        r.tunnel,
      ]),
      [
        [
          "Permit unsecure ICMP packets to pass through.",
          "72385235-70fa-11d1-864c-14a300000000",
          "7238523b-70fa-11d1-864c-14a300000000",
          "all",
          true,
          null,
        ],
        [
          "Request Security (Optional) Rule",
          "7238523a-70fa-11d1-864c-14a300000000",
          "72385233-70fa-11d1-864c-14a300000000",
          "all",
          true,
          null,
        ],
      ],
    );
    assert.deepEqual(server.rules[1]?.auth, [{ kind: "kerberos" }]);
    assert.equal(server.defaultRule.active, true);
    assert.equal(server.defaultRule.qmSecMethods.length, 6);
    const request = store.filterActions.find((f) => f.name === "Request Security (Optional)");
    assert.deepEqual(
      [request?.action, request?.inpass, request?.soft, request?.qmPfs],
      ["negotiate", true, true, false],
    );
    const require = store.filterActions.find((f) => f.name === "Require Security");
    assert.deepEqual([require?.inpass, require?.soft], [true, false]);
    assert.deepEqual(
      store.filterLists
        .map((l) => [
          l.name,
          l.filters.map((f) => [f.src.kind, f.dst.kind, f.protocol, f.mirrored]),
        ])
        .sort(),
      [
        ["All ICMP Traffic", [["me", "any", 1, true]]],
        ["All IP Traffic", [["me", "any", 0, true]]],
      ],
    );
  });

  it("show policy / filterlist / filteraction present them as Windows Server 2003 does", async () => {
    const pol = await netsh("show", "policy", "name=Secure Server (Require Security)");
    assert.equal(pol.error, undefined);
    for (const line of [
      "Policy Name            : Secure Server (Require Security)",
      "Store                  : Domain Store",
      "GUID                   : {7238523C-70FA-11D1-864C-14A300000000}",
      "Polling Interval       : 180 minutes",
      "Main Mode Life Time    : 480 minutes / 0 Quick Mode sessions",
      " 3DES           SHA1           Medium(2)",
      " DES            MD5            Low(1)",
      "No. of Rules           : 2",
      "Rule 2                 : Require Security",
    ])
      assert.ok(pol.out.split("\n").includes(line), `missing: ${line}\n${pol.out}`);
    const fl = await netsh("show", "filterlist", "all");
    assert.match(
      fl.out,
      /FilterList Name {8}: All ICMP Traffic\nDescription {12}: Matches all ICMP packets/,
    );
    const fa = await netsh("show", "filteraction", "name=Require Security");
    assert.match(
      fa.out,
      /Security Methods {7}: ESP\[3DES,SHA1\]:100000k\/900s ESP\[3DES,MD5\]:100000k\/900s ESP\[DES,SHA1\]:100000k\/900s ESP\[DES,MD5\]:100000k\/900s/,
    );
    assert.match(fa.out, /Inbound Passthru {7}: YES\nAllowUnsecured {9}: NO/);
  });

  it("a policy written with netsh lands as the five classes with references and reads back field for field", async () => {
    const windowsBefore = new Map(
      (await readIpsecEntries(ldb(), DOMAIN_DN)).map((e) => [e.dn, e.data.toString("hex")]),
    );
    for (const cmd of [
      ["add", "filterlist", "name=Server1 SMB", "description=to server1"],
      [
        "add",
        "filter",
        "filterlist=Server1 SMB",
        "srcaddr=me",
        "dstaddr=10.78.0.20",
        "protocol=TCP",
        "dstport=445",
        "description=SMB to server1",
      ],
      [
        "add",
        "filteraction",
        "name=Require ESP",
        "action=negotiate",
        "qmpfs=yes",
        "qmsecmethods=ESP[AES256,SHA256]:100000k/3600s",
      ],
      ["add", "policy", "name=Bypass lab", "mmsecmethods=AES256-SHA256-14", "pollinginterval=60"],
      [
        "add",
        "rule",
        "name=Server1",
        "policy=Bypass lab",
        "filterlist=Server1 SMB",
        "filteraction=Require ESP",
        "kerberos=yes",
        "psk=Open-Sesame",
      ],
    ]) {
      const r = await netsh(...cmd);
      assert.equal(r.error, undefined, `${cmd.join(" ")}: ${r.error}`);
    }
    // independently of postern's reader: the objects and their references
    const pol = ldbsearch(CONTAINER, "(&(objectClass=ipsecPolicy)(ipsecName=Bypass lab))", "one");
    assert.equal(pol.length, 1);
    const p = pol[0] as (typeof pol)[number];
    const attr = (e: typeof p, a: string) =>
      (e.attributes.get(a) ?? []).map((v) => v.toString("utf8"));
    assert.deepEqual(attr(p, "ipsecdatatype"), ["598"]);
    assert.equal(attr(p, "ipsecnfareference").length, 2, "default response NFA + the rule's NFA");
    const isakmp = ldbsearch(
      attr(p, "ipsecisakmpreference")[0] as string,
      "(objectClass=*)",
      "base",
    );
    assert.deepEqual(attr(isakmp[0] as typeof p, "ipsecownersreference"), [p.dn]);
    const rule = ldbsearch(CONTAINER, "(&(objectClass=ipsecNFA)(ipsecName=Server1))", "one")[0];
    assert.ok(rule);
    const nfa = decodeNfaBlob(rule.attributes.get("ipsecdata")?.[0] as Buffer);
    assert.deepEqual(
      nfa.auth.map((a) => [a.type, a.data]),
      [
        [5, ""],
        [1, "Open-Sesame"],
      ],
    );
    const filterDn = attr(rule, "ipsecfilterreference")[0] as string;
    const filter = ldbsearch(filterDn, "(objectClass=*)", "base")[0];
    assert.deepEqual(attr(filter as typeof p, "ipsecownersreference"), [rule.dn]);
    const spec = decodeFilterBlob((filter as typeof p).attributes.get("ipsecdata")?.[0] as Buffer)
      .filters[0];
    assert.deepEqual(
      [
        spec?.srcAddr,
        spec?.srcMask,
        spec?.dstAddr,
        spec?.dstMask,
        spec?.protocol,
        spec?.dstPort,
        spec?.mirrored,
      ],
      ["0.0.0.0", "255.255.255.255", "10.78.0.20", "255.255.255.255", 6, 445, true],
    );
    // read back through postern: field for field
    const { store } = storeFromEntries(await readIpsecEntries(ldb(), DOMAIN_DN));
    const back = store.policies.find((x) => x.name === "Bypass lab");
    assert.ok(back);
    assert.equal(back.pollingIntervalMin, 60);
    assert.deepEqual(back.mmSecMethods, [{ conf: "aes256", hash: "sha256", dhGroup: 14 }]);
    assert.deepEqual(
      back.rules.map((r) => [r.name, r.auth, r.connType, r.tunnel, r.active]),
      [["Server1", [{ kind: "kerberos" }, { kind: "psk", key: "Open-Sesame" }], "all", null, true]],
    );
    const fa = store.filterActions.find((x) => x.name === "Require ESP");
    assert.deepEqual(
      [fa?.action, fa?.qmPfs, fa?.inpass, fa?.soft, fa?.qmSecMethods],
      [
        "negotiate",
        true,
        false,
        false,
        [{ esp: { conf: "aes256", auth: "sha256" }, lifetimeKb: 100000, lifetimeSec: 3600 }],
      ],
    );
    const fl = store.filterLists.find((x) => x.name === "Server1 SMB");
    assert.deepEqual(fl?.filters, [
      {
        description: "SMB to server1",
        src: { kind: "me" },
        dst: { kind: "subnet", address: "10.78.0.20", prefix: 32, family: 4 },
        protocol: 6,
        srcPort: 0,
        dstPort: 445,
        mirrored: true,
      },
    ]);
    // Windows' objects: untouched, byte for byte
    for (const e of await readIpsecEntries(ldb(), DOMAIN_DN)) {
      const old = windowsBefore.get(e.dn);
      if (old !== undefined) assert.equal(e.data.toString("hex"), old, e.dn);
    }
  });

  it("set policy assign=yes gponame=G writes the GPO's IPsec link and extension; assign=no removes them", async () => {
    // A GPO as the Group Policy editor makes it in the directory (its SYSVOL folder is not
    // needed here: the IPsec extension lives in the directory).
    const gpoDn = `CN={5F1F3C2A-7D41-4B7E-9C55-3A9D2E6B1F10},CN=Policies,CN=System,${DOMAIN_DN}`;
    spawnSync("ldbmodify", ["-H", sam], {
      input: [
        `dn: ${gpoDn}\nchangetype: add\nobjectClass: groupPolicyContainer\ndisplayName: IPsec lab\nversionNumber: 0\nflags: 0\ngPCFunctionalityVersion: 2\ngPCFileSysPath: \\\\gpipsec.test\\SysVol\\gpipsec.test\\Policies\\{5F1F3C2A-7D41-4B7E-9C55-3A9D2E6B1F10}\n`,
        `dn: CN=Machine,${gpoDn}\nchangetype: add\nobjectClass: container\n`,
        `dn: CN=User,${gpoDn}\nchangetype: add\nobjectClass: container\n`,
      ].join("\n"),
    });
    const gpoOf = () =>
      ldbsearch(
        `CN=Policies,CN=System,${DOMAIN_DN}`,
        "(displayName=IPsec lab)",
        "one",
      )[0] as ReturnType<typeof ldbsearch>[number];
    const version0 = Number(gpoOf().attributes.get("versionnumber")?.[0]?.toString() ?? "0");
    const r = await netsh("set", "policy", "name=Bypass lab", "assign=yes", "gponame=IPsec lab");
    assert.equal(r.error, undefined, r.error);
    const gpo = gpoOf();
    const link = ldbsearch(
      `CN=ipsec,CN=Windows,CN=Microsoft,CN=Machine,${gpo.dn}`,
      "(objectClass=ipsecPolicy)",
      "base",
    );
    assert.equal(link.length, 1);
    const owner = link[0]?.attributes.get("ipsecownersreference")?.[0]?.toString() ?? "";
    assert.match(
      owner,
      /^CN=ipsecPolicy\{[0-9A-F-]{36}\},CN=IP Security,CN=System,DC=gpipsec,DC=test$/i,
    );
    assert.equal(link[0]?.attributes.get("ipsecname")?.[0]?.toString(), "Bypass lab");
    const ext = gpo.attributes.get("gpcmachineextensionnames")?.[0]?.toString() ?? "";
    assert.ok(ext.includes(`[{${IPSEC_CSE.toUpperCase()}}{${IPSEC_TOOL.toUpperCase()}}]`), ext);
    assert.equal(Number(gpo.attributes.get("versionnumber")?.[0]?.toString()), version0 + 1);
    const shown = await netsh("show", "gpoassignedpolicy", "name=IPsec lab");
    assert.match(shown.out, /Bypass lab/);
    const del = await netsh("delete", "policy", "name=Bypass lab");
    assert.match(del.error ?? "", /assigned to policy object 'IPsec lab'/);

    const un = await netsh("set", "policy", "name=Bypass lab", "assign=no", "gponame=IPsec lab");
    assert.equal(un.error, undefined, un.error);
    assert.equal(
      ldbsearch(`CN=Machine,${gpo.dn}`, "(objectClass=ipsecPolicy)", "sub").length,
      0,
      "link object deleted",
    );
    assert.ok(
      !(gpoOf().attributes.get("gpcmachineextensionnames")?.[0]?.toString() ?? "").includes(
        IPSEC_CSE.toUpperCase(),
      ),
    );
  });

  it("a malformed blob is refused with one line, and nothing is written", async () => {
    const icmp = `CN=ipsecFilter{72385235-70FA-11D1-864C-14A300000000},${CONTAINER}`;
    const bad = Buffer.from("b520dc80c82ed111a89e00a0248d302152000000ff", "hex");
    spawnSync("ldbmodify", ["-H", sam], {
      input: `dn: ${icmp}\nchangetype: modify\nreplace: ipsecData\nipsecData:: ${bad.toString("base64")}\n-\n`,
    });
    const before = ldbsearch(CONTAINER, "(objectClass=ipsecBase)", "one", "dn").length;
    const show = await netsh("show", "policy", "all");
    assert.match(
      show.error ?? "",
      /^ipsecFilter \{72385235-70FA-11D1-864C-14A300000000\} \("All ICMP Traffic"\): ipsecData of ipsecFilter: /,
    );
    assert.ok(!(show.error ?? "").includes("\n"));
    const add = await netsh("add", "filterlist", "name=Never written");
    assert.ok(add.error);
    assert.equal(ldbsearch(CONTAINER, "(objectClass=ipsecBase)", "one", "dn").length, before);
  });
});
