/**
 * Text for `netsh ipsec dynamic show ...`, shaped after Windows Server 2003's netsh dynamic
 * output and the IP Security Monitor snap-in ("Main Mode SAs", "Quick Mode SAs", label
 * padded to a colon, a dashed rule; format=table as one row per SA). Our best rendering of
 * that layout, not a byte-for-byte copy; the IKEv2 facts are what postern negotiated.
 * Pure: records in, lines out.
 */
import type {
  FilterView,
  MmFilterView,
  MmSaView,
  QmSaView,
  StatsView,
} from "../../agent/monitor.js";

const RULE = "-".repeat(78);
const AUTH_NAMES: Record<string, string> = {
  psk: "Preshared key",
  kerberos: "Kerberos",
  rootca: "Certificate",
};

const field = (label: string, value: string | number): string => `${label.padEnd(24)}: ${value}`;
export const authName = (m: string): string => AUTH_NAMES[m] ?? m;
const protoName = (p: number): string =>
  ({ 0: "ANY", 1: "ICMP", 6: "TCP", 17: "UDP" })[p] ?? String(p);
const dur = (s: number): string => (s === 0 ? "none" : `${s} seconds`);

function table(head: readonly string[], rows: readonly string[][]): string[] {
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => c.padEnd(w[i] as number))
      .join("  ")
      .trimEnd();
  return [line(head), w.map((n) => "-".repeat(n)).join("  "), ...rows.map(line)];
}

function titled(title: string, body: string[], count: number, what: string): string[] {
  if (count === 0) return [title, RULE, `No ${what}.`];
  const trimmed = body.at(-1) === "" ? body.slice(0, -1) : body;
  return [title, RULE, ...trimmed, "", `${count} ${what}.`];
}

export function formatMmSas(sas: readonly MmSaView[], format: "list" | "table"): string[] {
  if (format === "table") {
    const rows = sas.map((s) => [
      s.local,
      `${s.remote}:${s.remotePort}`,
      s.peerId ?? "",
      authName(s.auth),
      [s.encryption, s.integrity, s.dh].filter((x) => x !== null).join("/"),
      s.state,
    ]);
    return titled(
      "Main Mode SAs",
      table(["Me", "Peer", "Peer Identity", "Auth Mode", "Sec Methods", "State"], rows),
      sas.length,
      "Main Mode SA(s)",
    );
  }
  const body = sas.flatMap((s) => [
    field("Cookie Pair", `${s.cookies.initiator}:${s.cookies.responder}`),
    field(
      "Sec Methods",
      [s.encryption, s.integrity, s.prf, s.dh].map((x) => x ?? "-").join("/") + `/${s.lifetimeSec}`,
    ),
    field("Auth Mode", authName(s.auth)),
    field("Source", `${s.local}, port ${s.natT ? 4500 : 500}`),
    field("Destination", `${s.remote}, port ${s.remotePort}`),
    field("Peer Identity", s.peerId ?? "(none)"),
    ...(s.identity ? [field("Principal", s.identity.principal)] : []),
    ...(s.identity?.userSid ? [field("User SID", s.identity.userSid)] : []),
    ...(s.identity?.groupSids?.length
      ? [field("Group SIDs", s.identity.groupSids.join(", "))]
      : []),
    field("Role", s.initiator ? "initiator" : "responder"),
    field("State", s.state),
    field("NAT Traversal", s.natT ? "Yes (UDP 4500)" : "No"),
    field("Lifetime", dur(s.lifetimeSec)),
    field("Age", s.ageSec === null ? "-" : `${s.ageSec} seconds`),
    field("Quick Mode SAs", s.childSas),
    ...(s.refusal
      ? [
          field(
            "Peer Refused Us",
            `${s.refusal.reason}${s.refusal.group ? ` (requires ${s.refusal.group})` : ""}`,
          ),
        ]
      : []),
    "",
  ]);
  return titled("Main Mode SAs", body, sas.length, "Main Mode SA(s)");
}

