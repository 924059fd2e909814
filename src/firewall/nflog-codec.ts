/**
 * nfnetlink_log messages (linux/netfilter/nfnetlink_log.h), the kernel's channel for
 * nftables `log group N`: pure encode of the config requests, decode of packet events.
 *
 *   nlmsghdr  { u32 len; u16 type; u16 flags; u32 seq; u32 pid }        (host order)
 *   nfgenmsg  { u8 family; u8 version (0); be16 res_id (the group) }
 *   nlattr    { u16 len; u16 type } payload, padded to 4 bytes
 * type = (NFNL_SUBSYS_ULOG 4 << 8) | NFULNL_MSG_PACKET 0 / NFULNL_MSG_CONFIG 1.
 * Config attrs: NFULA_CFG_CMD 1 { u8 cmd: BIND 1 } ; NFULA_CFG_MODE 2 { be32 range; u8 mode }.
 * Packet attrs: NFULA_PACKET_HDR 1 { be16 hw_protocol; u8 hook }, NFULA_IFINDEX_INDEV 4,
 * NFULA_IFINDEX_OUTDEV 5, NFULA_PAYLOAD 9 (from the IP header), NFULA_PREFIX 10 (C string).
 */

export const NETLINK_NETFILTER = 12;
export const NFNL_SUBSYS_ULOG = 4;
export const NFULNL_MSG_PACKET = 0;
export const NFULNL_MSG_CONFIG = 1;
export const NFULNL_CFG_CMD_BIND = 1;
export const NFULNL_COPY_PACKET = 2;
const NLM_F_REQUEST = 1;
const NLM_F_ACK = 4;
const NLMSG_ERROR = 2;

export interface NflogPacket {
  group: number;
  family: number;
  prefix: string;
  indev?: number;
  outdev?: number;
  payload: Buffer;
}

function attr(type: number, body: Buffer): Buffer {
  const len = 4 + body.length;
  const out = Buffer.alloc((len + 3) & ~3);
  out.writeUInt16LE(len, 0);
  out.writeUInt16LE(type, 2);
  body.copy(out, 4);
  return out;
}

function message(group: number, seq: number, attrs: Buffer[]): Buffer {
  const body = Buffer.concat([Buffer.from([0, 0, (group >> 8) & 0xff, group & 0xff]), ...attrs]);
  const hdr = Buffer.alloc(16);
  hdr.writeUInt32LE(16 + body.length, 0);
  hdr.writeUInt16LE((NFNL_SUBSYS_ULOG << 8) | NFULNL_MSG_CONFIG, 4);
  hdr.writeUInt16LE(NLM_F_REQUEST | NLM_F_ACK, 6);
  hdr.writeUInt32LE(seq, 8);
  return Buffer.concat([hdr, body]);
}

/** "bind this socket to log group N". */
export function bindGroupRequest(group: number, seq: number): Buffer {
  return message(group, seq, [attr(1, Buffer.from([NFULNL_CFG_CMD_BIND]))]);
}

/** "copy up to `range` bytes of each packet". */
export function copyModeRequest(group: number, seq: number, range: number): Buffer {
  const mode = Buffer.alloc(6);
  mode.writeUInt32BE(range, 0);
  mode[4] = NFULNL_COPY_PACKET;
  return message(group, seq, [attr(2, mode)]);
}

export type NetlinkItem =
  | { kind: "packet"; packet: NflogPacket }
  | { kind: "ack"; seq: number; errno: number }
  | { kind: "other"; type: number };

/** Splits one recv() buffer into its netlink messages; malformed tails are dropped. */
export function decodeMessages(buf: Buffer): NetlinkItem[] {
  const out: NetlinkItem[] = [];
  let off = 0;
  while (off + 16 <= buf.length) {
    const len = buf.readUInt32LE(off);
    if (len < 16 || off + len > buf.length) break;
    const type = buf.readUInt16LE(off + 4);
    const seq = buf.readUInt32LE(off + 8);
    if (type === NLMSG_ERROR && len >= 20) {
      out.push({ kind: "ack", seq, errno: -buf.readInt32LE(off + 16) });
    } else if (type === ((NFNL_SUBSYS_ULOG << 8) | NFULNL_MSG_PACKET) && len >= 20) {
      out.push({ kind: "packet", packet: decodePacket(buf.subarray(off + 16, off + len)) });
    } else {
      out.push({ kind: "other", type });
    }
    off += (len + 3) & ~3;
  }
  return out;
}

function decodePacket(body: Buffer): NflogPacket {
  const p: NflogPacket = {
    family: body[0] as number,
    group: body.readUInt16BE(2),
    prefix: "",
    payload: Buffer.alloc(0),
  };
  let off = 4;
  while (off + 4 <= body.length) {
    const len = body.readUInt16LE(off);
    const type = body.readUInt16LE(off + 2) & 0x3fff;
    if (len < 4 || off + len > body.length) break;
    const v = body.subarray(off + 4, off + len);
    if (type === 4 && v.length >= 4) p.indev = v.readUInt32BE(0);
    else if (type === 5 && v.length >= 4) p.outdev = v.readUInt32BE(0);
    else if (type === 9) p.payload = Buffer.from(v);
    else if (type === 10) p.prefix = v.toString("utf8").replace(/\0.*$/s, "");
    off += (len + 3) & ~3;
  }
  return p;
}
