/**
 * `postern lab up --dc samba`: the article's network with Active Directory as the domain.
 *   1. namespaces as `lab up` makes them, plus dc2 (.11);
 *   2. dc1: a Samba AD DC, domain bigfirm.com provisioned in its namespace (KDC, LDAP, DNS,
 *      and the RPC, replication and topology services a partner needs);
 *   3. dc1's DC SPNs registered (samba_spnupdate, as Samba's dnsupdate service would at
 *      its first start), then dc2: `samba-tool domain join bigfirm.com DC` against dc1,
 *      then running: both DCs replicate by themselves (DRSUAPI; a change on dc1 reaches
 *      dc2 within seconds); each DC's namespace asks the domain's DNS (resolv.conf of
 *      /etc/netns/<ns>/), since a DC finds its partner by name;
 *   4. DNS: dc2's SRV records (_kerberos._udp, _kerberos._tcp, _ldap._tcp.dc._msdcs: Samba
 *      registers a joined DC's own records only through samba_dnsupdate and nsupdate, which
 *      the lab does not run), the members' A records and a reverse zone with their PTRs
 *      (an IKE initiator asks the peer's name by PTR before it asks a host/ ticket);
 *   5. the directory: group `trusted` (global, security), the three members pre-staged as
 *      an AD administrator would (ad-member.ts), xpclient$ in `trusted`;
 *   6. the members' machine keytabs and machine.json (`kind: "ad"`, both DCs as the
 *      domain's DNS servers), no `postern join`;
 *   7. the article's IPsec policies and server1's firewall: by default from GPOs (the
 *      article's scripts run on the domain's store, then `postern gpupdate` on each
 *      member: gpo-policy.ts); with `--policy-from local`, each host's netsh scripts, the
 *      bypass SDDL naming trusted's SID;
 *   8. server1's website and the three agents, as in `lab up`.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { CliEnv } from "../cmdline/env.js";
import { randomBytes } from "../crypto/primitives.js";
import { PosternError } from "../errors.js";
import { installAdMember, prestageComputers, sidOf } from "./ad-member.js";
import { gpupdateMembers, LAB_GPOS, layOutGpos, writeGpoPolicies } from "./gpo-policy.js";
import { must, mustAsync, posternArgv, startDaemon } from "./run.js";
import {
  existingSambaDc,
  joinSambaDc,
  provisionSambaDc,
  REPLICATING_SERVICES,
  type SambaDc,
  type SambaDcOptions,
  setNetnsResolver,
} from "./samba.js";
import { hostHome, type LabSign, type LabState, type PolicyFrom, saveLabState } from "./state.js";
import { DC2, DOMAIN, host, hostsOf, NETBIOS, namespaceOf } from "./topology.js";
import {
  buildNetwork,
  configureIpsec,
  newLabState,
  type Progress,
  startHosts,
  step,
} from "./up.js";

export const REALM = DOMAIN.toUpperCase();
export const BYPASS_GROUP = "trusted";
const SAMBA_READY_MS = 90_000;

const passwordFile = (s: LabState) => path.join(s.dir, "admin-password.txt");

/** The Samba DC `name` of the lab `s` (its directory is <host home>/samba). */
export function labSambaDc(s: LabState, name: "dc1" | "dc2"): SambaDc {
  return existingSambaDc(sambaOptions(s, name));
}

function sambaOptions(s: LabState, name: "dc1" | "dc2"): SambaDcOptions {
  return {
    dir: path.join(hostHome(s, name), "samba"),
    ns: namespaceOf(s.id, name),
    realm: REALM,
    domain: NETBIOS,
    hostName: name,
    adminPassword: fs.existsSync(passwordFile(s))
      ? fs.readFileSync(passwordFile(s), "utf8").trim()
      : "",
    iface: "eth0",
    ip: host(name).address,
    // GPOs: dc1 serves SYSVOL too (the GPOs' folders, Registry.pol); Samba does not
    // replicate SYSVOL, so dc2 serves none and the members read their GPOs' files on dc1
    services:
      name === "dc1" && s.policyFrom === "gpo"
        ? [...REPLICATING_SERVICES, "s3fs", "winbindd"]
        : REPLICATING_SERVICES,
  };
}

