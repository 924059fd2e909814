/**
 * UPN_DNS_INFO (MS-PAC §2.10), not NDR-encoded; offsets are from the start of the buffer:
 *
 *   UpnLength (2) | UpnOffset (2) | DnsDomainNameLength (2) | DnsDomainNameOffset (2)
 *   | Flags (4: U=0x1 no UPN attribute, S=0x2 extended with SAM name and SID)
 *   [S set:] SamNameLength (2) | SamNameOffset (2) | SidLength (2) | SidOffset (2)
 *   ... UTF-16LE strings and the binary SID, each placed at an 8-byte boundary
 */
import { utf16le } from "./client-info.js";
import { PacError } from "./errors.js";
import { sidFromBytes, sidToBytes } from "./sid.js";

export const UPN_FLAG_NO_UPN = 0x1;
export const UPN_FLAG_EXTENDED = 0x2;

export interface UpnDnsInfo {
  upn: string;
  dnsDomainName: string;
  /** UpnDnsInfo flags; the encoder sets S (0x2) when samName and sid are given. */
  flags: number;
  samName?: string;
  sid?: string;
}

function field(buf: Uint8Array, len: number, off: number, what: string): Uint8Array {
  if (off + len > buf.length || (len > 0 && off === 0)) {
    throw new PacError(
      "pac-malformed",
      `UPN_DNS_INFO: ${what} length ${len} at offset ${off} lies outside the ${buf.length}-byte buffer`,
    );
  }
  return buf.subarray(off, off + len);
}

const text = (b: Uint8Array, what: string) => {
  if (b.length % 2 !== 0)
    throw new PacError("pac-malformed", `UPN_DNS_INFO: ${what} length ${b.length} is odd`);
  return new TextDecoder("utf-16le").decode(b);
};

export function decodeUpnDnsInfo(buf: Uint8Array): UpnDnsInfo {
  if (buf.length < 12)
    throw new PacError("pac-malformed", `UPN_DNS_INFO: ${buf.length} bytes < 12`);
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const u16 = (o: number) => dv.getUint16(o, true);
  const flags = dv.getUint32(8, true);
  const out: UpnDnsInfo = {
    upn: text(field(buf, u16(0), u16(2), "Upn"), "Upn"),
    dnsDomainName: text(field(buf, u16(4), u16(6), "DnsDomainName"), "DnsDomainName"),
    flags,
  };
  if (flags & UPN_FLAG_EXTENDED) {
    if (buf.length < 20)
      throw new PacError("pac-malformed", `UPN_DNS_INFO: extended but ${buf.length} bytes < 20`);
    out.samName = text(field(buf, u16(12), u16(14), "SamName"), "SamName");
    const sid = field(buf, u16(16), u16(18), "Sid");
    const parsed = sidFromBytes(sid);
    if (parsed.length !== sid.length) {
      throw new PacError(
        "pac-malformed",
        `UPN_DNS_INFO: SidLength ${sid.length} != SID size ${parsed.length}`,
      );
    }
    out.sid = parsed.sid;
  }
  return out;
}

const pad8 = (n: number) => (n + 7) & ~7;

export function encodeUpnDnsInfo(v: UpnDnsInfo): Uint8Array {
  const extended = v.samName !== undefined && v.sid !== undefined;
  const parts = [utf16le(v.upn), utf16le(v.dnsDomainName)];
  if (extended) parts.push(utf16le(v.samName!), sidToBytes(v.sid!));
  let off = pad8(extended ? 20 : 12);
  const offsets = parts.map((p) => {
    const at = off;
    off = pad8(off + p.length);
    return at;
  });
  if (off > 0xffff) throw new PacError("pac-malformed", "UPN_DNS_INFO: names too long");
  const out = new Uint8Array(off);
  const dv = new DataView(out.buffer);
  // (length, offset) pairs live at 0 and 4, then Flags at 8, then the extended pairs at 12, 16.
  const slots = [0, 4, 12, 16];
  parts.forEach((p, i) => {
    dv.setUint16(slots[i]!, p.length, true);
    dv.setUint16(slots[i]! + 2, p.length === 0 ? 0 : offsets[i]!, true);
    out.set(p, offsets[i]!);
  });
  dv.setUint32(8, (v.flags & ~UPN_FLAG_EXTENDED) | (extended ? UPN_FLAG_EXTENDED : 0), true);
  return out;
}
