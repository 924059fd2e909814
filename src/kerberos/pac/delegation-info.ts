/**
 * S4U_DELEGATION_INFO (MS-PAC §2.9, PAC buffer type 11): what a KDC adds to the PAC of a
 * ticket issued by S4U2Proxy, NDR in a type serialization header (MS-RPCE §2.2.6):
 *
 *   typedef struct _S4U_DELEGATION_INFO {
 *     RPC_UNICODE_STRING S4U2proxyTarget;          -- the target, as requested, no realm
 *     ULONG TransitedListSize;
 *     [size_is(TransitedListSize)] PRPC_UNICODE_STRING S4UTransitedServices;
 *   } S4U_DELEGATION_INFO;                          -- each delegating service, name@REALM
 *
 * A chain of delegations appends one transited service per hop.
 */
import { openTypeSerialization, sealTypeSerialization } from "../../ndr/type-serialization.js";
import type { NdrReader } from "../../ndr/reader.js";
import type { NdrWriter } from "../../ndr/writer.js";
import { PacError } from "./errors.js";

export interface S4uDelegationInfo {
  proxyTarget: string;
  transitedServices: string[];
}

const UTF16 = new TextDecoder("utf-16le");

function head(w: NdrWriter, s: string): void {
  w.u16(s.length * 2);
  w.u16(s.length * 2);
  w.pointer(true);
}

function body(w: NdrWriter, s: string): void {
  w.u32(s.length);
  w.u32(0);
  w.u32(s.length);
  w.utf16(s);
  w.align(4);
}

export function encodeDelegationInfo(v: S4uDelegationInfo): Uint8Array {
  return sealTypeSerialization((w) => {
    w.pointer(true);
    head(w, v.proxyTarget);
    w.u32(v.transitedServices.length);
    w.pointer(v.transitedServices.length > 0);
    body(w, v.proxyTarget);
    if (v.transitedServices.length === 0) return;
    w.u32(v.transitedServices.length);
    for (const s of v.transitedServices) head(w, s);
    for (const s of v.transitedServices) body(w, s);
  });
}

function readHead(r: NdrReader, what: string) {
  const length = r.u16(`${what}.Length`);
  r.u16(`${what}.MaximumLength`);
  return { length, ptr: r.pointer(`${what}.Buffer`), what };
}

function readBody(r: NdrReader, h: { length: number; ptr: number; what: string }): string {
  if (h.ptr === 0) return "";
  r.u32(`${h.what} maximum count`);
  r.u32(`${h.what} offset`);
  const actual = r.count(2, `${h.what} actual count`);
  if (actual * 2 !== h.length)
    throw new PacError("pac-malformed", `S4U_DELEGATION_INFO: ${h.what} length disagrees`);
  const s = UTF16.decode(r.bytes(actual * 2, h.what));
  r.align(4);
  return s;
}

export function decodeDelegationInfo(buf: Uint8Array): S4uDelegationInfo {
  const r = openTypeSerialization(buf, "S4U_DELEGATION_INFO");
  r.pointer("S4U_DELEGATION_INFO");
  const target = readHead(r, "S4U2proxyTarget");
  const size = r.u32("TransitedListSize");
  const listPtr = r.pointer("S4UTransitedServices");
  const proxyTarget = readBody(r, target);
  const transitedServices: string[] = [];
  if (listPtr !== 0) {
    const count = r.count(8, "S4UTransitedServices count");
    if (count !== size)
      throw new PacError("pac-malformed", "S4U_DELEGATION_INFO: transited list size disagrees");
    const heads = Array.from({ length: count }, (_, i) =>
      readHead(r, `S4UTransitedServices[${i}]`),
    );
    for (const h of heads) transitedServices.push(readBody(r, h));
  }
  return { proxyTarget, transitedServices };
}
