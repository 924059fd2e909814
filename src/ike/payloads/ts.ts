/**
 * The Traffic Selector payloads TSi and TSr (RFC 7296 §3.13, §3.13.1).
 *
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * | Next Payload  |C|  RESERVED   |         Payload Length        |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * | Number of TSs |                 RESERVED                      |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ~                       <Traffic Selectors>                     ~
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * Traffic selector:
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |   TS Type     |IP Protocol ID*|       Selector Length         |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |           Start Port*         |           End Port*           |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ~                         Starting Address*                     ~
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ~                         Ending Address*                       ~
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 */
import { TsType } from "../constants.js";
import { malformed } from "../errors.js";
import { createReader, u8, u16 } from "./reader.js";

export interface TrafficSelector {
  /** 7 = IPv4 range, 8 = IPv6 range. */
  tsType: number;
  /** 0 = any protocol. */
  ipProtocol: number;
  startPort: number;
  endPort: number;
  /** 4 or 16 bytes each, per tsType. */
  startAddr: Buffer;
  endAddr: Buffer;
}

export interface TsPayload {
  type: "TSi" | "TSr";
  selectors: TrafficSelector[];
}

function addrLength(tsType: number, what: string): number {
  if (tsType === TsType.IPV4_ADDR_RANGE) return 4;
  if (tsType === TsType.IPV6_ADDR_RANGE) return 16;
  throw malformed(`${what}: TS type ${tsType} is not 7 (IPv4) or 8 (IPv6)`);
}

export function encodeTs(p: TsPayload): Buffer {
  const sels = p.selectors.map((s) =>
    Buffer.concat([
      u8(s.tsType),
      u8(s.ipProtocol),
      u16(8 + s.startAddr.length + s.endAddr.length),
      u16(s.startPort),
      u16(s.endPort),
      s.startAddr,
      s.endAddr,
    ]),
  );
  return Buffer.concat([u8(p.selectors.length), Buffer.alloc(3), ...sels]);
}

export function decodeTs(body: Uint8Array, type: "TSi" | "TSr"): TsPayload {
  const what = `${type} payload`;
  const r = createReader(body, what);
  const count = r.u8("number of TSs");
  r.bytes(3, "reserved");
  const selectors: TrafficSelector[] = [];
  for (let i = 0; i < count; i++) {
    const tsType = r.u8(`TS ${i} type`);
    const ipProtocol = r.u8(`TS ${i} IP protocol`);
    const len = r.u16(`TS ${i} selector length`);
    const alen = addrLength(tsType, what);
    if (len !== 8 + 2 * alen)
      throw malformed(`${what}: TS ${i} selector length ${len} is not ${8 + 2 * alen}`);
    const startPort = r.u16(`TS ${i} start port`);
    const endPort = r.u16(`TS ${i} end port`);
    const startAddr = r.bytes(alen, `TS ${i} starting address`);
    const endAddr = r.bytes(alen, `TS ${i} ending address`);
    selectors.push({ tsType, ipProtocol, startPort, endPort, startAddr, endAddr });
  }
  r.end();
  return { type, selectors };
}
