/**
 * Registry.pol, the registry settings file of a GPO ([MS-GPREG] 2.2.1): the header
 * `PReg` + version 1 (little-endian u32), then records
 *
 *   [ key ; value ; type ; size ; data ]
 *
 * where the brackets and semicolons are UTF-16LE characters, key and value are UTF-16LE
 * strings with their NUL, type and size are little-endian u32 and data is `size` raw bytes.
 * Values named `**del.NAME`, `**delvals.` and the like are instructions ([MS-GPREG] 2.2.1)
 * kept as ordinary records here; their meaning belongs to the reader (firewall-pol.ts).
 * Parsing is strict and refuses with one line: wrong signature or version, a record that
 * is not closed, a size that runs past the end.
 */
import { PosternError } from "../errors.js";

export const REG = { SZ: 1, EXPAND_SZ: 2, BINARY: 3, DWORD: 4, MULTI_SZ: 7, QWORD: 11 } as const;

export interface PolRecord {
  key: string;
  value: string;
  type: number;
  data: Buffer;
}

export class RegistryPolError extends PosternError {
  constructor(message: string) {
    super("gpreg", `Registry.pol: ${message}`);
    this.name = "RegistryPolError";
  }
}

const SIGNATURE = 0x67655250; // "PReg"
const VERSION = 1;

function ch(b: Buffer, off: number, c: string, what: string): number {
  if (off + 2 > b.length || b.readUInt16LE(off) !== c.charCodeAt(0))
    throw new RegistryPolError(`expected '${c}' ${what} at offset ${off}`);
  return off + 2;
}

/** A NUL-terminated UTF-16LE string starting at `off`; returns it and the offset after NUL. */
function wstr(b: Buffer, off: number, what: string): [string, number] {
  for (let i = off; i + 1 < b.length; i += 2)
    if (b.readUInt16LE(i) === 0) return [b.subarray(off, i).toString("utf16le"), i + 2];
  throw new RegistryPolError(`${what} at offset ${off} has no terminating NUL`);
}

export function parseRegistryPol(b: Buffer): PolRecord[] {
  if (b.length < 8 || b.readUInt32LE(0) !== SIGNATURE)
    throw new RegistryPolError("no PReg signature");
  if (b.readUInt32LE(4) !== VERSION)
    throw new RegistryPolError(`version ${b.readUInt32LE(4)} is not 1`);
  const out: PolRecord[] = [];
  let off = 8;
  while (off < b.length) {
    const n = out.length + 1;
    off = ch(b, off, "[", `opening record ${n}`);
    const [key, a] = wstr(b, off, `record ${n} key`);
    off = ch(b, a, ";", `after record ${n} key`);
    const [value, c] = wstr(b, off, `record ${n} value name`);
    off = ch(b, c, ";", `after record ${n} value name`);
    if (off + 4 > b.length) throw new RegistryPolError(`record ${n} type runs past the end`);
    const type = b.readUInt32LE(off);
    off = ch(b, off + 4, ";", `after record ${n} type`);
    if (off + 4 > b.length) throw new RegistryPolError(`record ${n} size runs past the end`);
    const size = b.readUInt32LE(off);
    off = ch(b, off + 4, ";", `after record ${n} size`);
    if (off + size > b.length)
      throw new RegistryPolError(`record ${n} data (${size} bytes) runs past the end`);
    const data = Buffer.from(b.subarray(off, off + size));
    off = ch(b, off + size, "]", `closing record ${n}`);
    out.push({ key, value, type, data });
  }
  return out;
}

const u16 = (c: string) => Buffer.from(c, "utf16le");
const u32 = (v: number) => {
  const x = Buffer.alloc(4);
  x.writeUInt32LE(v >>> 0);
  return x;
};

export function formatRegistryPol(records: readonly PolRecord[]): Buffer {
  const parts: Buffer[] = [u32(SIGNATURE), u32(VERSION)];
  for (const r of records)
    parts.push(
      u16("["),
      u16(`${r.key}\0`),
      u16(";"),
      u16(`${r.value}\0`),
      u16(";"),
      u32(r.type),
      u16(";"),
      u32(r.data.length),
      u16(";"),
      r.data,
      u16("]"),
    );
  return Buffer.concat(parts);
}

/** REG_SZ data: UTF-16LE with its NUL. */
export function szData(s: string): Buffer {
  return Buffer.from(`${s}\0`, "utf16le");
}

export function dwordData(v: number): Buffer {
  return u32(v);
}

/** A record's value as text (REG_SZ / EXPAND_SZ, NUL stripped) or number (DWORD). */
export function recordValue(r: PolRecord): string | number | null {
  if ((r.type === REG.SZ || r.type === REG.EXPAND_SZ) && r.data.length % 2 === 0)
    return r.data.toString("utf16le").replace(/\0+$/, "");
  if (r.type === REG.DWORD && r.data.length === 4) return r.data.readUInt32LE(0);
  return null;
}
