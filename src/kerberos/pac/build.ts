/**
 * Building a LOGON_INFO for a KDC from what a principal database knows: account name, RID,
 * domain SID and name, group RIDs and extra SIDs. Everything else gets Windows' defaults.
 */
import { FILETIME_NEVER, filetimeFromMs } from "./filetime.js";
import { type KerbValidationInfo, SE_GROUP_DEFAULT, USER_FLAGS } from "./logon-info.js";
import { canonicalSid } from "./sid.js";

export interface LogonInfoInput {
  userName: string;
  fullName?: string;
  userId: number;
  /** Default 513 (Domain Users); 515 (Domain Computers) for machine accounts. */
  primaryGroupId?: number;
  groupRids?: number[];
  /** SIDs outside the account domain (e.g. S-1-18-1), carried as ExtraSids. */
  extraSids?: string[];
  domainSid: string;
  domainName: string;
  logonServer?: string;
  /** The authentication time, Unix milliseconds. */
  logonTimeMs: number;
  /** UF_* account control bits (0x10 normal account, 0x1000 workstation trust). */
  userAccountControl?: number;
}

export function buildLogonInfo(i: LogonInfoInput): KerbValidationInfo {
  const primaryGroupId = i.primaryGroupId ?? 513;
  const rids = [...new Set([primaryGroupId, ...(i.groupRids ?? [])])];
  const extraSids = (i.extraSids ?? []).map((sid) => ({
    sid: canonicalSid(sid),
    attributes: SE_GROUP_DEFAULT,
  }));
  return {
    logonTime: filetimeFromMs(i.logonTimeMs),
    logoffTime: FILETIME_NEVER,
    kickOffTime: FILETIME_NEVER,
    passwordLastSet: 0n,
    passwordCanChange: 0n,
    passwordMustChange: FILETIME_NEVER,
    effectiveName: i.userName,
    fullName: i.fullName ?? "",
    logonScript: "",
    profilePath: "",
    homeDirectory: "",
    homeDirectoryDrive: "",
    logonCount: 0,
    badPasswordCount: 0,
    userId: i.userId,
    primaryGroupId,
    groupIds: rids.map((relativeId) => ({ relativeId, attributes: SE_GROUP_DEFAULT })),
    userFlags: extraSids.length > 0 ? USER_FLAGS.EXTRA_SIDS : 0,
    userSessionKey: new Uint8Array(16),
    logonServer: i.logonServer ?? "",
    logonDomainName: i.domainName,
    logonDomainId: canonicalSid(i.domainSid),
    userAccountControl: i.userAccountControl ?? 0x10,
    subAuthStatus: 0,
    lastSuccessfulILogon: 0n,
    lastFailedILogon: 0n,
    failedILogonCount: 0,
    extraSids,
    resourceGroupDomainSid: null,
    resourceGroupIds: [],
  };
}
