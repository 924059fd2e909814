/**
 * The pfirewall.log format of Windows XP SP2 / Server 2003 SP1 Windows Firewall: W3C
 * extended log format, one header per file, then one line per event, fields separated by
 * single spaces, "-" for a field that does not apply:
 *
 *   #Version: 1.5
 *   #Software: postern Windows Firewall
 *   #Time Format: Local
 *   #Fields: date time action protocol src-ip dst-ip src-port dst-port size tcpflags tcpsyn tcpack tcpwin icmptype icmpcode info path
 *
 *   2026-11-27 08:01:02 DROP TCP 10.0.0.2 10.0.0.1 40112 81 60 S 2837465 0 64240 - - - RECEIVE
 *   2026-11-27 08:01:03 OPEN TCP 10.0.0.2 10.0.0.1 40114 80 - - - - - - - - -
 *
 * Pure: the time is passed in.
 */
import type { PacketFields } from "./packet.js";

export const LOG_FIELDS =
  "date time action protocol src-ip dst-ip src-port dst-port size tcpflags tcpsyn tcpack tcpwin icmptype icmpcode info path";

export function logHeader(): string {
  return [
    "#Version: 1.5",
    "#Software: postern Windows Firewall",
    "#Time Format: Local",
    `#Fields: ${LOG_FIELDS}`,
    "",
    "",
  ].join("\n");
}

export type LogAction = "DROP" | "OPEN" | "CLOSE" | "OPEN-INBOUND" | "INFO-EVENTS-LOST";
export type LogPath = "RECEIVE" | "SEND" | "FORWARD";

const PROTO_NAMES: Record<number, string> = { 1: "ICMP", 6: "TCP", 17: "UDP", 58: "ICMPv6" };

function two(n: number): string {
  return String(n).padStart(2, "0");
}

/** `YYYY-MM-DD HH:MM:SS` in local time, as Windows writes it. */
export function localStamp(d: Date): string {
  return (
    `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())} ` +
    `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`
  );
}

const dash = (v: number | string | undefined): string =>
  v === undefined || v === "" ? "-" : String(v);

/** One log line (without the newline). OPEN lines carry only the connection's endpoints. */
export function formatLogLine(
  time: Date,
  action: LogAction,
  p: PacketFields,
  path: LogPath,
): string {
  const proto = PROTO_NAMES[p.protocol] ?? String(p.protocol);
  const head = [localStamp(time), action, proto, p.src, p.dst, dash(p.sport), dash(p.dport)];
  if (action !== "DROP") return [...head, "-", "-", "-", "-", "-", "-", "-", "-", "-"].join(" ");
  return [
    ...head,
    String(p.size),
    dash(p.tcpFlags),
    dash(p.tcpSeq),
    dash(p.tcpAck),
    dash(p.tcpWin),
    dash(p.icmpType),
    dash(p.icmpCode),
    "-",
    path,
  ].join(" ");
}
