/**
 * The Samba lab's policies from Group Policy (`lab up --dc samba`, `--policy-from gpo`, the
 * default there), as the article distributes them: the IPsec policies live in Active
 * Directory and are assigned in GPOs, server1's firewall with its bypass is a GPO's
 * Registry.pol, and the members take both with `postern gpupdate`.
 *   1. the directory, as an administrator lays it out: OU=Servers holding server1,
 *      OU=Clients holding xpclient and client2; three GPOs (`samba-tool gpo create`), the
 *      server's IPsec GPO and the firewall GPO linked to OU=Servers, the clients' IPsec GPO
 *      to OU=Clients (one IPsec policy is assigned per host, and the article's server and
 *      clients have different ones); Authenticated Users get an inheritable read on
 *      CN=IP Security (Samba 4.17 gives the container's objects none, so a member's machine
 *      account would read no policy: docs/group-policy.md);
 *   2. the article's scripts, unchanged but for the store: run on server1 as the domain
 *      administrator (kinit, KRB5CCNAME), behind `set store location=domain domain=...`,
 *      with `gponame=` on each `set policy ... assign=yes` and `store=domain gponame=` on
 *      each firewall command (domainScript);
 *   3. each member runs `postern gpupdate` as itself; the agents start after and run what
 *      it applied. Which GPO gave what is kept in the member's ad-policy.json, which
 *      `lab check` prints (policySources).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { PosternError } from "../errors.js";
import { readAppliedRecord } from "../member/ad-gpupdate.js";
import { must, mustAsync, posternArgv } from "./run.js";
import type { SambaDc } from "./samba.js";
import { hostHome, type LabState } from "./state.js";
import { DOMAIN, host, NETBIOS, namespaceOf } from "./topology.js";
import { examplesDir } from "./up.js";

const DOMAIN_DN = DOMAIN.split(".")
  .map((p) => `DC=${p}`)
  .join(",");

export const LAB_GPOS = {
  serverIpsec: { name: "Lab IPsec (server1)", ou: `OU=Servers,${DOMAIN_DN}` },
  clientIpsec: { name: "Lab IPsec (clients)", ou: `OU=Clients,${DOMAIN_DN}` },
  firewall: { name: "Lab Firewall (server1)", ou: `OU=Servers,${DOMAIN_DN}` },
} as const;

const MEMBERS_OU = {
  server1: LAB_GPOS.serverIpsec.ou,
  xpclient: LAB_GPOS.clientIpsec.ou,
  client2: LAB_GPOS.clientIpsec.ou,
} as const;

/** Inheritable read for Authenticated Users on the IP Security container (see above). */
export const IPSEC_CONTAINER_ACE = "(A;CI;RPLCLORC;;;AU)";

/** The OUs, the members moved into them, the three GPOs created and linked (on dc1). */
export function layOutGpos(dc1: SambaDc, adminPassword: string): void {
  const admin = [`-H`, `ldap://${dc1.ip}`, `-U`, `${NETBIOS}\\Administrator%${adminPassword}`];
  const gpos = Object.values(LAB_GPOS);
  const out = dc1.tools([
    ...[...new Set(Object.values(MEMBERS_OU))].map((ou) => ["ou", "create", ou]),
    ...Object.entries(MEMBERS_OU).map(([m, ou]) => ["computer", "move", m.toUpperCase(), ou]),
    [
      "dsacl",
      "set",
      `--objectdn=CN=IP Security,CN=System,${DOMAIN_DN}`,
      `--sddl=${IPSEC_CONTAINER_ACE}`,
    ],
    ...gpos.map((g) => ["gpo", "create", g.name, ...admin]),
  ]);
  // "GPO 'NAME' created as {GUID}", one per GPO in the order created
  const guids = gpos.map((g) => {
    const m = new RegExp(
      `GPO '${g.name.replace(/[()]/g, "\\$&")}' created as (\\{[0-9A-F-]{36}\\})`,
      "i",
    ).exec(out);
    if (!m) throw new PosternError("lab", `samba-tool gpo create ${g.name}: no GUID in its output`);
    return m[1] as string;
  });
  dc1.tools(gpos.map((g, i) => ["gpo", "setlink", g.ou, guids[i] as string, ...admin]));
}

/**
 * One script of the article's, for the domain store: `gponame=` added to each `set policy
 * ... assign=yes`, `store=domain gponame=` to each firewall command; an `add filteraction`
 * line already run earlier (the client script's "sign" is the server script's, word for
 * word) is left out, since both scripts now write one store where the action is shared.
 */
function forDomain(text: string, gpo: string, seen: Set<string>): string[] {
  const lines: string[] = [];
  let context = "";
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const push = /^pushd\s+(.*)$/i.exec(line);
    if (push) context = (push[1] as string).toLowerCase();
    if (/^add filteraction /i.test(line)) {
      if (seen.has(line)) continue;
      seen.add(line);
    }
    if (context === "ipsec static" && /^set policy .*\bassign=yes\s*$/i.test(line))
      lines.push(`${line} gponame="${gpo}"`);
    else if (context === "firewall" && !/^(pushd|popd)\b/i.test(line))
      lines.push(`${line} store=domain gponame="${gpo}"`);
    else lines.push(line);
  }
  return lines;
}

