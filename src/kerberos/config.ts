/**
 * MIT-style krb5.conf (krb5.conf(5)): the profile format MIT's tools read.
 *
 * ```
 * # comment            ; comment
 * [libdefaults]
 *   default_realm = MIT.TEST
 *   udp_preference_limit = 1
 * [realms]
 *   MIT.TEST = {
 *     kdc = 127.0.0.1:88
 *     kdc = kdc2.mit.test
 *   }
 * [domain_realm]
 *   .mit.test = MIT.TEST
 * ```
 *
 * `parseKrb5Conf` is pure (text -> Krb5Config); `readKrb5Config` reads the colon-separated
 * file list of `KRB5_CONFIG` (the first file to set a libdefaults tag wins, realms merge).
 * A syntax error is a `Krb5ConfigError` naming the file and line.
 */
import * as fs from "node:fs";
import { PosternError } from "../errors.js";

export class Krb5ConfigError extends PosternError {
  constructor(message: string) {
    super("krb5-config", message);
    this.name = "Krb5ConfigError";
  }
}

/** A profile section: tag -> values, each a string or a nested `{ ... }` block. */
export interface ProfileNode {
  [tag: string]: (string | ProfileNode)[];
}

export interface KdcAddress {
  host: string;
  port: number;
  /**
   * How this KDC is reached, when its source says (a DNS SRV record of `_kerberos._udp` or
   * `_kerberos._tcp`); absent (krb5.conf): UDP or TCP by the request's size.
   */
  protocol?: "udp" | "tcp";
}

export interface RealmConfig {
  kdc: KdcAddress[];
  adminServer?: string;
  /** Every relation of the block, for tags we do not interpret. */
  raw: ProfileNode;
}

export interface Krb5Config {
  libdefaults: Record<string, string>;
  realms: Record<string, RealmConfig>;
  /** `.domain` or `host` -> realm. */
  domainRealm: Record<string, string>;
}

export const DEFAULT_KDC_PORT = 88;

/** Parses krb5.conf text; `file` names the source in errors. */
export function parseKrb5Conf(text: string, file = "krb5.conf"): Krb5Config {
  const root: ProfileNode = {};
  let section: ProfileNode | undefined;
  const stack: ProfileNode[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    const where = `${file} line ${i + 1}`;
    if (line === "" || line.startsWith("#") || line.startsWith(";")) continue;
    const sec = /^\[([^\]]+)\]\s*\*?$/.exec(line);
    if (sec) {
      if (stack.length > 0)
        throw new Krb5ConfigError(`${where}: section starts inside a { } block`);
      const name = sec[1]!.trim();
      section = root[name]?.[0] as ProfileNode | undefined;
      if (!section) {
        section = {};
        root[name] = [section];
      }
      continue;
    }
    if (line.startsWith("}")) {
      if (stack.length === 0) throw new Krb5ConfigError(`${where}: '}' without an open block`);
      stack.pop();
      continue;
    }
    const rel = /^([^=\s]+)\s*\*?\s*=\s*(.*)$/.exec(line);
    if (!rel)
      throw new Krb5ConfigError(`${where}: expected 'tag = value', got ${JSON.stringify(line)}`);
    const target = stack[stack.length - 1] ?? section;
    if (!target) throw new Krb5ConfigError(`${where}: relation before any [section]`);
    const tag = rel[1]!;
    const value = rel[2]!.trim();
    const list = target[tag] ?? [];
    target[tag] = list;
    if (value === "{") {
      if (stack.length >= 8) throw new Krb5ConfigError(`${where}: blocks nested too deeply`);
      const child: ProfileNode = {};
      list.push(child);
      stack.push(child);
    } else {
      list.push(value);
    }
  }
  if (stack.length > 0) throw new Krb5ConfigError(`${file}: a { block is not closed at the end`);
  return fromProfile(root, file);
}

function strings(node: ProfileNode | undefined, tag: string): string[] {
  return (node?.[tag] ?? []).filter((v): v is string => typeof v === "string");
}

function section(root: ProfileNode, name: string): ProfileNode | undefined {
  const v = root[name]?.[0];
  return typeof v === "object" ? v : undefined;
}

/** `host`, `host:port`, `[v6]:port`; MIT also accepts `tcp/` and `udp/` prefixes (ignored). */
export function parseKdcAddress(text: string, where = "kdc"): KdcAddress {
  const t = text.replace(/^(tcp|udp|kkdcp)\//i, "");
  const m = /^\[([^\]]+)\](?::(\d+))?$/.exec(t) ?? /^([^:]+)(?::(\d+))?$/.exec(t);
  if (!m) throw new Krb5ConfigError(`${where}: cannot read KDC address ${JSON.stringify(text)}`);
  const port = m[2] === undefined ? DEFAULT_KDC_PORT : Number(m[2]);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new Krb5ConfigError(`${where}: KDC port ${m[2]} is not in 1..65535`);
  }
  return { host: m[1]!, port };
}

