/**
 * NAT detection (RFC 7296 §2.23): NAT_DETECTION_*_IP carries
 * SHA-1(SPIi | SPIr | IP address | port). A mismatch on either side means a NAT is in the
 * path and IKE and ESP float to UDP 4500. `forceEncap` sends a random source hash so the
 * peer believes we are behind a NAT (as strongSwan's encap=yes does).
 */
import { hash } from "../crypto/primitives.js";
import { NotifyType } from "./constants.js";
import { findNotify, type Payload } from "./message.js";
import { type NotifyPayload, notify } from "./payloads/notify.js";
import type { Endpoint } from "./types.js";

function ipBytes(address: string): Buffer {
  if (address.includes(":")) {
    const full = address.split("::");
    const head = full[0] ? full[0].split(":") : [];
    const tail = full.length > 1 && full[1] ? full[1].split(":") : [];
    const groups = [...head, ...Array(8 - head.length - tail.length).fill("0"), ...tail];
    return Buffer.from(
      groups.flatMap((g: string) => [parseInt(g, 16) >> 8, parseInt(g, 16) & 0xff]),
    );
  }
  return Buffer.from(address.split(".").map(Number));
}

export function natHash(spiI: Buffer, spiR: Buffer, ep: Endpoint): Buffer {
  const port = Buffer.alloc(2);
  port.writeUInt16BE(ep.port);
  return hash("sha1", Buffer.concat([spiI, spiR, ipBytes(ep.address), port]));
}

export function natPayloads(
  spiI: Buffer,
  spiR: Buffer,
  local: Endpoint,
  remote: Endpoint,
  fake: Buffer | null,
): NotifyPayload[] {
  return [
    notify(NotifyType.NAT_DETECTION_SOURCE_IP, fake ?? natHash(spiI, spiR, local)),
    notify(NotifyType.NAT_DETECTION_DESTINATION_IP, natHash(spiI, spiR, remote)),
  ];
}

/** Whether a NAT sits in front of us or of the peer, per the peer's NAT notifies. */
export function natDetected(
  payloads: readonly Payload[],
  spiI: Buffer,
  spiR: Buffer,
  local: Endpoint,
  remote: Endpoint,
): { supported: boolean; nat: boolean; ourNat: boolean } {
  const src = payloads.filter(
    (p): p is NotifyPayload =>
      p.type === "N" && p.notifyType === NotifyType.NAT_DETECTION_SOURCE_IP,
  );
  const dst = findNotify(payloads, NotifyType.NAT_DETECTION_DESTINATION_IP);
  if (src.length === 0 || !dst) return { supported: false, nat: false, ourNat: false };
  const peerHash = natHash(spiI, spiR, remote);
  const ourHash = natHash(spiI, spiR, local);
  const peerNat = !src.some((s) => s.data.equals(peerHash));
  const ourNat = !dst.data.equals(ourHash);
  // ourNat is the peer's view of our address: never faked (forceEncap fakes the source hash)
  return { supported: true, nat: peerNat || ourNat, ourNat };
}
