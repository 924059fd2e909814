/**
 * The PAC the KDC puts in every ticket (MS-PAC §2.4-2.10), built from the principal
 * database: LOGON_INFO (user RID, primary group, group RIDs of the domain, extra SIDs for
 * SIDs outside it), CLIENT_INFO (authtime + client name), UPN_DNS_INFO (UPN, DNS domain,
 * SAM name and SID), and in TGTs ATTRIBUTES_INFO (PAC was requested) and REQUESTER_SID (the
 * account SID, MS-KILE §3.3.5.7: a TGS checks it against the account the name now resolves
 * to). Signatures are added when the ticket is sealed (ticket.ts).
 */
import { buildLogonInfo, filetimeFromMs, type Pac } from "../pac/index.js";
import type { ResolvedKdcConfig } from "./config.js";
import type { PrincipalEntry } from "./database.js";

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
