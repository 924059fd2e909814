/**
 * `netsh firewall set|add|delete ...` (Windows XP SP2 / Server 2003 SP1 syntax):
 *   set opmode [mode=]ENABLE|DISABLE [exceptions=]ENABLE|DISABLE [profile=]CURRENT|DOMAIN|STANDARD|ALL
 *   add|set portopening [protocol=]TCP|UDP|ALL [port=]1-65535 [name=] [mode=] [scope=]ALL|SUBNET|CUSTOM
 *                       [addresses=]LIST [profile=]
 *   delete portopening [protocol=] [port=] [profile=]
 *   set icmpsetting [type=]2-5|8-13|17|ALL [mode=] [profile=]
 *   set logging [filelocation=] [filesize=]1-32767 [droppedpackets=] [connections=]
 *   add|set allowedprogram [program=]PATH [name=] [mode=] [scope=] [addresses=] [profile=]
 *   delete allowedprogram [program=]PATH [profile=]
 *   set service [type=]FILEANDPRINT|REMOTEADMIN|REMOTEDESKTOP|UPNP|ALL [mode=] [scope=]
 *               [addresses=] [profile=]
 *   set notifications [mode=]ENABLE|DISABLE [profile=]
 *   set multicastbroadcastresponse [mode=]ENABLE|DISABLE [profile=]
 *   reset                                                 (Windows' defaults; bypass kept)
 *   set currentprofile [profile=]DOMAIN|STANDARD          (postern extension)
 * Each edits a copy of the settings; the copy is validated and saved only when the whole
 * command is good, so bad input leaves the file unchanged.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { CliEnv } from "../../cmdline/env.js";
import { UsageError } from "../../errors.js";
import { FirewallError } from "../../firewall/errors.js";
import {
  type AllowedProgram,
  type FirewallSettings,
  ICMP_TYPES,
  type IcmpSettingType,
  type PortOpening,
  type ProfileName,
  SERVICE_TYPES,
  type ServiceType,
  defaultSettings,
} from "../../firewall/model.js";
import { parseAddressList } from "../../firewall/scope.js";
import { defaultLogFile } from "../../firewall/store.js";
import { parsePort } from "../../firewall/validate.js";
import { one, parseBool, parseIntIn, parseKeyword, type TaggedArgs } from "../args.js";

export type Edit = (s: FirewallSettings, args: TaggedArgs, env: CliEnv) => void;

/** profile= CURRENT|DOMAIN|STANDARD|ALL -> the profiles it names (default CURRENT). */
export function profilesOf(s: FirewallSettings, value: string | undefined): ProfileName[] {
  const p = parseKeyword(value ?? "current", ["current", "domain", "standard", "all"], "profile");
  if (p === "current") return [s.currentProfile];
  if (p === "all") return ["domain", "standard"];
  return [p];
}

/** Windows Firewall's ENABLE|DISABLE (yes/no and the like are taken too); the message names
 * the firewall's own words, not netsh ipsec's yes|no. */
function on(v: string, tag: string): boolean {
  try {
    return parseBool(v, tag);
  } catch {
    throw new UsageError(`${tag}: expected ENABLE or DISABLE, got '${v}'`);
  }
}

export const OPMODE = [{ tag: "mode", required: true }, { tag: "exceptions" }, { tag: "profile" }];
function setOpmode(s: FirewallSettings, a: TaggedArgs): void {
  const mode = on(one(a, "mode") as string, "mode");
  const exc = one(a, "exceptions");
  const exceptions = exc === undefined ? undefined : on(exc, "exceptions");
  for (const p of profilesOf(s, one(a, "profile"))) {
    s.profiles[p].enabled = mode;
    if (exceptions !== undefined) s.profiles[p].exceptions = exceptions;
  }
}

const PORT_TAGS = ["protocol", "port", "name", "mode", "scope", "addresses", "profile"];
export const ADD_PORT = PORT_TAGS.map((tag) => ({
  tag,
  required: ["protocol", "port", "name"].includes(tag),
}));
export const SET_PORT = PORT_TAGS.map((tag) => ({
  tag,
  required: ["protocol", "port"].includes(tag),
}));
export const DELETE_PORT = [
  { tag: "protocol", required: true },
  { tag: "port", required: true },
  { tag: "profile" },
];

