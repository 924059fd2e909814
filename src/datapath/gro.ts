/**
 * Receive coalescing of opened TCP segments before the TUN write, as the kernel's GRO and
 * wireguard-go's TUN offload do: consecutive in-order segments of one TCP connection from
 * one receive batch become one large packet written once, with a virtio_net_hdr asking the
 * kernel to treat it as GSO (VIRTIO_NET_HDR_GSO_TCPV4, gso_size = the segment size). The
 * receiving TCP then runs once per batch instead of once per segment (the dominant cost of
 * the inbound worker: docs/datapath.md "Per-packet cost").
 *
 * A segment joins only when it is exactly what the kernel would have merged: IPv4 without
 * options or fragmentation, TCP flags ACK (PSH allowed on the last), same addresses, ports,
 * TOS, TTL, DF, ACK number, window and options, the next sequence number, a payload of the
 * first segment's size (a shorter one ends the packet), a valid TCP checksum (verified here,
 * since the merged packet is handed over as CHECKSUM_PARTIAL), 64 KiB at most. Anything
 * else is written as it came, after the pending packet, so a connection's order is kept.
 *
 * struct virtio_net_hdr (10 bytes): flags u8, gso_type u8, hdr_len u16, gso_size u16,
 * csum_start u16, csum_offset u16 (host byte order, little endian here).
 */

import { fold, onesSum } from "./checksum.js";

import { VNET_HDR_BYTES } from "../platform/tun.js";

const VIRTIO_NET_HDR_F_NEEDS_CSUM = 1;
const VIRTIO_NET_HDR_GSO_TCPV4 = 1;
const TCP = 6;
const ACK = 0x10;
const PSH = 0x08;
const MAX_IP = 65_535;

/** RFC 793 pseudo-header sum for an IPv4 packet at p (header `ihl` bytes), TCP length `len`. */
function pseudoSum(p: Uint8Array, len: number): number {
  return onesSum(p, 12, 20) + TCP + len;
}

/** A TCP segment's coalescing facts, or null when it must be written alone. */
export interface Segment {
  tcpAt: number;
  /** IP + TCP header bytes. */
  headerBytes: number;
  payloadBytes: number;
  seq: number;
  flags: number;
}

/** The segment if this IPv4 packet may be merged (see the file comment), else null. */
export function coalescable(p: Uint8Array): Segment | null {
  if (p.length < 40 || p[0] !== 0x45 || p[9] !== TCP) return null;
  const total = ((p[2] as number) << 8) | (p[3] as number);
  if (total !== p.length || (((p[6] as number) << 8) | (p[7] as number)) & 0x3fff) return null;
  const thl = ((p[32] as number) >> 4) * 4;
  const flags = p[33] as number;
  const payloadBytes = total - 20 - thl;
  if (thl < 20 || payloadBytes <= 0 || (flags & ~PSH) !== ACK) return null;
  if (fold(onesSum(p, 20, total, pseudoSum(p, total - 20))) !== 0xffff) return null;
  const seq =
    (p[24] as number) * 2 ** 24 +
    (((p[25] as number) << 16) | ((p[26] as number) << 8) | (p[27] as number));
  return { tcpAt: 20, headerBytes: 20 + thl, payloadBytes, seq, flags };
}

/** Same connection and same header fields apart from length, ID, checksums, seq, PSH. */
function sameFlow(a: Uint8Array, b: Uint8Array, headerBytes: number): boolean {
  if (a[1] !== b[1] || a[6] !== b[6] || a[8] !== b[8]) return false; // TOS, DF, TTL
  for (let i = 12; i < 24; i++) if (a[i] !== b[i]) return false; // addresses, ports
  for (let i = 28; i < 32; i++) if (a[i] !== b[i]) return false; // ack
  if (a[32] !== b[32] || a[34] !== b[34] || a[35] !== b[35]) return false; // offset, window
  for (let i = 40; i < headerBytes; i++) if (a[i] !== b[i]) return false; // options
  return true;
}

