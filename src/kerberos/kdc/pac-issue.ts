/**
 * The PAC the KDC puts in every ticket (MS-PAC §2.4-2.10), built from the principal
 * database: LOGON_INFO (user RID, primary group, group RIDs of the domain, extra SIDs for
 * SIDs outside it), CLIENT_INFO (authtime + client name), UPN_DNS_INFO (UPN, DNS domain,
 * SAM name and SID: the "S" extension of MS-PAC §2.10), and in TGTs ATTRIBUTES_INFO (what
 * the AS request's PA-PAC-REQUEST said, pac-checks.ts) and REQUESTER_SID (the account SID,
 * MS-KILE §3.3.5.7: a TGS checks it against the account the name now resolves to).
 * Signatures are added when the ticket is sealed (ticket.ts); service tickets also get the
 * ticket signature (16) and the full PAC checksum (19, MS-PAC §2.8.5, CVE-2022-37967).
 */
import { copyBytes } from "../../bytes.js";
import type { CryptoDeps } from "../crypto/index.js";
import {
  buildLogonInfo,
  filetimeFromMs,
  layOutPac,
  PAC_TYPE,
  PAC_WAS_REQUESTED,
  type Pac,
  type PacLayout,
} from "../pac/index.js";
import type { ResolvedKdcConfig } from "./config.js";
import type { PrincipalEntry } from "./database.js";

/**
 * Laid-out PACs (pac/sign.ts: signatures zeroed) by everything they are made of except the
 * authtime: the account's name, SID, primary group and current group SIDs exactly as this
 * request's database lookup returned them, the client name, TGT or not, and the key types.
 * A changed account has another key, so a group change shows in the very next ticket. A hit
 * saves building and encoding the PAC: the authtime, in LOGON_INFO's LogonTime and
 * CLIENT_INFO's ClientId (MS-PAC §2.5, §2.7), is written into a copy at the offsets found
 * when the entry was made; the signatures are computed per ticket as always.
 */
export interface PacLayoutCache {
  get(key: string): CachedLayout | undefined;
  set(key: string, v: CachedLayout): void;
}

interface CachedLayout {
  layout: PacLayout;
  /** Offsets in `layout.bytes` of the two FILETIMEs that hold the authtime. */
  timesAt: readonly number[];
}

/**
 * Sized for one entry per account of a large domain (16,384, about 1 KB each with its key):
 * a layout that falls out costs the next logon of that account ~30-50 us of building and
 * encoding plus the garbage of the entry it replaced, which under a round of many accounts'
 * logons (more than the cache holds) was most of the gap to MIT's KDC (docs/benchmarks.md).
 */
export function createPacLayoutCache(maxEntries = 16_384): PacLayoutCache {
  const map = new Map<string, CachedLayout>();
  return {
    get: (k) => map.get(k),
    set(k, v) {
      if (map.size >= maxEntries) map.delete(map.keys().next().value as string);
      map.set(k, v);
    },
  };
}

/** Offset of the little-endian FILETIME `ft` in the first 64 bytes, if it occurs exactly once. */
function filetimeOffset(bytes: Uint8Array, ft: bigint): number | undefined {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at: number | undefined;
  for (let i = 0; i + 8 <= Math.min(64, bytes.length); i++) {
    if (dv.getBigUint64(i, true) !== ft) continue;
    if (at !== undefined) return undefined;
    at = i;
  }
  return at;
}

/**
 * The laid-out, unsigned PAC a ticket for `entry` carries (buildPac, then layOutPac for the
 * service's and the KDC's key types; a ticket signature slot unless it is a TGT), through
 * `cache` when given.
 */
