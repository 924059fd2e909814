/**
 * `show ... format=list` output, laid out as 2003's netsh prints it: one "Label : value"
 * per line with labels padded to one column, NONE for an empty description, YES/NO for
 * flags, GUIDs in braces and upper case, and `<My IP Address>`-style names for the special
 * addresses. level=normal gives an object's own fields; level=verbose also expands what it
 * refers to (a policy's rules, a rule's filter list and filter action, a list's filters).
 */
import { formatMask } from "../../policy/address.js";
import { formatGuid } from "../../policy/defaults.js";
import type {
  AddressSpec,
  DefaultRule,
  Filter,
  FilterAction,
  FilterList,
  MmSecMethod,
  Policy,
  PolicyStore,
  QmSecMethod,
  Rule,
} from "../../policy/model.js";
import { formatQmSecMethod } from "../../policy/secmethods.js";
import { describeAuth } from "./auth.js";
import { assertNever } from "../../errors.js";

export type Level = "normal" | "verbose";

export interface RenderOptions {
  level: Level;
  /** "Local Store", "Domain Store" or "Persistent Store". */
  storeName: string;
  /** DNS names resolved for show filterlist resolvedns=yes. */
  resolved?: ReadonlyMap<string, readonly string[]>;
}

const LABEL_WIDTH = 23;

export function kv(label: string, value: string | number): string {
  return `${label.padEnd(LABEL_WIDTH)}: ${value}`;
}

export function yesNo(b: boolean): string {
  return b ? "YES" : "NO";
}

function orNone(s: string): string {
  return s === "" ? "NONE" : s;
}

/** 2003's US-style time: 11/27/2026 7:25:48 AM (local time). */
export function formatTime(iso: string): string {
  const d = new Date(iso);
  const h = d.getHours();
  const hh = h % 12 === 0 ? 12 : h % 12;
  const two = (n: number) => String(n).padStart(2, "0");
  return `${d.getMonth() + 1}/${d.getDate()}/${d.getFullYear()} ${hh}:${two(d.getMinutes())}:${two(d.getSeconds())} ${h < 12 ? "AM" : "PM"}`;
}

const SERVER_NAMES = {
  dns: "<DNS Servers>",
  wins: "<WINS Servers>",
  dhcp: "<DHCP Server>",
  gateway: "<Default Gateway>",
} as const;

/** The address as 2003 shows it, and the mask line when one applies. */
export function showAddress(
  a: AddressSpec,
  resolved?: ReadonlyMap<string, readonly string[]>,
): [string, string | null] {
  switch (a.kind) {
    case "me":
      return ["<My IP Address>", null];
    case "any":
      return ["<Any IP Address>", null];
    case "server":
      return [SERVER_NAMES[a.server], null];
    case "dns": {
      const r = resolved?.get(a.name);
      return [
        r
          ? `${a.name} (${r.length > 0 ? r.join(", ") : "does not resolve"})`
          : `${a.name} (DNS name, resolved when applied)`,
        null,
      ];
    }
    case "range":
      return [`${a.from}-${a.to}`, null];
    case "subnet":
      return [a.address, formatMask(a.prefix, a.family)];
    default:
      return assertNever(a, "a kind");
  }
}

export const PROTOCOL_LABELS: Record<number, string> = {
  0: "ANY",
  1: "ICMP",
  6: "TCP",
  17: "UDP",
  255: "RAW",
};

export function protocolLabel(p: number): string {
  return PROTOCOL_LABELS[p] ?? String(p);
}

export function portLabel(p: number): string {
  return p === 0 ? "ANY" : String(p);
}

function filterLines(f: Filter, o: RenderOptions): string[] {
  const [src, srcMask] = showAddress(f.src, o.resolved);
  const [dst, dstMask] = showAddress(f.dst, o.resolved);
  return [
    kv("Description", orNone(f.description)),
    kv("Mirrored", yesNo(f.mirrored)),
    kv("Source IP Address", src),
    ...(srcMask ? [kv("Source Mask", srcMask)] : []),
    kv("Destination IP Address", dst),
    ...(dstMask ? [kv("Destination Mask", dstMask)] : []),
    kv("Protocol", protocolLabel(f.protocol)),
    kv("Source Port", portLabel(f.srcPort)),
    kv("Destination Port", portLabel(f.dstPort)),
  ];
}

export function renderFilterList(fl: FilterList, o: RenderOptions): string[] {
  const lines = [
    kv("FilterList Name", fl.name),
    kv("Description", orNone(fl.description)),
    kv("Store", o.storeName),
    kv("Last Modified", formatTime(fl.lastModified)),
    kv("GUID", formatGuid(fl.guid)),
    kv("No. of Filters", fl.filters.length),
  ];
  if (o.level === "verbose" && fl.filters.length > 0) {
    lines.push("Filter(s)", "---------");
    fl.filters.forEach((f, i) => {
      if (i > 0) lines.push("");
      lines.push(...filterLines(f, o));
    });
  }
  return lines;
}

const CONF_LABEL: Record<string, string> = {
  none: "None",
  des: "DES",
  "3des": "3DES",
  aes128: "AES-128",
  aes256: "AES-256",
  aes128gcm: "AES-GCM-128",
  aes256gcm: "AES-GCM-256",
};
const HASH_LABEL: Record<string, string> = {
  none: "None",
  md5: "MD5",
  sha1: "SHA1",
  sha256: "SHA-256",
  sha384: "SHA-384",
};

