/**
 * The Vendor ID payload (RFC 7296 §3.12).
 *
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * | Next Payload  |C|  RESERVED   |         Payload Length        |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ~                        Vendor ID (VID)                        ~
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 */
export interface VendorPayload {
  type: "V";
  data: Buffer;
}

export function encodeVendor(p: VendorPayload): Buffer {
  return Buffer.from(p.data);
}

export function decodeVendor(body: Uint8Array): VendorPayload {
  return { type: "V", data: Buffer.from(body) };
}
