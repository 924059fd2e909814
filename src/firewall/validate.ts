/**
 * Checks a settings document read from disk (or built by a command) field by field, so a
 * hand-edited file with a bad port or scope is reported as one line naming the field.
 */
import { FirewallError } from "./errors.js";
import {
  type AllowedProgram,
  type FirewallSettings,
  ICMP_TYPES,
  PROFILES,
  type PortOpening,
  type ProfileSettings,
  SERVICE_TYPES,
  type ServiceSetting,
  type ServiceType,
} from "./model.js";
import { parseAddressList } from "./scope.js";
import { isSid } from "./sddl.js";

function fail(where: string, what: string): never {
  throw new FirewallError("bad-settings", `${where}: ${what}`);
}

function isObj(x: unknown): x is Record<string, unknown> {
  return typeof x === "object" && x !== null && !Array.isArray(x);
}

/** A port number 1-65535 from netsh text. */
export function parsePort(text: string): number {
  if (!/^\d+$/.test(text) || Number(text) < 1 || Number(text) > 65535) {
    throw new FirewallError("bad-port", `port: '${text}' is not a port number 1-65535`);
  }
  return Number(text);
}

function checkOpening(p: unknown, where: string): PortOpening {
  if (!isObj(p)) fail(where, "not an object");
  const { protocol, port, name, enabled, scope, addresses } = p;
  if (protocol !== "tcp" && protocol !== "udp" && protocol !== "all") {
    fail(where, `protocol '${String(protocol)}' (tcp|udp|all)`);
  }
  if (typeof port !== "number" || !Number.isInteger(port) || port < 1 || port > 65535) {
    fail(where, `port '${String(port)}' (1-65535)`);
  }
  if (typeof name !== "string") fail(where, "name is not a string");
  if (typeof enabled !== "boolean") fail(where, "enabled is not a boolean");
  if (scope !== "all" && scope !== "subnet" && scope !== "custom") {
    fail(where, `scope '${String(scope)}' (all|subnet|custom)`);
  }
  if (!Array.isArray(addresses) || addresses.some((a) => typeof a !== "string")) {
    fail(where, "addresses is not a list of strings");
  }
  if (scope === "custom") {
    if (addresses.length === 0) fail(where, "scope custom needs addresses");
    parseAddressList(addresses.join(","));
  }
  return { protocol, port, name, enabled, scope, addresses: addresses as string[] };
}

function checkService(s: unknown, where: string): ServiceSetting {
  if (!isObj(s)) fail(where, "not an object");
  const o = checkOpening({ ...s, protocol: "tcp", port: 1, name: "" }, where);
  return { enabled: o.enabled, scope: o.scope, addresses: o.addresses };
}

function checkProgram(a: unknown, where: string): AllowedProgram {
  if (!isObj(a)) fail(where, "not an object");
  if (typeof a.program !== "string" || !a.program.startsWith("/"))
    fail(where, "program must be an absolute path");
  const o = checkOpening({ ...a, protocol: "tcp", port: 1 }, where);
  return {
    program: a.program,
    name: o.name,
    enabled: o.enabled,
    scope: o.scope,
    addresses: o.addresses,
  };
}

function checkProfile(p: unknown, where: string): ProfileSettings {
  if (!isObj(p)) fail(where, "not an object");
  if (typeof p.enabled !== "boolean") fail(where, "enabled is not a boolean");
  if (typeof p.exceptions !== "boolean") fail(where, "exceptions is not a boolean");
  if (!Array.isArray(p.portOpenings)) fail(where, "portOpenings is not a list");
  const openings = p.portOpenings.map((o, i) => checkOpening(o, `${where}.portOpenings[${i}]`));
  if (!isObj(p.icmp)) fail(where, "icmp is not an object");
  for (const [k, v] of Object.entries(p.icmp)) {
    if (!ICMP_TYPES.includes(Number(k) as never) || typeof v !== "boolean") {
      fail(where, `icmp.${k} is not a known ICMP setting`);
    }
  }
  // allowedPrograms, services, notifications, multicastBroadcastResponse came later:
  // absent = the defaults.
  const progs = p.allowedPrograms ?? [];
  if (!Array.isArray(progs)) fail(where, "allowedPrograms is not a list");
  const allowedPrograms = progs.map((a, i) => checkProgram(a, `${where}.allowedPrograms[${i}]`));
  const services: ProfileSettings["services"] = {};
  const sv = p.services ?? {};
  if (!isObj(sv)) fail(where, "services is not an object");
  for (const [k, v] of Object.entries(sv)) {
    if (!SERVICE_TYPES.includes(k as ServiceType)) fail(where, `services.${k} is not a service`);
    services[k as ServiceType] = checkService(v, `${where}.services.${k}`);
  }
  const flag = (k: "notifications" | "multicastBroadcastResponse"): boolean => {
    const v = p[k] ?? true;
    if (typeof v !== "boolean") fail(where, `${k} is not a boolean`);
    return v;
  };
  return {
    enabled: p.enabled,
    exceptions: p.exceptions,
    portOpenings: openings,
    allowedPrograms,
    icmp: p.icmp as ProfileSettings["icmp"],
    services,
    notifications: flag("notifications"),
    multicastBroadcastResponse: flag("multicastBroadcastResponse"),
  };
}

export function validateSettings(doc: unknown, where: string): FirewallSettings {
  if (!isObj(doc)) fail(where, "not an object");
  if (doc.version !== 1) fail(where, `version ${String(doc.version)} (expected 1)`);
  if (!PROFILES.includes(doc.currentProfile as never)) fail(where, "currentProfile");
  if (!isObj(doc.profiles)) fail(where, "profiles is not an object");
  const profiles = {
    domain: checkProfile(doc.profiles.domain, `${where}: profiles.domain`),
    standard: checkProfile(doc.profiles.standard, `${where}: profiles.standard`),
  };
  const l = doc.logging;
  if (!isObj(l)) fail(where, "logging is not an object");
  if (l.file !== null && (typeof l.file !== "string" || !l.file.startsWith("/"))) {
    fail(where, "logging.file must be an absolute path or null");
  }
  const kb = l.maxSizeKb;
  if (typeof kb !== "number" || !Number.isInteger(kb) || kb < 1 || kb > 32767) {
    fail(where, "logging.maxSizeKb (1-32767)");
  }
  if (typeof l.droppedPackets !== "boolean" || typeof l.connections !== "boolean") {
    fail(where, "logging.droppedPackets/connections must be booleans");
  }
  if (!Array.isArray(doc.bypass)) fail(where, "bypass is not a list");
  const bypass = doc.bypass.map((b, i) => {
    if (!isObj(b) || typeof b.sid !== "string" || !isSid(b.sid)) fail(where, `bypass[${i}].sid`);
    return typeof b.name === "string" ? { sid: b.sid, name: b.name } : { sid: b.sid };
  });
  const o = doc.profileOverride;
  if (o !== undefined && !PROFILES.includes(o as never)) fail(where, "profileOverride");
  const r = doc.refusedResponse;
  if (r !== undefined && r !== "drop" && r !== "reject")
    fail(where, "refusedResponse must be drop or reject");
  return {
    ...(r === "reject" ? { refusedResponse: r } : {}),
    ...(o !== undefined ? { profileOverride: o as FirewallSettings["currentProfile"] } : {}),
    version: 1,
    currentProfile: doc.currentProfile as FirewallSettings["currentProfile"],
    profiles,
    logging: {
      file: l.file as string | null,
      maxSizeKb: kb,
      droppedPackets: l.droppedPackets,
      connections: l.connections,
    },
    bypass,
  };
}