/** Quick-mode offers as 2003's table: ESP encryption, ESP integrity, AH integrity, lifetimes. */
export function qmTable(ms: readonly QmSecMethod[]): string[] {
  const head = ` ${"ESP Encryption".padEnd(16)}${"ESP Integrity".padEnd(16)}${"AH Integrity".padEnd(14)}Lifetime (Kb/Sec)`;
  const rows = ms.map((m) => {
    const conf = m.esp ? (CONF_LABEL[m.esp.conf] ?? m.esp.conf) : "None";
    const integ = m.esp ? (HASH_LABEL[m.esp.auth] ?? m.esp.auth) : "None";
    const ah = m.ah ? (HASH_LABEL[m.ah.hash] ?? m.ah.hash) : "None";
    return ` ${conf.padEnd(16)}${integ.padEnd(16)}${ah.padEnd(14)}${m.lifetimeKb}/${m.lifetimeSec}`;
  });
  return [head, ` ${"-".repeat(60)}`, ...rows];
}

const GROUP_LABEL: Record<number, string> = {
  1: "Low(1)",
  2: "Medium(2)",
  14: "DH2048(14)",
  19: "ECP256(19)",
  31: "X25519(31)",
};

export function mmTable(ms: readonly MmSecMethod[]): string[] {
  const head = ` ${"Encryption".padEnd(15)}${"Integrity".padEnd(15)}DH Group`;
  const rows = ms.map(
    (m) =>
      ` ${(CONF_LABEL[m.conf] ?? m.conf).padEnd(15)}${(HASH_LABEL[m.hash] ?? m.hash).padEnd(15)}${GROUP_LABEL[m.dhGroup] ?? m.dhGroup}`,
  );
  return [head, ` ${"-".repeat(45)}`, ...rows];
}

const ACTION_LABEL = { permit: "PERMIT", block: "BLOCK", negotiate: "NEGOTIATE SECURITY" } as const;

export function renderFilterAction(fa: FilterAction, o: RenderOptions): string[] {
  const lines = [
    kv("FilterAction Name", fa.name),
    kv("Description", orNone(fa.description)),
    kv("Store", o.storeName),
    kv("Last Modified", formatTime(fa.lastModified)),
    kv("GUID", formatGuid(fa.guid)),
    kv("Action", ACTION_LABEL[fa.action]),
  ];
  if (fa.action !== "negotiate") return lines;
  lines.push(
    kv("QMPFS", yesNo(fa.qmPfs)),
    kv("Inbound Passthru", yesNo(fa.inpass)),
    kv("AllowUnsecured", yesNo(fa.soft)),
  );
  if (o.level === "verbose") {
    lines.push("Security Methods", ...qmTable(fa.qmSecMethods));
  } else {
    lines.push(kv("Security Methods", fa.qmSecMethods.map(formatQmSecMethod).join(" ")));
  }
  return lines;
}

function authLines(auth: Rule["auth"]): string[] {
  return [`Authentication Methods (${auth.length})`, ...auth.map((a) => ` ${describeAuth(a)}`)];
}

export function renderRule(r: Rule, store: PolicyStore, o: RenderOptions): string[] {
  const fl = store.filterLists.find((x) => x.guid === r.filterList);
  const fa = store.filterActions.find((x) => x.guid === r.filterAction);
  const lines = [
    kv("Rule ID", `${r.id}, GUID = ${formatGuid(r.guid)}`),
    kv("Rule Name", r.name),
    kv("Description", orNone(r.description)),
    kv("Last Modified", formatTime(r.lastModified)),
    kv("Activated", yesNo(r.active)),
    kv("Connection Type", r.connType.toUpperCase()),
    kv("Tunnel Endpoint", r.tunnel ?? "NONE"),
    ...authLines(r.auth),
  ];
  if (o.level === "verbose") {
    lines.push("", "FilterList", "----------", ...(fl ? renderFilterList(fl, o) : []));
    lines.push("", "FilterAction", "------------", ...(fa ? renderFilterAction(fa, o) : []));
  } else {
    lines.push(kv("FilterList Name", fl?.name ?? "?"), kv("FilterAction Name", fa?.name ?? "?"));
  }
  return lines;
}

export function renderDefaultRule(d: DefaultRule, o: RenderOptions): string[] {
  const lines = [
    kv("Rule Name", "<Default Response Rule>"),
    kv("Activated", yesNo(d.active)),
    kv("QMPFS", yesNo(d.qmPfs)),
    ...authLines(d.auth),
  ];
  if (o.level === "verbose") lines.push("Security Methods", ...qmTable(d.qmSecMethods));
  else lines.push(kv("Security Methods", d.qmSecMethods.map(formatQmSecMethod).join(" ")));
  return lines;
}

export function renderPolicy(p: Policy, store: PolicyStore, o: RenderOptions): string[] {
  const lines = [
    kv("Policy Name", p.name),
    kv("Description", orNone(p.description)),
    kv("Store", o.storeName),
    kv("Last Modified", formatTime(p.lastModified)),
    kv("GUID", formatGuid(p.guid)),
    kv("Assigned", yesNo(p.assigned)),
    kv("Master PFS", yesNo(p.mmPfs)),
    kv("Polling Interval", `${p.pollingIntervalMin} minutes`),
    kv("Main Mode Life Time", `${p.mmLifetimeMin} minutes / ${p.qmPerMm} Quick Mode sessions`),
    kv("Activate Default Rule", yesNo(p.activateDefaultRule)),
    "Main Mode Security Methods",
    ...mmTable(p.mmSecMethods),
    kv("No. of Rules", p.rules.length),
  ];
  if (o.level === "normal") {
    for (const r of p.rules) lines.push(kv(`Rule ${r.id}`, r.name));
    return lines;
  }
  lines.push("", "Rule Details", "------------");
  for (const r of p.rules) lines.push("", ...renderRule(r, store, o));
  lines.push("", ...renderDefaultRule(p.defaultRule, o));
  return lines;
}