export function issuePacLayout(
  entry: PrincipalEntry,
  clientName: string,
  authtimeMs: number,
  config: ResolvedKdcConfig,
  keys: {
    serverEtype: number;
    kdcEtype: number;
    forTgt: boolean;
    /** PAC_ATTRIBUTES_INFO flags of a TGT (pac-checks.ts `pacAttributeFlags`). */
    attributeFlags?: number;
    deps?: CryptoDeps;
  },
  cache?: PacLayoutCache,
): PacLayout {
  const make = () =>
    layOutPac(
      buildPac(entry, clientName, authtimeMs, config, keys.forTgt, keys.attributeFlags),
      keys.serverEtype,
      keys.kdcEtype,
      {
        ticket: !keys.forTgt,
        extendedKdcSignature: !keys.forTgt,
        ...(keys.deps ? { deps: keys.deps } : {}),
      },
    );
  if (!cache) return make();
  const key = [
    entry.name,
    entry.accountSid,
    entry.primaryGroupRid,
    entry.groupSids.join(","),
    clientName,
    keys.forTgt,
    keys.attributeFlags,
    keys.serverEtype,
    keys.kdcEtype,
  ].join("\n");
  const ft = filetimeFromMs(Math.floor(authtimeMs / 1000) * 1000);
  const hit = cache.get(key);
  if (hit) {
    const bytes = copyBytes(hit.layout.bytes);
    const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    for (const at of hit.timesAt) dv.setBigUint64(at, ft, true);
    return { ...hit.layout, bytes };
  }
  const layout = make();
  const logonAt = layout.dataAt[PAC_TYPE.LOGON_INFO]!;
  const clientAt = layout.dataAt[PAC_TYPE.CLIENT_INFO]!;
  const inLogon = filetimeOffset(layout.bytes.subarray(logonAt), ft);
  const dv = new DataView(layout.bytes.buffer, layout.bytes.byteOffset, layout.bytes.byteLength);
  if (inLogon !== undefined && dv.getBigUint64(clientAt, true) === ft) {
    const kept = { ...layout, bytes: layout.bytes.slice() }; // its own memory, not a slab's
    cache.set(key, { layout: kept, timesAt: [logonAt + inLogon, clientAt] });
  }
  return layout;
}

/** Splits "S-1-5-21-a-b-c-rid" into domain SID and RID. */
export function splitSid(sid: string): { domainSid: string; rid: number } {
  const i = sid.lastIndexOf("-");
  return { domainSid: sid.slice(0, i), rid: Number(sid.slice(i + 1)) };
}

/** An unsigned PAC for `entry`, as of `authtimeMs`; `clientName` is the ticket's cname. */
export function buildPac(
  entry: PrincipalEntry,
  clientName: string,
  authtimeMs: number,
  config: ResolvedKdcConfig,
  forTgt: boolean,
  attributeFlags = PAC_WAS_REQUESTED,
): Pac {
  const { domainSid, rid } = splitSid(entry.accountSid);
  // CLIENT_INFO's ClientId is the ticket's authtime, which KerberosTime keeps in whole seconds.
  const authSecondsMs = Math.floor(authtimeMs / 1000) * 1000;
  const groupRids: number[] = [];
  const extraSids: string[] = [];
  for (const sid of entry.groupSids) {
    const g = splitSid(sid);
    if (g.domainSid === domainSid) groupRids.push(g.rid);
    else extraSids.push(sid);
  }
  const machine = entry.name.endsWith("$");
  const logon = buildLogonInfo({
    userName: entry.name,
    userId: rid,
    primaryGroupId: entry.primaryGroupRid,
    groupRids,
    extraSids,
    domainSid,
    domainName: config.netbiosDomain,
    logonTimeMs: authSecondsMs,
    userAccountControl: machine ? 0x80 : 0x10,
  });
  const tgtOnly: Pac["buffers"] = forTgt
    ? [
        { kind: "attributes-info", value: { flagsLength: 2, flags: attributeFlags } },
        { kind: "requester-sid", value: entry.accountSid },
      ]
    : [];
  return {
    buffers: [
      { kind: "logon-info", value: logon },
      { kind: "client-info", value: { clientId: filetimeFromMs(authSecondsMs), name: clientName } },
      {
        kind: "upn-dns-info",
        value: {
          upn: `${entry.name}@${config.dnsDomain}`,
          dnsDomainName: config.dnsDomain.toUpperCase(),
          flags: machine ? 0x1 : 0,
          samName: entry.name,
          sid: entry.accountSid,
        },
      },
      ...tgtOnly,
    ],
  };
}
