/**
 * The Security Association payload (RFC 7296 §3.3): proposals, transforms, attributes.
 *
 * Proposal substructure (§3.3.1):
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * | Last Substruc |   RESERVED    |         Proposal Length       |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * | Proposal Num  |  Protocol ID  |    SPI Size   |Num  Transforms|
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ~                        SPI (variable)                         ~
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ~                        <Transforms>                           ~
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * Transform substructure (§3.3.2):
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * | Last Substruc |   RESERVED    |        Transform Length       |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |Transform Type |   RESERVED    |          Transform ID         |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ~                      Transform Attributes                     ~
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * Transform attribute (§3.3.5), TV format when AF=1 (Key Length is TV):
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |A|       Attribute Type        |    AF=0  Attribute Length     |
 * |F|                             |    AF=1  Attribute Value      |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                   AF=0  Attribute Value                       |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 */
import { ATTR_KEY_LENGTH } from "../constants.js";
import { malformed } from "../errors.js";
import { createReader, u8, u16 } from "./reader.js";

export interface Transform {
  type: number;
  id: number;
  /** Key Length attribute in bits, when present. */
  keyLength?: number;
}

export interface Proposal {
  num: number;
  protocolId: number;
  spi: Buffer;
  transforms: Transform[];
}

export interface SaPayload {
  type: "SA";
  proposals: Proposal[];
}

const PROPOSAL_MIN = 8;
const TRANSFORM_MIN = 8;

function encodeTransform(t: Transform, last: boolean): Buffer {
  const attrs =
    t.keyLength === undefined
      ? Buffer.alloc(0)
      : Buffer.concat([u16(0x8000 | ATTR_KEY_LENGTH), u16(t.keyLength)]);
  return Buffer.concat([
    u8(last ? 0 : 3),
    u8(0),
    u16(TRANSFORM_MIN + attrs.length),
    u8(t.type),
    u8(0),
    u16(t.id),
    attrs,
  ]);
}

function encodeProposal(p: Proposal, last: boolean): Buffer {
  const ts = Buffer.concat(
    p.transforms.map((t, i) => encodeTransform(t, i === p.transforms.length - 1)),
  );
  const len = PROPOSAL_MIN + p.spi.length + ts.length;
  return Buffer.concat([
    u8(last ? 0 : 2),
    u8(0),
    u16(len),
    u8(p.num),
    u8(p.protocolId),
    u8(p.spi.length),
    u8(p.transforms.length),
    p.spi,
    ts,
  ]);
}

export function encodeSa(p: SaPayload): Buffer {
  return Buffer.concat(p.proposals.map((x, i) => encodeProposal(x, i === p.proposals.length - 1)));
}

function decodeAttributes(buf: Buffer, t: Transform): void {
  const r = createReader(buf, "SA payload transform attributes");
  while (r.remaining > 0) {
    const typeField = r.u16("attribute type");
    const type = typeField & 0x7fff;
    if (typeField & 0x8000) {
      const value = r.u16("attribute value");
      if (type === ATTR_KEY_LENGTH) t.keyLength = value;
    } else {
      const len = r.u16("attribute length");
      r.bytes(len, "attribute value");
    }
  }
}

function decodeTransform(r: ReturnType<typeof createReader>, last: { v: boolean }): Transform {
  const more = r.u8("transform last substruc");
  if (more !== 0 && more !== 3)
    throw malformed(`SA payload: transform last substruc ${more} is not 0 or 3`);
  last.v = more === 0;
  r.u8("transform reserved");
  const len = r.u16("transform length");
  if (len < TRANSFORM_MIN)
    throw malformed(`SA payload: transform length ${len} < minimum ${TRANSFORM_MIN}`);
  if (len - 4 > r.remaining)
    throw malformed(`SA payload: transform length ${len} exceeds the proposal`);
  const type = r.u8("transform type");
  r.u8("transform reserved2");
  const id = r.u16("transform id");
  const t: Transform = { type, id };
  decodeAttributes(r.bytes(len - TRANSFORM_MIN, "transform attributes"), t);
  return t;
}

function decodeProposal(body: Buffer): Proposal {
  const r = createReader(body, "SA payload proposal");
  const num = r.u8("proposal num");
  const protocolId = r.u8("protocol id");
  const spiSize = r.u8("SPI size");
  const count = r.u8("num transforms");
  const spi = r.bytes(spiSize, "SPI");
  const transforms: Transform[] = [];
  const last = { v: false };
  for (let i = 0; i < count; i++) {
    if (last.v) throw malformed(`SA payload: proposal ${num} has transforms after the last one`);
    transforms.push(decodeTransform(r, last));
  }
  if (!last.v && count > 0)
    throw malformed(`SA payload: proposal ${num} last transform not marked last`);
  r.end();
  return { num, protocolId, spi, transforms };
}

export function decodeSa(body: Uint8Array): SaPayload {
  const r = createReader(body, "SA payload");
  const proposals: Proposal[] = [];
  let last = false;
  while (!last) {
    const more = r.u8("proposal last substruc");
    if (more !== 0 && more !== 2)
      throw malformed(`SA payload: proposal last substruc ${more} is not 0 or 2`);
    last = more === 0;
    r.u8("proposal reserved");
    const len = r.u16("proposal length");
    if (len < PROPOSAL_MIN)
      throw malformed(`SA payload: proposal length ${len} < minimum ${PROPOSAL_MIN}`);
    proposals.push(decodeProposal(r.bytes(len - 4, "proposal")));
  }
  r.end();
  return { type: "SA", proposals };
}
