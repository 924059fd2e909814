/**
 * Assigning an IPsec policy in a Group Policy object, as [MS-GPIPSEC] 2.2.2 and Windows'
 * snap-in do:
 * - the GPO's link object `CN=ipsec,CN=Windows,CN=Microsoft,CN=Machine,<GPO DN>` (class
 *   ipsecPolicy) names the policy in ipsecOwnersReference, with its ipsecName and
 *   description for display (the two containers above it are created when missing);
 * - the GPO's gPCMachineExtensionNames gains the IP Security client-side extension with its
 *   tool extension, `[{E437BC1C-...}{DEA8AFA0-...}]`, kept sorted as Windows keeps it;
 * - the GPO's versionNumber is raised by one in its machine half (low 16 bits), so clients
 *   see a change.
 * Unassigning deletes the link object and removes the extension pair.
 */
import { formatGuid, parseGuid } from "../policy/defaults.js";
import type { Guid } from "../policy/model.js";
import type { DirChange, DirEntry, Directory } from "./directory.js";
import { GpipsecError } from "./objects.js";

export const IPSEC_CSE = "e437bc1c-aa7d-11d2-a382-00c04f991e27";
export const IPSEC_TOOL = "dea8afa0-cc85-11d0-9ce2-0080c7221ebd";

export interface GpoInfo {
  dn: string;
  guid: Guid;
  name: string;
  machineExtensions: string;
  version: number;
  /** gPCFileSysPath: the GPO's folder in SYSVOL, `\\dom\SysVol\dom\Policies\{GUID}`. */
  fileSysPath: string;
}

const b = (s: string) => Buffer.from(s, "utf8");
const str = (e: DirEntry, a: string) => e.attributes.get(a)?.[0]?.toString("utf8");

export function policiesContainer(domainDn: string): string {
  return `CN=Policies,CN=System,${domainDn}`;
}

function gpoOf(e: DirEntry): GpoInfo {
  const guid = parseGuid(str(e, "cn") ?? "");
  if (!guid) throw new GpipsecError(`${e.dn}: the GPO's cn is not a GUID`);
  return {
    dn: e.dn,
    guid,
    name: str(e, "displayname") ?? formatGuid(guid),
    machineExtensions: str(e, "gpcmachineextensionnames") ?? "",
    version: Number(str(e, "versionnumber") ?? "0"),
    fileSysPath: str(e, "gpcfilesyspath") ?? "",
  };
}

const GPO_ATTRS = [
  "cn",
  "displayname",
  "gpcmachineextensionnames",
  "versionnumber",
  "gpcfilesyspath",
];

/** Every GPO of the domain. */
export async function listGpos(dir: Directory, domainDn: string): Promise<GpoInfo[]> {
  const found = await dir.search({
    base: policiesContainer(domainDn),
    scope: "one",
    filter: "(objectClass=groupPolicyContainer)",
    attributes: GPO_ATTRS,
  });
  return found.map(gpoOf).sort((x, y) => x.name.localeCompare(y.name));
}

/** A GPO by display name (any case) or by its {GUID}. */
export async function findGpo(dir: Directory, domainDn: string, name: string): Promise<GpoInfo> {
  const g = parseGuid(name);
  const hit = (await listGpos(dir, domainDn)).filter((x) =>
    g ? x.guid === g : x.name.toLowerCase() === name.toLowerCase(),
  );
  if (hit.length === 0) throw new GpipsecError(`no Group Policy object '${name}' in the domain`);
  if (hit.length > 1)
    throw new GpipsecError(
      `${hit.length} Group Policy objects are named '${name}': give its {GUID}`,
    );
  return hit[0] as GpoInfo;
}

export function ipsecLinkDn(gpo: GpoInfo): string {
  return `CN=ipsec,CN=Windows,CN=Microsoft,CN=Machine,${gpo.dn}`;
}

/** The DN of the policy a GPO assigns, or null. */
export async function assignedPolicyDn(dir: Directory, gpo: GpoInfo): Promise<string | null> {
  const found = await dir
    .search({
      base: ipsecLinkDn(gpo),
      scope: "base",
      filter: "(objectClass=*)",
      attributes: ["ipsecownersreference"],
    })
    .catch(() => []);
  return found[0] ? (str(found[0], "ipsecownersreference") ?? null) : null;
}

