/**
 * Reads a classic pcap file (tcpdump -w, Ethernet link type) into IPv4 frames: enough to
 * tell ESP-in-UDP (RFC 3948) from cleartext on the wire.
 */
import * as fs from "node:fs";

export interface Frame {
  protocol: number;
  src: string;
  dst: string;
  srcPort: number;
  dstPort: number;
  /** The IP payload (UDP/TCP header included). */
  ipPayload: Buffer;
  raw: Buffer;
}

export function readPcap(file: string): Frame[] {
  const buf = fs.readFileSync(file);
  if (buf.length < 24) return [];
  const le = buf.readUInt32LE(0) === 0xa1b2c3d4;
  const u32 = (o: number) => (le ? buf.readUInt32LE(o) : buf.readUInt32BE(o));
  const frames: Frame[] = [];
  let off = 24;
  for (let i = 0; i < 100_000 && off + 16 <= buf.length; i++) {
    const incl = u32(off + 8);
    const raw = buf.subarray(off + 16, off + 16 + incl);
    off += 16 + incl;
    if (raw.length < 34 || raw.readUInt16BE(12) !== 0x0800) continue;
    const ip = raw.subarray(14);
    const ihl = ((ip[0] as number) & 0x0f) * 4;
    const protocol = ip[9] as number;
    const l4 = ip.subarray(ihl);
    const ports = (protocol === 6 || protocol === 17) && l4.length >= 4;
    frames.push({
      protocol,
      src: [...ip.subarray(12, 16)].join("."),
      dst: [...ip.subarray(16, 20)].join("."),
      srcPort: ports ? l4.readUInt16BE(0) : -1,
      dstPort: ports ? l4.readUInt16BE(2) : -1,
      ipPayload: l4,
      raw,
    });
  }
  return frames;
}
