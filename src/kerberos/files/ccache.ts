/**
 * MIT credential cache files, version 4 (0x0504), as `kinit` writes them and `klist`
 * reads them (MIT's "credential cache file format"; integers big-endian):
 *
 * ```
 * ccache     ::= 0x05 0x04 header principal credential*
 * header     ::= uint16 length, (uint16 tag, uint16 len, value)*   -- v4 only
 *                -- tag 1: KDC time offset: int32 seconds, int32 microseconds
 * principal  ::= uint32 name_type, uint32 num_components,
 *                data realm, data component * num_components
 * data       ::= uint32 length, bytes
 * credential ::= principal client, principal server,
 *                keyblock (uint16 enctype, data key),
 *                uint32 authtime, starttime, endtime, renew_till,
 *                uint8 is_skey, uint32 ticket_flags,
 *                uint32 count, (uint16 addrtype, data address) * count,
 *                uint32 count, (uint16 ad_type, data ad_data) * count,
 *                data ticket, data second_ticket
 * ```
 *
 * MIT also stores configuration in the cache as credentials whose server is
 * `krb5_ccache_conf_data/<key>[/<principal>]@X-CACHECONF:` and whose ticket is the value
 * (`pa_type`, `fast_avail`, `refresh_time`, `start_realm`); they are kept in `credentials`
 * and read or made with `cacheConfigEntries` / `makeCacheConfigEntry`.
 *
 * We read v3 and v4 and write v4. Times are uint32 seconds since 1970 (0 = unset).
 * Writes are atomic with mode 0600.
 */
import { atomicWriteFile, atomicWriteFileAsync } from "../../platform/home.js";
import type { AuthorizationDataEntry } from "../messages/authorization-data.js";
import type { HostAddress } from "../messages/host-address.js";
import { formatPrincipal, NAME_TYPE, type Principal } from "../principal.js";
import {
  ByteReader,
  ByteWriter,
  FileFormatError,
  filePathFromName,
  readFileOrFail,
} from "./bytes.js";

export const CCACHE_V4 = 0x0504;
export const CCACHE_V3 = 0x0503;
export const HEADER_TAG_DELTATIME = 1;
export const CACHECONF_REALM = "X-CACHECONF:";
export const CACHECONF_PREFIX = "krb5_ccache_conf_data";
/** MIT's limit on counted fields; nothing real comes near it. */
const MAX_COUNT = 1 << 16;

export interface CcacheKey {
  keytype: number;
  keyvalue: Uint8Array;
}

export interface Credential {
  client: Principal;
  server: Principal;
  key: CcacheKey;
  authtime: number;
  starttime: number;
  endtime: number;
  renewTill: number;
  isSkey: boolean;
  ticketFlags: number;
  addresses: HostAddress[];
  authdata: AuthorizationDataEntry[];
  /** The Ticket, DER as the KDC sent it. */
  ticket: Uint8Array;
  secondTicket: Uint8Array;
}

export interface Ccache {
  /** The KDC's clock minus ours, from header tag 1 (absent when not known). */
  timeOffset?: { seconds: number; microseconds: number };
  /** Header tags other than 1, kept as they were. */
  otherHeaderTags?: { tag: number; value: Uint8Array }[];
  defaultPrincipal: Principal;
  credentials: Credential[];
}

export function parseCcache(bytes: Uint8Array, what = "ccache"): Ccache {
  const r = new ByteReader(bytes, "ccache-malformed", what);
  const version = r.u16("version");
  if (version !== CCACHE_V4 && version !== CCACHE_V3) {
    if (version === 0x0501 || version === 0x0502) {
      throw new FileFormatError(
        "file-unsupported",
        `${what}: ccache version 0x${version.toString(16)} is not supported; only v3 and v4`,
      );
    }
    r.fail(
      "version",
      `0x${version.toString(16).padStart(4, "0")} is not a credential cache (0x0504)`,
    );
  }
  const cc: Ccache = {
    defaultPrincipal: { realm: "", name: { nameType: 0, nameString: [] } },
    credentials: [],
  };
  if (version === CCACHE_V4) readHeader(r, cc);
  cc.defaultPrincipal = readPrincipal(r, "default principal");
  while (r.remaining > 0) cc.credentials.push(readCredential(r, cc.credentials.length));
  return cc;
}