function keyOf(a: TaggedArgs): { protocol: PortOpening["protocol"]; port: number } {
  const protocol = parseKeyword(one(a, "protocol") as string, ["tcp", "udp", "all"], "protocol");
  return { protocol, port: parsePort(one(a, "port") as string) };
}

function scopeOf(
  a: TaggedArgs,
  prev: Pick<PortOpening, "scope" | "addresses"> | undefined,
): Pick<PortOpening, "scope" | "addresses"> {
  const scopeText = one(a, "scope");
  const addrText = one(a, "addresses");
  let scope =
    scopeText === undefined
      ? undefined
      : parseKeyword(scopeText, ["all", "subnet", "custom"], "scope");
  if (scope === undefined && addrText !== undefined) scope = "custom";
  scope ??= prev?.scope ?? "all";
  if (scope !== "custom" && addrText !== undefined) {
    throw new FirewallError(
      "bad-scope",
      `addresses= needs scope=CUSTOM (got scope=${scope.toUpperCase()})`,
    );
  }
  if (scope !== "custom") return { scope, addresses: [] };
  const addresses = addrText !== undefined ? parseAddressList(addrText) : (prev?.addresses ?? []);
  if (addresses.length === 0) {
    throw new FirewallError(
      "bad-scope",
      "scope=CUSTOM needs addresses= (e.g. addresses=10.0.0.0/24,10.1.0.5)",
    );
  }
  return { scope, addresses };
}

function upsertPort(mustExist: boolean): Edit {
  return (s, a) => {
    const key = keyOf(a);
    const mode = one(a, "mode");
    for (const p of profilesOf(s, one(a, "profile"))) {
      const list = s.profiles[p].portOpenings;
      const i = list.findIndex((o) => o.protocol === key.protocol && o.port === key.port);
      const prev = i < 0 ? undefined : list[i];
      if (mustExist && !prev) {
        throw new FirewallError(
          "no-such-portopening",
          `no port opening ${key.protocol.toUpperCase()} ${key.port} in the ${p} profile (use add portopening)`,
        );
      }
      const next: PortOpening = {
        ...key,
        name: one(a, "name") ?? prev?.name ?? "",
        enabled: mode === undefined ? (prev?.enabled ?? true) : on(mode, "mode"),
        ...scopeOf(a, prev),
      };
      if (i < 0) list.push(next);
      else list[i] = next;
    }
  };
}

function deletePort(s: FirewallSettings, a: TaggedArgs): void {
  const key = keyOf(a);
  for (const p of profilesOf(s, one(a, "profile"))) {
    const list = s.profiles[p].portOpenings;
    const i = list.findIndex((o) => o.protocol === key.protocol && o.port === key.port);
    if (i < 0) {
      throw new FirewallError(
        "no-such-portopening",
        `no port opening ${key.protocol.toUpperCase()} ${key.port} in the ${p} profile`,
      );
    }
    list.splice(i, 1);
  }
}

export const ICMP = [{ tag: "type", required: true }, { tag: "mode" }, { tag: "profile" }];
function setIcmp(s: FirewallSettings, a: TaggedArgs): void {
  const t = (one(a, "type") as string).toLowerCase();
  let types: IcmpSettingType[];
  if (t === "all") types = [...ICMP_TYPES];
  else if (ICMP_TYPES.includes(Number(t) as IcmpSettingType) && /^\d+$/.test(t))
    types = [Number(t) as IcmpSettingType];
  else throw new UsageError(`type: expected one of ${ICMP_TYPES.join(", ")} or ALL, got '${t}'`);
  const mode = one(a, "mode");
  const value = mode === undefined ? true : on(mode, "mode");
  for (const p of profilesOf(s, one(a, "profile"))) {
    for (const ty of types) s.profiles[p].icmp[`${ty}`] = value;
  }
}

/** `%systemroot%\NAME` or `%windir%\NAME` (the Windows default is %systemroot%\pfirewall.log). */
const WINDOWS_DIR = /^%(systemroot|windir)%[\\/]+([^\\/%:]+)$/i;

