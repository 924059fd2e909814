/**
 * `netsh firewall ... store=domain gponame=G` on an Active Directory member: the command
 * edits the Windows Firewall settings of GPO G as the Group Policy editor does, in the GPO's
 * Machine\Registry.pol in SYSVOL (the XP SP2 / 2003 SP1 policy keys, src/gpipsec/firewall-pol.ts):
 *   1. the GPO is found over LDAP and its Registry.pol read over SMB (none yet: empty);
 *   2. the command runs on the settings the GPO yields over Windows' defaults, with the same
 *      parsing and checks as on the local store (set.ts, bypass.ts); what it names becomes
 *      *configured* in the GPO, even a value equal to the default (as "Enabled" in the
 *      editor), and everything else the GPO configured stays;
 *   3. Registry.pol is written back (records of other settings kept as they were), GPT.INI's
 *      version raised, and the GPO's versionNumber set to the same with the Registry
 *      extension `[{35378EAC-...}{D02B1F72-...}]` in gPCMachineExtensionNames ([MS-GPREG]
 *      1.9: the CSE and the computer-settings tool extension).
 * Settings with no Registry.pol mapping here (allowed programs, services, notifications,
 * multicast response, the current profile, reset) are refused with one line. A profile
 * left unnamed is the domain profile (a GPO's settings are a domain member's).
 */
import type { CliEnv } from "../../cmdline/env.js";
import { UsageError } from "../../errors.js";
import {
  type FirewallSettings,
  ICMP_TYPES,
  type IcmpSettingType,
  defaultSettings,
} from "../../firewall/model.js";
import type { PrincipalResolver } from "../../firewall/principals.js";
import {
  BYPASS_KEY,
  FIREWALL_KEY,
  type FirewallPolicy,
  firewallPolicyFromPol,
  mergeFirewall,
  polFromFirewallPolicy,
} from "../../gpipsec/firewall-pol.js";
import { findGpo, touchGpo, withExtension } from "../../gpipsec/gpo.js";
import { formatRegistryPol, type PolRecord, parseRegistryPol } from "../../gpipsec/registrypol.js";
import { gpoFolder, readSysvolFile, SysvolError, writeSysvolFile } from "../../gpipsec/sysvol.js";
import { one, parseTagged, type TaggedArgs } from "../args.js";
import { adSession } from "../ipsec-static/ad-member.js";
import { editBypass, NAME_BYPASS, SET_BYPASS } from "./bypass.js";
import { profilesOf, settingsEdit } from "./set.js";

/** The Registry Settings client-side extension and its computer tool extension ([MS-GPREG] 1.9). */
export const REGISTRY_CSE = "35378eac-683f-11d2-a89a-00c04fbbcfa2";
export const REGISTRY_TOOL = "d02b1f72-3407-48ae-ba88-e8213c6761f1";

const WRITABLE = [
  "set opmode",
  "add portopening",
  "set portopening",
  "delete portopening",
  "set icmpsetting",
  "set logging",
  "set bypass",
  "add bypass",
  "delete bypass",
];

/**
 * Takes `store=` and `gponame=` off a command's tokens: the GPO's name when store=domain,
 * null for the local store (store=local or no store=).
 */
export function domainTarget(tokens: readonly string[]): { gpo: string | null; rest: string[] } {
  let store: string | undefined;
  let gpo: string | undefined;
  const rest: string[] = [];
  for (const t of tokens) {
    const m = /^(store|gponame)=(.*)$/is.exec(t);
    if (!m) rest.push(t);
    else if ((m[1] as string).toLowerCase() === "store") store = (m[2] as string).toLowerCase();
    else gpo = m[2] as string;
  }
  if (store !== undefined && store !== "local" && store !== "domain")
    throw new UsageError(`store: expected LOCAL or DOMAIN, got '${store}'`);
  if (store !== "domain") {
    if (gpo !== undefined) throw new UsageError("gponame= needs store=domain");
    return { gpo: null, rest };
  }
  if (!gpo) throw new UsageError("store=domain needs gponame=NAME (the GPO to write)");
  return { gpo, rest };
}

/** Is this record one the firewall mapping writes (so a rewrite replaces it)? */
function firewallRecord(r: PolRecord): boolean {
  const key = r.key.toLowerCase();
  const value = r.value.toLowerCase().replace(/^\*\*del\./, "");
  if (key === BYPASS_KEY.toLowerCase()) return value === "bypassfirewall";
  for (const p of ["DomainProfile", "StandardProfile"]) {
    const root = `${FIREWALL_KEY}\\${p}`.toLowerCase();
    if (key === root) return value === "enablefirewall" || value === "donotallowexceptions";
    if (key === `${root}\\globallyopenports` || key === `${root}\\globallyopenports\\list`)
      return true;
    if (key === `${root}\\icmpsettings` || key === `${root}\\logging`) return true;
  }
  return false;
}