/** Starts a DC's samba as a lab process (pid recorded) and waits for its ports. */
export async function startSamba(home: string, s: LabState, dc: SambaDc, name: string) {
  await startDaemon(s, home, {
    name: `${name}-samba`,
    ns: dc.ns,
    argv: dc.argv,
    ready: null,
    timeoutMs: 0,
  });
  await dc.waitListening(SAMBA_READY_MS);
}

/** `samba-tool dns ...` commands against dc1's DNS server over RPC, as Administrator. */
function dnsCommands(s: LabState, dc1: SambaDc, cmds: string[][]): string[][] {
  const pw = fs.readFileSync(passwordFile(s), "utf8").trim();
  return cmds.map((c) => [
    "dns",
    c[0] as string,
    dc1.ip,
    ...c.slice(1),
    `--username=${NETBIOS}\\Administrator`,
    `--password=${pw}`,
  ]);
}

async function startDcs(home: string, s: LabState, progress: Progress): Promise<void> {
  // Samba wants a complex password: the suffix gives every class whatever the random part
  fs.writeFileSync(passwordFile(s), `${randomBytes(15).toString("base64")}Aa1!\n`, {
    mode: 0o600,
  });
  for (const name of ["dc1", "dc2"] as const) {
    // each DC asks itself first, then its partner
    const other = name === "dc1" ? DC2.address : host("dc1").address;
    setNetnsResolver(namespaceOf(s.id, name), DOMAIN, [host(name).address, other]);
    fs.mkdirSync(sambaOptions(s, name).dir, { recursive: true, mode: 0o700 });
  }
  const dc1 = await step(progress, `dc1: domain ${DOMAIN} provisioned`, () =>
    provisionSambaDc(sambaOptions(s, "dc1")),
  );
  await step(progress, "dc1: samba listening", () => startSamba(home, s, dc1, "dc1"));
  await step(progress, "dc1: its DC SPNs registered (samba_spnupdate)", () => registerDcSpns(dc1));
  const dc2 = await step(progress, "dc2: joined to dc1 as a DC (directory replicated)", () =>
    joinSambaDc({ ...sambaOptions(s, "dc2"), server: dc1.ip }),
  );
  await step(progress, "dc2: samba listening", () => startSamba(home, s, dc2, "dc2"));
}

/**
 * dc1's DC SPNs (E3514235-4B06-11D1-AB04-00C04FC2DCD2/<NTDS GUID>/<domain>, ldap/, GC/):
 * a provisioned DC gets them from samba_spnupdate, which Samba's dnsupdate service runs; the
 * lab does not run that service, and without the DRS SPN dc2's replication service gets no
 * ticket to bind to dc1's DRSUAPI (its log: "not registered with our KDC", then
 * NT_STATUS_INVALID_PARAMETER; `drs showrepl`: WERR_INVALID_PARAMETER), so dc2 would
 * never pull by itself. dc2's join copies them; its own come from the join.
 */
function registerDcSpns(dc1: SambaDc): void {
  must(dc1.ns, ["samba_spnupdate", "-s", dc1.conf], { timeoutMs: 120_000 });
}

function publishDns(s: LabState): void {
  const dc1 = labSambaDc(s, "dc1");
  const dc2 = `dc2.${DOMAIN}`;
  const reverse = "0.18.198.in-addr.arpa";
  const members = hostsOf("samba").filter((h) => h.member);
  dc1.tools(
    dnsCommands(s, dc1, [
      ["add", DOMAIN, "_kerberos._udp", "SRV", `${dc2} 88 0 100`],
      ["add", DOMAIN, "_kerberos._tcp", "SRV", `${dc2} 88 0 100`],
      ["add", `_msdcs.${DOMAIN}`, "_ldap._tcp.dc", "SRV", `${dc2} 389 0 100`],
      ["zonecreate", reverse],
      ...members.flatMap((h) => [
        ["add", DOMAIN, h.name, "A", h.address],
        ["add", reverse, h.address.split(".")[3] as string, "PTR", `${h.name}.${DOMAIN}`],
      ]),
    ]),
  );
}