export function formatQmSas(sas: readonly QmSaView[], format: "list" | "table"): string[] {
  if (format === "table") {
    const rows = sas.map((s) => [
      s.local,
      s.remote,
      s.mode,
      `${s.protocol.toUpperCase()} ${s.transform}`,
      `${s.spiIn}/${s.spiOut}`,
      String(s.bytesIn),
      String(s.bytesOut),
    ]);
    return titled(
      "Quick Mode SAs",
      table(["Me", "Peer", "Mode", "Offer Used", "SPI in/out", "Bytes in", "Bytes out"], rows),
      sas.length,
      "Quick Mode SA(s)",
    );
  }
  const body = sas.flatMap((s) => [
    `${s.mode === "tunnel" ? "Tunnel" : "Transport"} Filter`,
    field("Source Address", s.localSelectors.join(", ")),
    field("Destination Address", s.remoteSelectors.join(", ")),
    field("Peer", `${s.remote} (${s.peer})`),
    field("Encapsulation", s.udpEncap ? "UDP 4500 (NAT-T)" : "none"),
    "Offer Used",
    field(`  ${s.protocol.toUpperCase()}`, s.transform),
    field("  SPI in / out", `${s.spiIn} / ${s.spiOut}`),
    field(
      "  Lifetime",
      `${dur(s.lifetimeSec)} / ${s.lifetimeKb === 0 ? "none" : `${s.lifetimeKb} KB`}`,
    ),
    field("Bytes in / out", `${s.bytesIn} / ${s.bytesOut}`),
    field("Packets in / out", `${s.packetsIn} / ${s.packetsOut}`),
    field("Age", `${s.ageSec} seconds`),
    "",
  ]);
  return titled("Quick Mode SAs", body, sas.length, "Quick Mode SA(s)");
}

function counters(title: string, rec: Record<string, number>, all: boolean): string[] {
  const rows = Object.entries(rec).filter(([, v]) => all || v !== 0);
  const body = rows.length === 0 ? ["(all zero)"] : rows.map(([k, v]) => field(k, v));
  return [title, "-".repeat(title.length), ...body, ""];
}

export function formatStats(s: StatsView, type: "all" | "ike" | "ipsec"): string[] {
  const out: string[] = [];
  if (type !== "ipsec") {
    out.push(...counters("IKE Main Mode Statistics", s.ike.sas, true));
    out.push(...counters("IKE drops by reason", s.ike.drops, false));
    out.push(...counters("Acquire", s.acquire, true));
  }
  if (type !== "ike") {
    out.push(...counters("IPSec Quick Mode Statistics", s.datapath.info, true));
    for (const [role, drops] of Object.entries(s.datapath.drops))
      out.push(...counters(`IPSec drops by reason (${role})`, drops, false));
  }
  return out;
}

export function formatQmFilters(fs: readonly FilterView[]): string[] {
  const rows = fs.map((f) => [
    f.rule,
    f.src,
    f.dst,
    protoName(f.protocol),
    f.srcPort === 0 ? "*" : String(f.srcPort),
    f.dstPort === 0 ? "*" : String(f.dstPort),
    f.mirrored ? (f.direction === "mirrored" ? "mirror" : "yes") : "no",
    f.action,
    String(f.weight),
  ]);
  const head = [
    "Rule",
    "Source",
    "Destination",
    "Proto",
    "SrcPort",
    "DstPort",
    "Mirrored",
    "Action",
    "Weight",
  ];
  return titled("Quick Mode Filters", table(head, rows), fs.length, "Quick Mode Filter(s)");
}

export function formatMmFilters(fs: readonly MmFilterView[]): string[] {
  const rows = fs.map((f) => [
    f.rule,
    f.src,
    f.dst,
    f.auth.map(authName).join(", "),
    String(f.weight),
  ]);
  return titled(
    "Main Mode Filters",
    table(["Rule", "Source", "Destination", "Authentication Methods", "Weight"], rows),
    fs.length,
    "Main Mode Filter(s)",
  );
}