/** The GPO's records with the firewall ones replaced by `p`'s; other settings kept in place. */
export function withFirewallPolicy(records: readonly PolRecord[], p: FirewallPolicy): PolRecord[] {
  return [...records.filter((r) => !firewallRecord(r)), ...polFromFirewallPolicy(p)];
}

/** `firewall VERB OBJECT store=domain`, refused unless Registry.pol carries it here. */
function mustBeWritable(verb: string, object: string): string {
  const k = `${verb} ${object}`;
  const cmd = `firewall ${k} store=domain`;
  if (!WRITABLE.includes(k))
    throw new UsageError(
      `${cmd}: not a Registry.pol setting postern writes (store=domain takes set opmode, add|set|delete portopening, set icmpsetting, set logging, set|add|delete bypass)`,
    );
  return cmd;
}

/**
 * `p` after the command: it runs on the GPO's settings over Windows' defaults, and what it
 * names is copied back as configured.
 */
export async function editFirewallPolicy(
  p: FirewallPolicy,
  verb: string,
  object: string,
  rest: readonly string[],
  env: CliEnv,
  resolver: () => PrincipalResolver,
): Promise<FirewallPolicy> {
  const cmd = mustBeWritable(verb, object);
  const base: FirewallSettings = { ...defaultSettings(), currentProfile: "domain" };
  const s = mergeFirewall(base, p);
  const next = structuredClone(p);
  if (object === "bypass") {
    const args = parseTagged(rest, verb === "set" ? SET_BYPASS : NAME_BYPASS, cmd);
    await editBypass(verb as "set" | "add" | "delete", s, args, resolver());
    next.bypass = s.bypass.map((b) => b.sid);
    return next;
  }
  const edit = settingsEdit(verb, object);
  if (!edit) throw new UsageError(`${cmd}: unknown command`);
  const args: TaggedArgs = parseTagged(rest, edit.specs, cmd);
  if (object === "portopening" && one(args, "protocol")?.toLowerCase() === "all")
    throw new UsageError(`${cmd}: a GPO's port list names TCP or UDP: give each`);
  edit.edit(s, args, env);
  if (object === "logging") {
    const l = { ...next.logging };
    if (one(args, "filelocation") !== undefined) {
      // the Windows default (%systemroot%\pfirewall.log, or "") is "not configured" here
      const f = s.logging.file;
      if (f !== null && !/^%(systemroot|windir)%/i.test(one(args, "filelocation") as string))
        l.file = f;
      else delete l.file;
    }
    if (one(args, "filesize") !== undefined) l.maxSizeKb = s.logging.maxSizeKb;
    if (one(args, "droppedpackets") !== undefined) l.droppedPackets = s.logging.droppedPackets;
    if (one(args, "connections") !== undefined) l.connections = s.logging.connections;
    next.logging = l;
    return next;
  }
  for (const profile of profilesOf(s, one(args, "profile"))) {
    const from = s.profiles[profile];
    const to = { ...next.profiles[profile] };
    if (object === "opmode") {
      to.enabled = from.enabled;
      if (one(args, "exceptions") !== undefined) to.exceptions = from.exceptions;
    } else if (object === "portopening") {
      to.portOpenings = structuredClone(from.portOpenings);
    } else if (object === "icmpsetting") {
      const t = (one(args, "type") as string).toLowerCase();
      const types: IcmpSettingType[] =
        t === "all" ? [...ICMP_TYPES] : [Number(t) as IcmpSettingType];
      const icmp = { ...to.icmp };
      for (const ty of types) icmp[`${ty}`] = from.icmp[`${ty}`];
      to.icmp = icmp;
    }
    next.profiles[profile] = to;
  }
  return next;
}

/** Runs a firewall command on GPO `gpoName`'s Registry.pol (see the top of this file). */
export async function domainFirewall(
  verb: string,
  object: string,
  rest: readonly string[],
  gpoName: string,
  env: CliEnv,
  resolver: () => PrincipalResolver,
): Promise<void> {
  if (verb === "show")
    throw new UsageError(
      "firewall show store=domain: not written yet (show reads the local store)",
    );
  mustBeWritable(verb, object); // before any ticket or connection
  const ad = await adSession(env);
  const gpo = await ad.session((dir) => findGpo(dir, ad.domainDn, gpoName));
  const file = `${gpoFolder(gpo.fileSysPath)}\\Machine\\Registry.pol`;
  let records: PolRecord[] = [];
  try {
    records = parseRegistryPol(await readSysvolFile(ad.sysvol, file));
  } catch (e) {
    if (!(e instanceof SysvolError && e.notFound)) throw e;
  }
  const next = await editFirewallPolicy(
    firewallPolicyFromPol(records),
    verb,
    object,
    rest,
    env,
    resolver,
  );
  await writeSysvolFile(ad.sysvol, file, formatRegistryPol(withFirewallPolicy(records, next)));
  const version = await ad.bumpGpt(gpo);
  await ad.session((dir) =>
    touchGpo(
      dir,
      gpo,
      withExtension(gpo.machineExtensions, REGISTRY_CSE, REGISTRY_TOOL, true),
      version,
    ),
  );
  env.out("Ok.");
}