/** The article's three scripts as one script on the domain's store and GPOs. */
export function domainScript(espNull: boolean): string {
  const read = (f: string) => fs.readFileSync(path.join(examplesDir(), f), "utf8");
  const seen = new Set<string>();
  return [
    "pushd ipsec static",
    `set store location=domain domain=${DOMAIN}`,
    "popd",
    ...forDomain(read("article-server.netsh"), LAB_GPOS.serverIpsec.name, seen),
    ...forDomain(read("article-client.netsh"), LAB_GPOS.clientIpsec.name, seen),
    // `lab up --sign esp-null`: the shared "sign" action, once in the domain's store
    ...(espNull
      ? ["pushd ipsec static", "set filteraction name=sign qmsecmethods=ESP[None,SHA1]", "popd"]
      : []),
    ...forDomain(read("article-firewall.netsh"), LAB_GPOS.firewall.name, seen),
    // server1's own store stays its local one: the domain's reaches it through gpupdate
    "pushd ipsec static",
    "set store location=local",
    "popd",
    "",
  ].join("\n");
}

/**
 * Writes the policies into AD and the firewall GPO as the domain administrator, at server1
 * (its home is an AD member's: the domain's DC and name): domainScript through
 * netshAsDomainAdmin.
 */
export function writeGpoPolicies(s: LabState, adminPassword: string): void {
  netshAsDomainAdmin(s, adminPassword, domainScript(s.sign === "esp-null"), "domain-policy.netsh");
}

/**
 * `postern netsh -f SCRIPT` at server1 as the domain administrator: a TGT for Administrator
 * from dc1 (MIT kinit, in a ccache of the lab's, removed after), the script kept in the
 * lab's directory as `file`.
 */
export function netshAsDomainAdmin(
  s: LabState,
  adminPassword: string,
  scriptText: string,
  file: string,
): void {
  const ns = namespaceOf(s.id, "server1");
  const krb5 = path.join(s.dir, "admin-krb5.conf");
  const realm = DOMAIN.toUpperCase();
  fs.writeFileSync(
    krb5,
    `[libdefaults]\n default_realm = ${realm}\n dns_lookup_kdc = false\n rdns = false\n[realms]\n ${realm} = {\n  kdc = ${host("dc1").address}\n }\n`,
  );
  const ccache = path.join(s.dir, "admin.cc");
  must(ns, ["kinit", "-c", ccache, `Administrator@${realm}`], {
    env: { KRB5_CONFIG: krb5 },
    input: `${adminPassword}\n`,
  });
  const script = path.join(s.dir, file);
  fs.writeFileSync(script, scriptText);
  try {
    must(ns, [...posternArgv(), "--home", hostHome(s, "server1"), "netsh", "-f", script], {
      env: { KRB5CCNAME: ccache },
      timeoutMs: 300_000,
    });
  } finally {
    fs.rmSync(ccache, { force: true });
  }
}

interface GpupdateResult {
  applied: string[];
  ipsec?: string | null;
  firewallFrom?: string | null;
}

/**
 * `postern gpupdate` on each member, as the machine (its keytab's TGT), at once; each must
 * get its IPsec policy from its OU's GPO and server1 its firewall from the firewall GPO,
 * else `up` fails here rather than in a cell.
 */
export async function gpupdateMembers(s: LabState): Promise<void> {
  await Promise.all(
    (Object.keys(MEMBERS_OU) as (keyof typeof MEMBERS_OU)[]).map(async (m) => {
      const ns = namespaceOf(s.id, m);
      const out = await mustAsync(
        ns,
        [
          "env",
          `POSTERN_NETNS=${ns}`,
          ...posternArgv(),
          "--home",
          hostHome(s, m),
          "--json",
          "gpupdate",
          "/force",
        ],
        120_000,
      );
      const r = JSON.parse(out.trim()) as GpupdateResult;
      const ipsec = m === "server1" ? LAB_GPOS.serverIpsec.name : LAB_GPOS.clientIpsec.name;
      if (r.ipsec !== ipsec)
        throw new PosternError(
          "lab",
          `${m}: gpupdate applied ${r.applied.join(", ") || "no GPO"} but no IPsec policy from GPO '${ipsec}'`,
        );
      if (m === "server1" && r.firewallFrom !== LAB_GPOS.firewall.name)
        throw new PosternError(
          "lab",
          `server1: gpupdate applied no firewall settings from GPO '${LAB_GPOS.firewall.name}'`,
        );
    }),
  );
}

export interface PolicySource {
  host: string;
  /** The GPOs applied, in order (the last wins). */
  applied: string[];
  ipsecFrom: string | null;
  firewallFrom: string | null;
}

/** Where each member's policy came from, per its last gpupdate (ad-policy.json). */
export function policySources(s: LabState): PolicySource[] {
  return Object.keys(MEMBERS_OU).map((m) => {
    const doc = readAppliedRecord(hostHome(s, m));
    // the GPOs that won the firewall's settings (one, in the lab)
    const fw = [...new Set(Object.values(doc?.sources.firewall ?? {}).map((g) => g.name))];
    return {
      host: m,
      applied: (doc?.applied ?? []).map((a) => a.name),
      ipsecFrom: doc?.sources.ipsec?.name ?? null,
      firewallFrom: fw.length > 0 ? fw.join(", ") : null,
    };
  });
}

export function formatSources(sources: PolicySource[]): string {
  return sources
    .map(
      (p) =>
        `policy of ${p.host}: IPsec from ${p.ipsecFrom ? `GPO '${p.ipsecFrom}'` : "the local store"}, firewall from ${p.firewallFrom ? `GPO '${p.firewallFrom}'` : "the local settings"} (GPOs applied: ${p.applied.join(", ") || "none"})`,
    )
    .join("\n");
}
