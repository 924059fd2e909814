/**
 * Segmentation of a TCP/IPv4 super-packet read from the TUN with TSO on (virtio_net_hdr
 * gso_type TCPV4): the kernel's TCP hands us up to 64 KiB at once (one read, one pass of
 * its transmit path), and we cut it into the MSS-sized segments it would have sent, each
 * then sealed as its own ESP packet (ESP needs one per segment; the wire is unchanged).
 *
 * Per segment i of payload p[i*mss, ...): the IPv4 header with total length, ID + i and a
 * new checksum; the TCP header with seq + i*mss, CWR only on the first, FIN and PSH only on
 * the last, and the full TCP checksum (RFC 793 pseudo-header) computed here. Pure: bytes
 * in, segments out through `each`.
 */

import { fold, onesSum } from "./checksum.js";

const TCP = 6;
const FIN = 0x01;
const PSH = 0x08;
const CWR = 0x80;

/**
 * Cuts `p` (an IPv4 TCP packet) into segments of `mss` payload bytes, built one at a time in
 * `scratch` (>= header + mss bytes) and handed to `each` (valid until it returns). Returns
 * the number of segments, or 0 when `p` is not a TCP/IPv4 packet it can cut.
 */
export function segmentTcp4(
  p: Buffer,
  mss: number,
  scratch: Buffer,
  each: (segment: Buffer) => void,
): number {
  if (p.length < 40 || (p[0] as number) >> 4 !== 4 || p[9] !== TCP || mss <= 0) return 0;
  const ihl = ((p[0] as number) & 0x0f) * 4;
  const thl = ((p[ihl + 12] as number) >> 4) * 4;
  const hdr = ihl + thl;
  if (ihl < 20 || thl < 20 || hdr > p.length || hdr + mss > scratch.length) return 0;
  const payload = p.length - hdr;
  const count = Math.max(1, Math.ceil(payload / mss));
  const id = p.readUInt16BE(4);
  const seq = p.readUInt32BE(ihl + 4);
  const flags = p[ihl + 13] as number;
  for (let i = 0; i < count; i++) {
    const from = hdr + i * mss;
    const len = Math.min(mss, p.length - from);
    p.copy(scratch, 0, 0, hdr);
    p.copy(scratch, hdr, from, from + len);
    const total = hdr + len;
    scratch.writeUInt16BE(total, 2);
    scratch.writeUInt16BE((id + i) & 0xffff, 4);
    scratch.writeUInt16BE(0, 10);
    scratch.writeUInt16BE(~fold(onesSum(scratch, 0, ihl, 0)) & 0xffff, 10);
    scratch.writeUInt32BE((seq + i * mss) % 2 ** 32, ihl + 4);
    let f = flags;
    if (i > 0) f &= ~CWR;
    if (i < count - 1) f &= ~(FIN | PSH);
    scratch[ihl + 13] = f;
    scratch.writeUInt16BE(0, ihl + 16);
    const pseudo = onesSum(scratch, 12, 20, TCP + (total - ihl));
    scratch.writeUInt16BE(~fold(onesSum(scratch, ihl, total, pseudo)) & 0xffff, ihl + 16);
    each(scratch.subarray(0, total));
  }
  return count;
}