function fromProfile(root: ProfileNode, file: string): Krb5Config {
  const libdefaults: Record<string, string> = {};
  const lib = section(root, "libdefaults");
  for (const [tag, values] of Object.entries(lib ?? {})) {
    const v = values.find((x): x is string => typeof x === "string");
    if (v !== undefined) libdefaults[tag] = v;
  }
  const realms: Record<string, RealmConfig> = {};
  for (const [name, values] of Object.entries(section(root, "realms") ?? {})) {
    const block = values.find((x): x is ProfileNode => typeof x === "object");
    if (!block) throw new Krb5ConfigError(`${file}: [realms] ${name} must be a { } block`);
    const kdc = strings(block, "kdc").map((k) => parseKdcAddress(k, `${file}: realm ${name} kdc`));
    const admin = strings(block, "admin_server")[0];
    realms[name] =
      admin === undefined ? { kdc, raw: block } : { kdc, adminServer: admin, raw: block };
  }
  const domainRealm: Record<string, string> = {};
  for (const [domain, values] of Object.entries(section(root, "domain_realm") ?? {})) {
    const v = values.find((x): x is string => typeof x === "string");
    if (v !== undefined) domainRealm[domain.toLowerCase()] = v;
  }
  return { libdefaults, realms, domainRealm };
}

/** Merges configs in order: earlier files win for libdefaults tags, realms merge by name. */
export function mergeKrb5Configs(configs: readonly Krb5Config[]): Krb5Config {
  const out: Krb5Config = { libdefaults: {}, realms: {}, domainRealm: {} };
  for (const c of configs) {
    for (const [k, v] of Object.entries(c.libdefaults)) out.libdefaults[k] ??= v;
    for (const [k, v] of Object.entries(c.realms)) out.realms[k] ??= v;
    for (const [k, v] of Object.entries(c.domainRealm)) out.domainRealm[k] ??= v;
  }
  return out;
}

export const DEFAULT_KRB5_CONFIG = "/etc/krb5.conf";

/**
 * Reads `KRB5_CONFIG` (a colon-separated list, as MIT's) or /etc/krb5.conf. Missing files
 * are skipped as MIT does; none at all gives an empty config.
 */
export function readKrb5Config(envValue: string | undefined): Krb5Config {
  const files = (envValue ?? DEFAULT_KRB5_CONFIG).split(":").filter((f) => f !== "");
  const configs: Krb5Config[] = [];
  for (const f of files) {
    let text: string;
    try {
      text = fs.readFileSync(f, "utf8");
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") continue;
      throw new Krb5ConfigError(`${f}: cannot read: ${(e as Error).message}`);
    }
    configs.push(parseKrb5Conf(text, f));
  }
  return mergeKrb5Configs(configs);
}

/** The realm's KDCs; an error naming the realm and the config when there are none. */
export function kdcsOf(config: Krb5Config, realm: string): KdcAddress[] {
  const kdcs = config.realms[realm]?.kdc ?? [];
  if (kdcs.length === 0) {
    throw new Krb5ConfigError(
      `no KDC known for realm ${realm}: add "${realm} = { kdc = host:port }" under [realms] in krb5.conf (KRB5_CONFIG)`,
    );
  }
  return kdcs;
}

/** The realm of a host name from [domain_realm] (exact host, then `.parent` suffixes). */
export function realmOfHost(config: Krb5Config, host: string): string | undefined {
  const h = host.toLowerCase();
  if (config.domainRealm[h] !== undefined) return config.domainRealm[h];
  for (let i = h.indexOf("."); i >= 0; i = h.indexOf(".", i + 1)) {
    const r = config.domainRealm[h.slice(i)];
    if (r !== undefined) return r;
  }
  return undefined;
}

/** A [libdefaults] boolean (`true`/`yes`/`1`). */
export function libdefaultBool(config: Krb5Config, tag: string, dflt: boolean): boolean {
  const v = config.libdefaults[tag]?.toLowerCase();
  if (v === undefined) return dflt;
  return v === "true" || v === "yes" || v === "1" || v === "on";
}

/** A [libdefaults] integer, or `dflt` when absent; an error when not a number. */
export function libdefaultInt(config: Krb5Config, tag: string, dflt: number): number {
  const v = config.libdefaults[tag];
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0)
    throw new Krb5ConfigError(`krb5.conf [libdefaults] ${tag} = ${v}: not a non-negative integer`);
  return n;
}

/**
 * A krb5.conf duration (`10h`, `7d`, `1h30m`, `36000`, `10:00:00`) in seconds, as
 * ticket_lifetime and renew_lifetime take it.
 */
export function parseDuration(text: string, what = "duration"): number {
  const t = text.trim();
  if (/^\d+$/.test(t)) return Number(t);
  const hms = /^(\d+):(\d{1,2})(?::(\d{1,2}))?$/.exec(t);
  if (hms) return Number(hms[1]) * 3600 + Number(hms[2]) * 60 + Number(hms[3] ?? 0);
  const re = /(\d+)\s*([dhms])/gy;
  let total = 0;
  let end = 0;
  for (let m = re.exec(t); m; m = re.exec(t)) {
    total += Number(m[1]) * { d: 86400, h: 3600, m: 60, s: 1 }[m[2] as "d" | "h" | "m" | "s"];
    end = re.lastIndex;
  }
  if (end === 0 || end !== t.length)
    throw new Krb5ConfigError(`${what}: cannot read ${JSON.stringify(text)} (e.g. 10h, 7d, 1h30m)`);
  return total;
}
