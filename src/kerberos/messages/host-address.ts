/**
 * HostAddress and HostAddresses (RFC 4120 §5.2.5); address types from §7.5.3.
 *
 * ```
 * HostAddresses   -- NOTE: subtly different from rfc1510,
 *                 -- but has a value mapping and encodes the same
 *         ::= SEQUENCE OF HostAddress
 *
 * HostAddress     ::= SEQUENCE  {
 *         addr-type       [0] Int32,
 *         address         [1] OCTET STRING
 * }
 * ```
 */
import type { DerNode } from "../../asn1/der.js";
import {
  decodeWith,
  derFields,
  derInt32,
  derOctetString,
  derSequence,
  readInt32,
  readOctetString,
  readSequenceOf,
  SequenceReader,
} from "./primitives.js";

export const ADDRESS_TYPE = {
  IPv4: 2,
  Directional: 3,
  ChaosNet: 5,
  XNS: 6,
  ISO: 7,
  DECNET_Phase_IV: 12,
  AppleTalk_DDP: 16,
  NetBios: 20,
  IPv6: 24,
} as const;

export interface HostAddress {
  addrType: number;
  address: Uint8Array;
}

export function readHostAddress(node: DerNode): HostAddress {
  const r = new SequenceReader(node);
  const addrType = r.req(0, "addr-type", readInt32);
  const address = r.req(1, "address", readOctetString);
  r.end();
  return { addrType, address };
}

export function derHostAddress(a: HostAddress): Uint8Array {
  return derFields([
    [0, derInt32(a.addrType)],
    [1, derOctetString(a.address)],
  ]);
}

export function readHostAddresses(node: DerNode): HostAddress[] {
  return readSequenceOf(node, readHostAddress);
}

export function derHostAddresses(list: readonly HostAddress[]): Uint8Array {
  return derSequence(list.map(derHostAddress));
}

export function encodeHostAddress(a: HostAddress): Uint8Array {
  return derHostAddress(a);
}

export function decodeHostAddress(bytes: Uint8Array): HostAddress {
  return decodeWith(bytes, "HostAddress", readHostAddress);
}

export function encodeHostAddresses(list: readonly HostAddress[]): Uint8Array {
  return derHostAddresses(list);
}

export function decodeHostAddresses(bytes: Uint8Array): HostAddress[] {
  return decodeWith(bytes, "HostAddresses", readHostAddresses);
}