/**
 * filelocation=: a Linux path (relative to the current directory), "" for the default, or
 * the Windows default's spelling `%systemroot%\NAME` / `%windir%\NAME`, mapped to NAME in
 * the home's firewall directory (where the default <home>/firewall/pfirewall.log lives).
 * Any other Windows path (a drive letter, a backslash, a %VARIABLE%) is refused with that hint.
 */
export function logFileOf(value: string, env: CliEnv): string | null {
  if (value === "") return null;
  const dir = path.dirname(defaultLogFile(env.home));
  const m = WINDOWS_DIR.exec(value);
  if (m) return path.join(dir, m[2] as string);
  if (/^[a-z]:/i.test(value) || value.includes("\\") || /%[^%]+%/.test(value))
    throw new UsageError(
      `filelocation: '${value}' is a Windows path; give a Linux path, or %systemroot%\\pfirewall.log for ${path.join(dir, "pfirewall.log")}`,
    );
  return path.resolve(env.cwd, value);
}

export const LOGGING = [
  { tag: "filelocation" },
  { tag: "filesize" },
  { tag: "droppedpackets" },
  { tag: "connections" },
];
function setLogging(s: FirewallSettings, a: TaggedArgs, env: CliEnv): void {
  const file = one(a, "filelocation");
  if (file !== undefined) s.logging.file = logFileOf(file, env);
  const size = one(a, "filesize");
  if (size !== undefined) s.logging.maxSizeKb = parseIntIn(size, 1, 32767, "filesize");
  const dropped = one(a, "droppedpackets");
  if (dropped !== undefined) s.logging.droppedPackets = on(dropped, "droppedpackets");
  const conns = one(a, "connections");
  if (conns !== undefined) s.logging.connections = on(conns, "connections");
}

const PROGRAM_TAGS = ["program", "name", "mode", "scope", "addresses", "profile"];
export const ADD_PROGRAM = PROGRAM_TAGS.map((tag) => ({
  tag,
  required: tag === "program" || tag === "name",
}));
export const SET_PROGRAM = PROGRAM_TAGS.map((tag) => ({ tag, required: tag === "program" }));
export const DELETE_PROGRAM = [{ tag: "program", required: true }, { tag: "profile" }];

/**
 * program=: the binary as /proc/PID/exe names it: relative to the current directory,
 * symbolic links resolved (/usr/bin/python3 -> /usr/bin/python3.11). Windows paths are
 * refused with that hint; a missing file too, as Windows does.
 */
export function programPathOf(value: string, env: CliEnv): string {
  if (/^[a-z]:/i.test(value) || value.includes("\\") || /%[^%]+%/.test(value))
    throw new UsageError(
      `program: '${value}' is a Windows path; give the Linux path of the binary (e.g. /usr/sbin/sshd)`,
    );
  const abs = path.resolve(env.cwd, value);
  try {
    return fs.realpathSync(abs);
  } catch {
    throw new FirewallError("no-such-program", `program: ${abs}: no such file`);
  }
}

function upsertProgram(mustExist: boolean): Edit {
  return (s, a, env) => {
    const program = programPathOf(one(a, "program") as string, env);
    const mode = one(a, "mode");
    for (const p of profilesOf(s, one(a, "profile"))) {
      const list = s.profiles[p].allowedPrograms;
      const i = list.findIndex((x) => x.program === program);
      const prev = i < 0 ? undefined : list[i];
      if (mustExist && !prev)
        throw new FirewallError(
          "no-such-program",
          `no allowed program ${program} in the ${p} profile (use add allowedprogram)`,
        );
      const next: AllowedProgram = {
        program,
        name: one(a, "name") ?? prev?.name ?? "",
        enabled: mode === undefined ? (prev?.enabled ?? true) : on(mode, "mode"),
        ...scopeOf(a, prev),
      };
      if (i < 0) list.push(next);
      else list[i] = next;
    }
  };
}

