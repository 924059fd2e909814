/**
 * The PAC the KDC puts in every ticket (MS-PAC §2.4-2.10), built from the principal
 * database: LOGON_INFO (user RID, primary group, group RIDs of the domain, extra SIDs for
 * SIDs outside it), CLIENT_INFO (authtime + client name), UPN_DNS_INFO (UPN, DNS domain,
 * SAM name and SID), and in TGTs ATTRIBUTES_INFO (PAC was requested) and REQUESTER_SID (the
 * account SID, MS-KILE §3.3.5.7: a TGS checks it against the account the name now resolves
 * to). Signatures are added when the ticket is sealed (ticket.ts).
 */
import { copyBytes } from "../../bytes.js";
import {
  buildLogonInfo,
  encodeLogonInfo,
  filetimeFromMs,
  type KerbValidationInfo,
  PAC_TYPE,
  type Pac,
} from "../pac/index.js";
import type { ResolvedKdcConfig } from "./config.js";
import type { PrincipalEntry } from "./database.js";

/**
 * Encoded LOGON_INFOs by everything they are made of except the logon time: the account's
 * name, SID, primary group and current group SIDs, exactly as this request's database
 * lookup returned them. A changed account has another key, so a group change shows in the
 * very next ticket; a hit only saves the NDR encoding, and the logon time (the ticket's
 * authtime) is written into a copy at the offset found when the entry was made.
 */
export interface LogonInfoCache {
  get(key: string): { bytes: Uint8Array; timeAt: number } | undefined;
  set(key: string, v: { bytes: Uint8Array; timeAt: number }): void;
}

export function createLogonInfoCache(maxEntries = 1024): LogonInfoCache {
  const map = new Map<string, { bytes: Uint8Array; timeAt: number }>();
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

/** LOGON_INFO bytes for `logon`, through `cache` (key: the entry) when given. */
function logonInfoBytes(
  logon: KerbValidationInfo,
  entry: PrincipalEntry,
  cache: LogonInfoCache | undefined,
): Uint8Array {
  if (!cache) return encodeLogonInfo(logon);
  const key = `${entry.name}\n${entry.accountSid}\n${entry.primaryGroupRid}\n${entry.groupSids.join(",")}`;
  const hit = cache.get(key);
  if (hit) {
    const bytes = copyBytes(hit.bytes);
    new DataView(bytes.buffer, bytes.byteOffset).setBigUint64(hit.timeAt, logon.logonTime, true);
    return bytes;
  }
  const bytes = encodeLogonInfo(logon);
  const timeAt = filetimeOffset(bytes, logon.logonTime);
  if (timeAt !== undefined) cache.set(key, { bytes: bytes.slice(), timeAt });
  return bytes;
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
  cache?: LogonInfoCache,
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
        { kind: "attributes-info", value: { flagsLength: 2, flags: 0x1 } },
        { kind: "requester-sid", value: entry.accountSid },
      ]
    : [];
  return {
    buffers: [
      { kind: "raw", type: PAC_TYPE.LOGON_INFO, data: logonInfoBytes(logon, entry, cache) },
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