/** `[{cse}{tool}...]...` as a map cse -> tools (GUIDs lower case, no braces). */
export function parseExtensionNames(text: string): Map<Guid, Guid[]> {
  const out = new Map<Guid, Guid[]>();
  for (const m of text.matchAll(/\[([^\]]*)\]/g)) {
    const guids = [...(m[1] as string).matchAll(/\{([0-9a-fA-F-]{36})\}/g)].map((x) =>
      (x[1] as string).toLowerCase(),
    );
    const [cse, ...tools] = guids;
    if (cse) out.set(cse, tools);
  }
  return out;
}

export function formatExtensionNames(m: ReadonlyMap<Guid, Guid[]>): string {
  return [...m.keys()]
    .sort()
    .map((cse) => `[${formatGuid(cse)}${[...(m.get(cse) ?? [])].sort().map(formatGuid).join("")}]`)
    .join("");
}

/** gPCMachineExtensionNames with (or without) one CSE/tool pair; "" stays "" when empty. */
export function withExtension(text: string, cse: Guid, tool: Guid, present: boolean): string {
  const m = parseExtensionNames(text);
  if (present) {
    const tools = m.get(cse) ?? [];
    if (!tools.includes(tool)) tools.push(tool);
    m.set(cse, tools);
  } else m.delete(cse);
  return formatExtensionNames(m);
}

/** The GPO's versionNumber with the machine half raised by one. */
export function bumpMachineVersion(v: number): number {
  const user = Math.floor(v / 0x10000);
  const machine = ((v & 0xffff) + 1) & 0xffff;
  return user * 0x10000 + machine;
}

/**
 * Sets the GPO's extension names and its version (one modify): `version`, the one written
 * to GPT.INI (sysvol.ts), else the machine half raised by one.
 */
export async function touchGpo(
  dir: Directory,
  gpo: GpoInfo,
  extensions: string,
  version = bumpMachineVersion(gpo.version),
): Promise<void> {
  const changes: DirChange[] = [
    { operation: "replace", type: "versionNumber", values: [b(String(version))] },
  ];
  if (extensions !== gpo.machineExtensions)
    changes.push({
      operation: "replace",
      type: "gPCMachineExtensionNames",
      values: extensions === "" ? [] : [b(extensions)],
    });
  await dir.modify(gpo.dn, changes);
}

/** True when `dn` exists (a failed base search means it does not). */
async function exists(dir: Directory, dn: string): Promise<boolean> {
  const found = await dir
    .search({ base: dn, scope: "base", filter: "(objectClass=*)" })
    .catch(() => []);
  return found.length > 0;
}

async function ensureContainer(dir: Directory, dn: string): Promise<void> {
  if (!(await exists(dir, dn))) await dir.add(dn, new Map([["objectclass", [b("container")]]]));
}

/**
 * Assigns `policy` (its DN, name and description) in the GPO, or unassigns with null.
 * `bumpGpt`, when given, raises GPT.INI's version in SYSVOL and returns it (the snap-in
 * bumps both the files' and the directory's version).
 */
export async function assignInGpo(
  dir: Directory,
  gpo: GpoInfo,
  policy: { dn: string; name: string; description: string } | null,
  bumpGpt?: (gpo: GpoInfo) => Promise<number>,
): Promise<void> {
  const link = ipsecLinkDn(gpo);
  const linked = await exists(dir, link);
  if (policy === null) {
    if (linked) await dir.delete(link);
  } else {
    const attrs: [string, string][] = [
      ["ipsecOwnersReference", policy.dn],
      ["ipsecName", policy.name],
      ["description", policy.description],
    ];
    if (!linked) {
      await ensureContainer(dir, `CN=Microsoft,CN=Machine,${gpo.dn}`);
      await ensureContainer(dir, `CN=Windows,CN=Microsoft,CN=Machine,${gpo.dn}`);
      await dir.add(
        link,
        new Map([
          ["objectclass", [b("ipsecPolicy")]],
          ...attrs
            .filter(([, v]) => v !== "")
            .map(([k, v]): [string, Buffer[]] => [k.toLowerCase(), [b(v)]]),
        ]),
      );
    } else {
      await dir.modify(
        link,
        attrs.map(([k, v]) => ({ operation: "replace", type: k, values: v === "" ? [] : [b(v)] })),
      );
    }
  }
  await touchGpo(
    dir,
    gpo,
    withExtension(gpo.machineExtensions, IPSEC_CSE, IPSEC_TOOL, policy !== null),
    bumpGpt ? await bumpGpt(gpo) : undefined,
  );
}
