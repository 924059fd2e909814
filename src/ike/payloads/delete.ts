/**
 * The Delete payload (RFC 7296 §3.11). For IKE the SPI size is 0 and there are no SPIs;
 * for ESP/AH the SPIs are 4 bytes (the SPIs the sender expects to receive on).
 *
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * | Next Payload  |C|  RESERVED   |         Payload Length        |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * | Protocol ID   |   SPI Size    |          Num of SPIs          |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ~               Security Parameter Index(es) (SPI)              ~
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 */
import { malformed } from "../errors.js";
import { createReader, u16 } from "./reader.js";

export interface DeletePayload {
  type: "D";
  protocolId: number;
  spiSize: number;
  spis: Buffer[];
}

export function encodeDelete(p: DeletePayload): Buffer {
  return Buffer.concat([Buffer.from([p.protocolId, p.spiSize]), u16(p.spis.length), ...p.spis]);
}

export function decodeDelete(body: Uint8Array): DeletePayload {
  const r = createReader(body, "Delete payload");
  const protocolId = r.u8("protocol id");
  const spiSize = r.u8("SPI size");
  const count = r.u16("num of SPIs");
  // SPI size 0 takes no bytes per SPI: without this, 8 bytes claiming 65,535 SPIs made
  // 65,535 empty buffers (~100 ms per payload, 512 payloads per datagram).
  if (spiSize === 0 && count !== 0)
    throw malformed(`Delete payload: SPI size 0 with num of SPIs ${count} (must be 0)`);
  const spis: Buffer[] = [];
  for (let i = 0; i < count; i++) spis.push(r.bytes(spiSize, `SPI ${i}`));
  r.end();
  return { type: "D", protocolId, spiSize, spis };
}
