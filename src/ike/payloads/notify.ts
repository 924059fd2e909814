/**
 * The Notify payload (RFC 7296 §3.10).
 *
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * | Next Payload  |C|  RESERVED   |         Payload Length        |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |  Protocol ID  |   SPI Size    |      Notify Message Type      |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ~                Security Parameter Index (SPI)                 ~
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ~                       Notification Data                       ~
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * The type table is NotifyType in ../constants.ts.
 */
import { createReader, u16 } from "./reader.js";

export interface NotifyPayload {
  type: "N";
  protocolId: number;
  spi: Buffer;
  notifyType: number;
  data: Buffer;
}

export function encodeNotify(p: NotifyPayload): Buffer {
  return Buffer.concat([
    Buffer.from([p.protocolId, p.spi.length]),
    u16(p.notifyType),
    p.spi,
    p.data,
  ]);
}

export function decodeNotify(body: Uint8Array): NotifyPayload {
  const r = createReader(body, "Notify payload");
  const protocolId = r.u8("protocol id");
  const spiSize = r.u8("SPI size");
  const notifyType = r.u16("notify message type");
  const spi = r.bytes(spiSize, "SPI");
  return { type: "N", protocolId, spi, notifyType, data: r.rest() };
}

/** A notify with no SPI. */
export function notify(notifyType: number, data: Uint8Array = Buffer.alloc(0)): NotifyPayload {
  return { type: "N", protocolId: 0, spi: Buffer.alloc(0), notifyType, data: Buffer.from(data) };
}