function readHeader(r: ByteReader, cc: Ccache): void {
  const len = r.u16("header length");
  const end = r.offset + len;
  if (len > r.remaining) r.fail("header", `length ${len} exceeds the ${r.remaining} bytes left`);
  const other: { tag: number; value: Uint8Array }[] = [];
  while (r.offset < end) {
    const tag = r.u16("header tag");
    const vlen = r.u16("header tag length");
    if (r.offset + vlen > end) r.fail(`header tag ${tag}`, "runs past the header");
    if (tag === HEADER_TAG_DELTATIME) {
      if (vlen !== 8) r.fail("time offset", `length ${vlen}, expected 8`);
      cc.timeOffset = {
        seconds: r.i32("time offset seconds"),
        microseconds: r.i32("time offset microseconds"),
      };
    } else {
      other.push({ tag, value: r.bytes(vlen, `header tag ${tag}`) });
    }
  }
  if (other.length) cc.otherHeaderTags = other;
}

function count(r: ByteReader, field: string): number {
  const n = r.u32(field);
  if (n > MAX_COUNT) r.fail(field, `${n} is more than ${MAX_COUNT}`);
  return n;
}

function readPrincipal(r: ByteReader, field: string): Principal {
  const nameType = r.u32(`${field} name_type`) | 0;
  const n = count(r, `${field} num_components`);
  const realm = r.text(r.u32(`${field} realm length`), `${field} realm`);
  const nameString: string[] = [];
  for (let i = 0; i < n; i++)
    nameString.push(r.text(r.u32(`${field} component length`), `${field} component ${i}`));
  return { realm, name: { nameType, nameString } };
}

function readCredential(r: ByteReader, index: number): Credential {
  const at = `credential ${index}`;
  const client = readPrincipal(r, `${at} client`);
  const server = readPrincipal(r, `${at} server`);
  const keytype = r.u16(`${at} enctype`);
  const keyvalue = r.bytes(r.u32(`${at} key length`), `${at} key`);
  const authtime = r.u32(`${at} authtime`);
  const starttime = r.u32(`${at} starttime`);
  const endtime = r.u32(`${at} endtime`);
  const renewTill = r.u32(`${at} renew_till`);
  const isSkey = r.u8(`${at} is_skey`) !== 0;
  const ticketFlags = r.u32(`${at} ticket_flags`);
  const addresses: HostAddress[] = [];
  for (let i = count(r, `${at} address count`); i > 0; i--) {
    const addrType = r.u16(`${at} addrtype`);
    addresses.push({ addrType, address: r.bytes(r.u32(`${at} address length`), `${at} address`) });
  }
  const authdata: AuthorizationDataEntry[] = [];
  for (let i = count(r, `${at} authdata count`); i > 0; i--) {
    const adType = r.u16(`${at} ad_type`);
    authdata.push({ adType, adData: r.bytes(r.u32(`${at} ad_data length`), `${at} ad_data`) });
  }
  const ticket = r.bytes(r.u32(`${at} ticket length`), `${at} ticket`);
  const secondTicket = r.bytes(r.u32(`${at} second_ticket length`), `${at} second_ticket`);
  return {
    client,
    server,
    key: { keytype, keyvalue },
    authtime,
    starttime,
    endtime,
    renewTill,
    isSkey,
    ticketFlags,
    addresses,
    authdata,
    ticket,
    secondTicket,
  };
}

/** Serialises as ccache v4. */
export function serializeCcache(cc: Ccache): Uint8Array {
  const w = new ByteWriter().u16(CCACHE_V4);
  const header = new ByteWriter();
  if (cc.timeOffset) {
    header.u16(HEADER_TAG_DELTATIME).u16(8).i32(cc.timeOffset.seconds, "time offset seconds");
    header.i32(cc.timeOffset.microseconds, "time offset microseconds");
  }
  for (const t of cc.otherHeaderTags ?? [])
    header.u16(t.tag, "header tag").u16(t.value.length).bytes(t.value);
  const h = header.finish();
  w.u16(h.length, "header length").bytes(h);
  writePrincipal(w, cc.defaultPrincipal);
  for (const c of cc.credentials) writeCredential(w, c);
  return w.finish();
}

