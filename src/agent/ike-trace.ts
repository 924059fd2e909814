/**
 * `netsh ipsec dynamic set config property=ikelogging value=1`: Windows wrote every IKE
 * negotiation step to Oakley.log; the agent logs one line per IKE message it sends or
 * receives, read from the fixed header (RFC 7296 §3.1), so a negotiation can be followed
 * without a packet capture:
 *   IKE detail: received IKE_AUTH request #1 from 10.0.0.2:4500, SPIs 1f..._9a..., 412 bytes
 * Messages arrive here without the non-ESP marker (the transports strip and add it).
 */
import { exchangeName } from "../ike/constants.js";
import type { Datagram } from "../ike/types.js";

const HEADER_BYTES = 28;
const FLAG_RESPONSE = 0x20;

export function ikeTraceLine(direction: "sent" | "received", d: Datagram): string {
  const peer = `${direction === "sent" ? "to" : "from"} ${d.remote.address}:${d.remote.port}`;
  const b = d.data;
  if (b.length < HEADER_BYTES)
    return `IKE detail: ${direction} ${b.length} bytes ${peer}: shorter than an IKE header`;
  const kind = (b[19] as number) & FLAG_RESPONSE ? "response" : "request";
  const spis = `${b.subarray(0, 8).toString("hex")}_${b.subarray(8, 16).toString("hex")}`;
  return `IKE detail: ${direction} ${exchangeName(b[18] as number)} ${kind} #${b.readUInt32BE(20)} ${peer}, SPIs ${spis}, ${b.length} bytes`;
}