/** Group trusted, the members pre-staged and installed, xpclient$ in trusted. */
function populate(s: LabState): string {
  const dc1 = labSambaDc(s, "dc1");
  const members = hostsOf("samba").filter((h) => h.member);
  dc1.tools([["group", "add", BYPASS_GROUP, "--description=may bypass server1's firewall"]]);
  const made = prestageComputers(
    dc1,
    members.map((h) => h.name),
    s.dir,
  );
  for (const c of made) {
    installAdMember(hostHome(s, c.name), dc1, c, "dc1", [dc1.ip, DC2.address]);
    fs.rmSync(c.keytab, { force: true });
  }
  dc1.tools([["group", "addmembers", BYPASS_GROUP, "XPCLIENT$"]]);
  return sidOf(dc1, "group", BYPASS_GROUP);
}

/**
 * Asks dc2's own replication service to pull dc1's changes now (DsReplicaSync, as
 * `repadmin /syncall` on Windows) for the domain and its DNS zones; without it a change
 * on dc1 reaches dc2 within seconds all the same (dc1 notifies its partner).
 */
export function replicateToDc2(s: LabState): void {
  const dc2 = labSambaDc(s, "dc2");
  for (const nc of [DOMAIN_DN, `DC=DomainDnsZones,${DOMAIN_DN}`])
    must(dc2.ns, ["samba-tool", "drs", "replicate", "dc2", "dc1", nc, "-s", dc2.conf], {
      timeoutMs: 60_000,
    });
}

const DOMAIN_DN = DOMAIN.split(".")
  .map((p) => `DC=${p}`)
  .join(",");

/** How long the lab waits for dc2 to read a change made on dc1. */
export const REPLICATION_BOUND_MS = 60_000;

/**
 * Waits (bounded) until `holds` is true of dc2's own directory: Samba's replication, not
 * the lab, brings dc1's changes; returns the wait in ms.
 */
