/**
 * MIT keytab files, version 2 (0x0502), as MIT's `ktadd`, `ktutil` and `klist -k` use them
 * (MIT's "keytab file format" in its docs; all integers big-endian):
 *
 * ```
 * keytab  ::= 0x05 0x02 entry*
 * entry   ::= int32 size                  -- negative: a hole of -size bytes to skip
 *             uint16 num_components       -- v2: the realm is not counted
 *             uint16 len, realm
 *             (uint16 len, component) * num_components
 *             uint32 name_type            -- read as Int32, as in PrincipalName
 *             uint32 timestamp            -- seconds since 1970
 *             uint8  vno8
 *             uint16 enctype, uint16 len, key
 *             [uint32 vno]                -- present when >= 4 bytes remain in the entry;
 *                                         -- overrides vno8 unless 0
 * ```
 *
 * We read v2 (v1, 0x0501, was in native byte order and is refused with a clear error) and
 * always write v2 with the 32-bit kvno trailer. Writes are atomic with mode 0600.
 */
import { atomicWriteFile } from "../../platform/home.js";
import type { Principal } from "../principal.js";
import {
  ByteReader,
  ByteWriter,
  FileFormatError,
  filePathFromName,
  readFileOrFail,
} from "./bytes.js";

export const KEYTAB_V2 = 0x0502;

export interface KeytabKey {
  keytype: number;
  keyvalue: Uint8Array;
}

export interface KeytabEntry {
  principal: Principal;
  /** When the key was added, seconds since 1970 (uint32). */
  timestamp: number;
  kvno: number;
  key: KeytabKey;
}

export interface Keytab {
  entries: KeytabEntry[];
}

/** Parses keytab bytes; every length is checked before it is used. */
export function parseKeytab(bytes: Uint8Array, what = "keytab"): Keytab {
  const r = new ByteReader(bytes, "keytab-malformed", what);
  const version = r.u16("version");
  if (version === 0x0501) {
    throw new FileFormatError(
      "file-unsupported",
      `${what}: keytab version 0x0501 (v1) is not supported; only v2`,
    );
  }
  if (version !== KEYTAB_V2)
    r.fail("version", `0x${version.toString(16).padStart(4, "0")} is not a keytab (0x0502)`);
  const entries: KeytabEntry[] = [];
  while (r.remaining > 0) {
    if (r.remaining < 4) r.fail("entry size", "truncated");
    const size = r.i32("entry size");
    if (size === 0) break;
    if (size < 0) {
      r.skip(-size, "hole");
      continue;
    }
    if (size > r.remaining) r.fail("entry", `size ${size} exceeds the ${r.remaining} bytes left`);
    const start = r.offset;
    entries.push(readEntry(new ByteReader(bytes, "keytab-malformed", what, start + size, start)));
    r.skip(size, "entry");
  }
  return { entries };
}

function readEntry(r: ByteReader): KeytabEntry {
  const count = r.u16("num_components");
  const realm = r.text(r.u16("realm length"), "realm");
  const nameString: string[] = [];
  for (let i = 0; i < count; i++)
    nameString.push(r.text(r.u16("component length"), `component ${i}`));
  const nameType = r.u32("name_type") | 0;
  const timestamp = r.u32("timestamp");
  const vno8 = r.u8("vno8");
  const keytype = r.u16("enctype");
  const keyvalue = r.bytes(r.u16("key length"), "key");
  let kvno = vno8;
  if (r.remaining >= 4) {
    const vno32 = r.u32("vno");
    if (vno32 !== 0) kvno = vno32;
  }
  return {
    principal: { realm, name: { nameType, nameString } },
    timestamp,
    kvno,
    key: { keytype, keyvalue },
  };
}

/** Serialises as keytab v2, each entry with the 32-bit kvno trailer. */
export function serializeKeytab(kt: Keytab): Uint8Array {
  const w = new ByteWriter().u16(KEYTAB_V2);
  for (const e of kt.entries) {
    const body = serializeEntry(e);
    w.i32(body.length, "entry size").bytes(body);
  }
  return w.finish();
}

function serializeEntry(e: KeytabEntry): Uint8Array {
  const w = new ByteWriter();
  const counted = (s: string, field: string) => {
    const b = w.text(s);
    w.u16(b.length, field).bytes(b);
  };
  w.u16(e.principal.name.nameString.length, "num_components");
  counted(e.principal.realm, "realm length");
  for (const c of e.principal.name.nameString) counted(c, "component length");
  w.u32(e.principal.name.nameType >>> 0, "name_type");
  w.u32(e.timestamp, "timestamp");
  w.u8(e.kvno & 0xff, "vno8");
  w.u16(e.key.keytype, "enctype");
  w.u16(e.key.keyvalue.length, "key length").bytes(e.key.keyvalue);
  w.u32(e.kvno, "kvno");
  return w.finish();
}

/** Reads a keytab by name (`/path`, `FILE:/path` or `WRFILE:/path`). */
export function readKeytabFile(name: string): Keytab {
  const file = filePathFromName(name, "keytab");
  return parseKeytab(readFileOrFail(file, "keytab"), `keytab ${file}`);
}

/** Writes a keytab atomically with mode 0600. */
export function writeKeytabFile(name: string, kt: Keytab): void {
  atomicWriteFile(filePathFromName(name, "keytab"), serializeKeytab(kt), 0o600);
}