function deleteProgram(s: FirewallSettings, a: TaggedArgs, env: CliEnv): void {
  const raw = one(a, "program") as string;
  // A program removed from the disk can still be deleted from the list.
  const abs = path.resolve(env.cwd, raw);
  for (const p of profilesOf(s, one(a, "profile"))) {
    const list = s.profiles[p].allowedPrograms;
    let i = list.findIndex((x) => x.program === abs);
    if (i < 0) i = list.findIndex((x) => x.program === programPathOf(raw, env));
    if (i < 0)
      throw new FirewallError("no-such-program", `no allowed program ${abs} in the ${p} profile`);
    list.splice(i, 1);
  }
}

export const SERVICE = [
  { tag: "type", required: true },
  { tag: "mode" },
  { tag: "scope" },
  { tag: "addresses" },
  { tag: "profile" },
];
function setService(s: FirewallSettings, a: TaggedArgs): void {
  const t = parseKeyword(one(a, "type") as string, [...SERVICE_TYPES, "all"], "type");
  const types: ServiceType[] = t === "all" ? [...SERVICE_TYPES] : [t];
  const mode = one(a, "mode");
  const enabled = mode === undefined ? true : on(mode, "mode");
  for (const p of profilesOf(s, one(a, "profile")))
    for (const ty of types) {
      const prev = s.profiles[p].services[ty];
      s.profiles[p].services[ty] = { enabled, ...scopeOf(a, prev) };
    }
}

export const MODE_ONLY = [{ tag: "mode", required: true }, { tag: "profile" }];
function setFlag(key: "notifications" | "multicastBroadcastResponse"): Edit {
  return (s, a) => {
    const v = on(one(a, "mode") as string, "mode");
    for (const p of profilesOf(s, one(a, "profile"))) s.profiles[p][key] = v;
  };
}

/**
 * `reset`: Windows' default configuration (netsh firewall reset). The current profile is
 * the host's situation, not a setting, and the bypass list is Group Policy's on Windows
 * (postern's `set bypass` stands for it): both are kept.
 */
function reset(s: FirewallSettings): void {
  const d = defaultSettings();
  s.profiles = d.profiles;
  s.logging = d.logging;
}

export const CURRENT = [{ tag: "profile", required: true }];
/**
 * `set currentprofile domain|standard` (postern extension): overrides the agent's choice
 * (firewall/profile.ts); `auto` gives it back: the agent's last decision applies at once,
 * and the agent keeps deciding at each check.
 */
function setCurrent(s: FirewallSettings, a: TaggedArgs): void {
  const p = parseKeyword(one(a, "profile") as string, ["domain", "standard", "auto"], "profile");
  if (p === "auto") {
    delete s.profileOverride;
    return;
  }
  s.profileOverride = p;
  s.currentProfile = p;
}

/** The edit a `verb object` names, with its tag list; undefined when not a settings edit. */
export function settingsEdit(
  verb: string,
  object: string,
): { specs: { tag: string; required?: boolean }[]; edit: Edit } | undefined {
  const k = `${verb} ${object}`.trimEnd();
  if (k === "set opmode") return { specs: OPMODE, edit: setOpmode };
  if (k === "add portopening") return { specs: ADD_PORT, edit: upsertPort(false) };
  if (k === "set portopening") return { specs: SET_PORT, edit: upsertPort(true) };
  if (k === "delete portopening") return { specs: DELETE_PORT, edit: deletePort };
  if (k === "set icmpsetting") return { specs: ICMP, edit: setIcmp };
  if (k === "set logging") return { specs: LOGGING, edit: setLogging };
  if (k === "set currentprofile") return { specs: CURRENT, edit: setCurrent };
  if (k === "add allowedprogram") return { specs: ADD_PROGRAM, edit: upsertProgram(false) };
  if (k === "set allowedprogram") return { specs: SET_PROGRAM, edit: upsertProgram(true) };
  if (k === "delete allowedprogram") return { specs: DELETE_PROGRAM, edit: deleteProgram };
  if (k === "set service") return { specs: SERVICE, edit: setService };
  if (k === "set notifications") return { specs: MODE_ONLY, edit: setFlag("notifications") };
  if (k === "set multicastbroadcastresponse")
    return { specs: MODE_ONLY, edit: setFlag("multicastBroadcastResponse") };
  if (k === "reset") return { specs: [], edit: reset };
  return undefined;
}