export async function waitForDc2(
  s: LabState,
  what: string,
  holds: (dc2: SambaDc) => boolean,
): Promise<number> {
  const dc2 = labSambaDc(s, "dc2");
  const t0 = Date.now();
  for (;;) {
    if (holds(dc2)) return Date.now() - t0;
    if (Date.now() - t0 > REPLICATION_BOUND_MS)
      throw new PosternError(
        "lab",
        `dc2 does not read ${what} ${REPLICATION_BOUND_MS / 1000} s after the change on dc1 (replication: samba-tool drs showrepl in dc2's namespace)`,
      );
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** Whether dc2 lists `member` in the group `group` (false while dc2 has no such group yet). */
export function dc2HasMember(dc2: SambaDc, group: string, member: string): boolean {
  let members: string;
  try {
    members = dc2.tool("group", "listmembers", group);
  } catch (e) {
    // the group itself not replicated yet: waitForDc2 asks again, within its bound
    if (/Unable to find group/.test((e as Error).message)) return false;
    throw e;
  }
  return members.split("\n").some((m) => m.trim().toUpperCase() === member.toUpperCase());
}

/**
 * dc2 reads what was made on dc1 (group, computers, membership, and the members' PTR
 * records its DNS serves when dc1 is down), by replication alone.
 */
async function replicatedToDc2(s: LabState): Promise<number> {
  const members = hostsOf("samba").filter((x) => x.member);
  const zones = `DC=DomainDnsZones,${DOMAIN_DN}`;
  const db = path.join(hostHome(s, "dc2"), "samba", "private", "sam.ldb");
  const ptrs = (): string =>
    must(null, ["ldbsearch", "-H", db, "-b", zones, "(objectClass=dnsNode)", "dn"]);
  return waitForDc2(s, `xpclient$ in ${BYPASS_GROUP}, the members' computers and PTRs`, (dc2) => {
    if (!dc2HasMember(dc2, BYPASS_GROUP, "XPCLIENT$")) return false;
    const computers = dc2.tool("computer", "list").toUpperCase();
    const reverse = ptrs();
    return members.every(
      (h) =>
        computers.includes(`${h.name.toUpperCase()}$`) &&
        reverse.includes(`DC=${h.address.split(".")[3]},DC=0.18.198.in-addr.arpa,`),
    );
  });
}

/** server1's firewall: the article's, with the bypass SDDL naming the group by SID. */
async function configureFirewall(s: LabState, trustedSid: string): Promise<void> {
  const script = path.join(s.dir, "server1-firewall.netsh");
  fs.writeFileSync(
    script,
    [
      "pushd firewall",
      "set opmode mode=enable exceptions=enable",
      "set logging droppedpackets=enable connections=disable",
      `set bypass sddl="O:DAG:DAD:(A;;RCGW;;;${trustedSid})"`,
      "popd",
      "",
    ].join("\n"),
  );
  await mustAsync(namespaceOf(s.id, "server1"), [
    ...posternArgv(),
    "--home",
    hostHome(s, "server1"),
    "netsh",
    "-f",
    script,
  ]);
}

/**
 * The policies from GPOs: the directory laid out (OUs, GPOs, links, the IP Security ACE),
 * the article's scripts on the domain's store, then gpupdate on each member.
 */
async function policiesFromGpos(s: LabState, progress: Progress): Promise<void> {
  const pw = fs.readFileSync(passwordFile(s), "utf8").trim();
  const g = LAB_GPOS;
  await step(
    progress,
    `GPOs: '${g.serverIpsec.name}' and '${g.firewall.name}' linked to OU=Servers (server1), '${g.clientIpsec.name}' to OU=Clients (xpclient, client2)`,
    () => layOutGpos(labSambaDc(s, "dc1"), pw),
  );
  await step(
    progress,
    "article's netsh scripts run on the domain's store as Administrator (IPsec policies in AD, assigned in the GPOs; server1's firewall in its GPO's Registry.pol)",
    () => writeGpoPolicies(s, pw),
  );
  await step(progress, "gpupdate on server1, xpclient, client2 (policies from the GPOs)", () =>
    gpupdateMembers(s),
  );
}

export async function labUpSamba(
  env: CliEnv,
  progress: Progress,
  sign: LabSign = "ah",
  policyFrom: PolicyFrom = "gpo",
): Promise<LabState> {
  const s = newLabState(env.home, "samba", sign);
  s.policyFrom = policyFrom;
  saveLabState(env.home, s);
  const hosts = hostsOf("samba");
  await step(
    progress,
    `network: switch and ${hosts.length} namespaces (${s.id}-*), 198.18.0.0/24`,
    () => buildNetwork(env.home, s, hosts),
  );
  await step(progress, `dc1, dc2: Samba AD DCs of ${DOMAIN}, dc2 joined to dc1 (replicating)`, () =>
    startDcs(env.home, s, progress),
  );
  await step(progress, "DNS: dc2's SRV records, the members' A and PTR records", () =>
    publishDns(s),
  );
  const trustedSid = await step(
    progress,
    "directory: group trusted, 3 computers pre-staged (AES keys exported), xpclient$ in trusted",
    () => populate(s),
  );
  await step(progress, "dc2: dc1's new objects replicated and read on dc2", () =>
    replicatedToDc2(s),
  );
  if (!trustedSid.startsWith("S-1-5-21-"))
    throw new PosternError("lab", `group ${BYPASS_GROUP} has no domain SID (${trustedSid})`);
  if (policyFrom === "gpo") await policiesFromGpos(s, progress);
  else
    await step(
      progress,
      "article's netsh scripts run (IPsec policies, server1's firewall)",
      async () => {
        await configureIpsec(env, s);
        await configureFirewall(s, trustedSid);
      },
    );
  await step(
    progress,
    "server1's website and the agents of server1, xpclient, client2 running",
    () => startHosts(env.home, s),
  );
  return s;
}