function data(w: ByteWriter, b: Uint8Array, field: string): void {
  w.u32(b.length, field).bytes(b);
}

function writePrincipal(w: ByteWriter, p: Principal): void {
  w.u32(p.name.nameType >>> 0, "name_type").u32(p.name.nameString.length, "num_components");
  data(w, w.text(p.realm), "realm length");
  for (const c of p.name.nameString) data(w, w.text(c), "component length");
}

function writeCredential(w: ByteWriter, c: Credential): void {
  writePrincipal(w, c.client);
  writePrincipal(w, c.server);
  w.u16(c.key.keytype, "enctype");
  data(w, c.key.keyvalue, "key length");
  w.u32(c.authtime, "authtime").u32(c.starttime, "starttime").u32(c.endtime, "endtime");
  w.u32(c.renewTill, "renew_till")
    .u8(c.isSkey ? 1 : 0)
    .u32(c.ticketFlags >>> 0, "ticket_flags");
  w.u32(c.addresses.length);
  for (const a of c.addresses) {
    w.u16(a.addrType, "addrtype");
    data(w, a.address, "address length");
  }
  w.u32(c.authdata.length);
  for (const a of c.authdata) {
    w.u16(a.adType, "ad_type");
    data(w, a.adData, "ad_data length");
  }
  data(w, c.ticket, "ticket length");
  data(w, c.secondTicket, "second_ticket length");
}

/** True for MIT's `krb5_ccache_conf_data/...@X-CACHECONF:` entries. */
export function isCacheConfigEntry(c: Credential): boolean {
  return c.server.realm === CACHECONF_REALM && c.server.name.nameString[0] === CACHECONF_PREFIX;
}

export interface CacheConfigEntry {
  key: string;
  /** The principal the setting is about, when it is per-principal. */
  principal?: string;
  value: Uint8Array;
}

export function cacheConfigEntries(cc: Ccache): CacheConfigEntry[] {
  return cc.credentials.filter(isCacheConfigEntry).map((c) => {
    const [, key = "", principal] = c.server.name.nameString;
    return principal === undefined ? { key, value: c.ticket } : { key, principal, value: c.ticket };
  });
}

/** A configuration entry as MIT's krb5_cc_set_config makes it (server name type 1, as MIT 1.20 writes). */
export function makeCacheConfigEntry(
  client: Principal,
  key: string,
  value: Uint8Array,
  about?: Principal,
): Credential {
  const nameString = [CACHECONF_PREFIX, key];
  if (about) nameString.push(formatPrincipal(about));
  return {
    client,
    server: { realm: CACHECONF_REALM, name: { nameType: NAME_TYPE.NT_PRINCIPAL, nameString } },
    key: { keytype: 0, keyvalue: new Uint8Array(0) },
    authtime: 0,
    starttime: 0,
    endtime: 0,
    renewTill: 0,
    isSkey: false,
    ticketFlags: 0,
    addresses: [],
    authdata: [],
    ticket: value,
    secondTicket: new Uint8Array(0),
  };
}

/** Reads a ccache by name (`/path` or `FILE:/path`, as in KRB5CCNAME). */
export function readCcacheFile(name: string): Ccache {
  const file = filePathFromName(name, "ccache");
  return parseCcache(readFileOrFail(file, "ccache"), `ccache ${file}`);
}

/** Writes a ccache atomically with mode 0600. */
export function writeCcacheFile(name: string, cc: Ccache): void {
  atomicWriteFile(filePathFromName(name, "ccache"), serializeCcache(cc), 0o600);
}

/** writeCcacheFile without blocking the event loop on its fsyncs. */
export function writeCcacheFileAsync(name: string, cc: Ccache): Promise<void> {
  return atomicWriteFileAsync(filePathFromName(name, "ccache"), serializeCcache(cc), 0o600);
}