export interface GroDeps {
  /** Native memory for one merged packet: VNET_HDR_BYTES + 65,535 bytes. */
  area: Buffer;
  /** Writes one frame (virtio_net_hdr + packet) to the TUN; false when refused. */
  writeFrame(frame: Buffer): boolean;
  /** `segments` packets were refused by the TUN (counted as tun_write_failed). */
  failed(segments: number): void;
}

export interface Coalescer {
  /** An opened packet with >= VNET_HDR_BYTES of writable headroom before it in its buffer. */
  add(packet: Buffer): void;
  /** Writes what is pending (end of a receive batch). */
  flush(): void;
}

/** Writes a packet alone: a zero virtio_net_hdr in its headroom. */
function single(packet: Buffer, deps: GroDeps): void {
  const frame = Buffer.from(
    packet.buffer,
    packet.byteOffset - VNET_HDR_BYTES,
    packet.length + VNET_HDR_BYTES,
  );
  frame.fill(0, 0, VNET_HDR_BYTES);
  if (!deps.writeFrame(frame)) deps.failed(1);
}

export function createCoalescer(deps: GroDeps): Coalescer {
  const { area } = deps;
  let first: Buffer | null = null; // the pending packet while it is one segment (no copy)
  let firstSeg: Segment | null = null;
  let count = 0;
  let length = 0; // merged IP packet bytes in area (count >= 2)
  let nextSeq = 0;
  let closed = false;

  const flush = () => {
    if (first === null || firstSeg === null) return;
    if (count === 1) single(first, deps);
    else {
      const p = area.subarray(VNET_HDR_BYTES, VNET_HDR_BYTES + length);
      p.writeUInt16BE(length, 2);
      p.writeUInt16BE(0, 10);
      p.writeUInt16BE(~fold(onesSum(p, 0, 20)) & 0xffff, 10);
      p.writeUInt16BE(fold(pseudoSum(p, length - 20)), 36); // partial: the pseudo-header only
      area[0] = VIRTIO_NET_HDR_F_NEEDS_CSUM;
      area[1] = VIRTIO_NET_HDR_GSO_TCPV4;
      area.writeUInt16LE(firstSeg.headerBytes, 2);
      area.writeUInt16LE(firstSeg.payloadBytes, 4);
      area.writeUInt16LE(20, 6);
      area.writeUInt16LE(16, 8);
      if (!deps.writeFrame(area.subarray(0, VNET_HDR_BYTES + length))) deps.failed(count);
    }
    first = null;
    firstSeg = null;
    count = 0;
  };

  const joins = (p: Buffer, s: Segment): boolean =>
    first !== null &&
    firstSeg !== null &&
    !closed &&
    s.seq === nextSeq &&
    s.headerBytes === firstSeg.headerBytes &&
    s.payloadBytes <= firstSeg.payloadBytes &&
    (count === 1 ? first.length : length) + s.payloadBytes <= MAX_IP &&
    sameFlow(first, p, s.headerBytes);

  return {
    flush,
    add(packet) {
      const s = coalescable(packet);
      if (s === null) {
        flush();
        single(packet, deps);
        return;
      }
      if (!joins(packet, s)) {
        flush();
        first = packet;
        firstSeg = s;
        count = 1;
        closed = (s.flags & PSH) !== 0;
        nextSeq = (s.seq + s.payloadBytes) >>> 0;
        return;
      }
      if (count === 1 && first !== null) {
        area.set(first, VNET_HDR_BYTES);
        length = first.length;
      }
      area.set(packet.subarray(s.headerBytes), VNET_HDR_BYTES + length);
      length += s.payloadBytes;
      count += 1;
      nextSeq = (s.seq + s.payloadBytes) >>> 0;
      const firstP = area.subarray(VNET_HDR_BYTES);
      if (s.flags & PSH) firstP[33] = (firstP[33] as number) | PSH;
      closed = (s.flags & PSH) !== 0 || s.payloadBytes < (firstSeg?.payloadBytes ?? 0);
    },
  };
}
