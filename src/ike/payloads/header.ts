/**
 * The IKE header (RFC 7296 §3.1).
 *
 *                      1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                       IKE SA Initiator's SPI                  |
 * |                                                               |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                       IKE SA Responder's SPI                  |
 * |                                                               |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |  Next Payload | MjVer | MnVer | Exchange Type |     Flags     |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                          Message ID                           |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                            Length                             |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 */
import { HeaderFlag } from "../constants.js";
import { malformed } from "../errors.js";
import { createReader } from "./reader.js";

export const IKE_HEADER_LENGTH = 28;

export interface IkeHeader {
  spiI: Buffer;
  spiR: Buffer;
  nextPayload: number;
  majorVersion: number;
  minorVersion: number;
  exchangeType: number;
  /** I (initiator), R (response) flags. */
  initiator: boolean;
  response: boolean;
  messageId: number;
  /** Total message length including this header. */
  length: number;
}

export function encodeHeader(h: IkeHeader): Buffer {
  const b = Buffer.alloc(IKE_HEADER_LENGTH);
  h.spiI.copy(b, 0, 0, 8);
  h.spiR.copy(b, 8, 0, 8);
  b[16] = h.nextPayload;
  b[17] = ((h.majorVersion & 0xf) << 4) | (h.minorVersion & 0xf);
  b[18] = h.exchangeType;
  b[19] = (h.initiator ? HeaderFlag.INITIATOR : 0) | (h.response ? HeaderFlag.RESPONSE : 0);
  b.writeUInt32BE(h.messageId >>> 0, 20);
  b.writeUInt32BE(h.length >>> 0, 24);
  return b;
}

/** Decodes and validates the header against the datagram it came in. */
export function decodeHeader(datagram: Uint8Array): IkeHeader {
  if (datagram.length < IKE_HEADER_LENGTH) {
    throw malformed(`IKE header: datagram length ${datagram.length} < ${IKE_HEADER_LENGTH}`);
  }
  const r = createReader(datagram.subarray(0, IKE_HEADER_LENGTH), "IKE header");
  const spiI = r.bytes(8, "initiator SPI");
  const spiR = r.bytes(8, "responder SPI");
  const nextPayload = r.u8("next payload");
  const ver = r.u8("version");
  const exchangeType = r.u8("exchange type");
  const flags = r.u8("flags");
  const messageId = r.u32("message ID");
  const length = r.u32("length");
  if (ver >> 4 !== 2) throw malformed(`IKE header: major version ${ver >> 4} is not 2`);
  if (length !== datagram.length) {
    throw malformed(`IKE header: length ${length} but datagram has ${datagram.length} bytes`);
  }
  return {
    spiI,
    spiR,
    nextPayload,
    majorVersion: ver >> 4,
    minorVersion: ver & 0xf,
    exchangeType,
    initiator: (flags & HeaderFlag.INITIATOR) !== 0,
    response: (flags & HeaderFlag.RESPONSE) !== 0,
    messageId,
    length,
  };
}
