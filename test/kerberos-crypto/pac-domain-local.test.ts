/**
 * Where Windows AD puts a computer's domain-local groups in a service ticket's PAC, and
 * that the bypass reads them from there: the resource groups (ResourceGroupDomainSid +
 * RIDs, USER_FLAGS H, "resource SID compression") or the extra SIDs (USER_FLAGS D). Samba
 * 4.17 lists them among the plain group RIDs instead (test/lab/lab-samba.test.ts reads
 * that from a real Samba); these PACs go through the encoder and decoder, then the same
 * SID extraction the agent uses (logonInfoSids).
 */
import * as assert from "node:assert/strict";
import { describe, it } from "node:test";
import { buildLogonInfo } from "../../src/kerberos/pac/build.js";
import {
  decodeLogonInfo,
  encodeLogonInfo,
  SE_GROUP_DEFAULT,
  USER_FLAGS,
} from "../../src/kerberos/pac/logon-info.js";
import { logonInfoSids } from "../../src/kerberos/pac/verify.js";

const DOMAIN = "S-1-5-21-1111111111-2222222222-3333333333";
const base = () =>
  buildLogonInfo({
    userName: "XPCLIENT$",
    userId: 1106,
    primaryGroupId: 515,
    groupRids: [1104],
    domainSid: DOMAIN,
    domainName: "BIGFIRM",
    logonTimeMs: Date.UTC(2026, 11, 6),
  });

describe("domain-local groups in a PAC: resource groups and extra SIDs", () => {
  it("resource groups (compressed): the resource domain's SID + each RID", () => {
    const v = {
      ...base(),
      resourceGroupDomainSid: DOMAIN,
      resourceGroupIds: [{ relativeId: 1109, attributes: SE_GROUP_DEFAULT }],
    };
    const back = decodeLogonInfo(encodeLogonInfo(v));
    assert.ok(back.userFlags & USER_FLAGS.RESOURCE_GROUPS);
    const sids = logonInfoSids(back).groupSids;
    assert.deepEqual(sids, [`${DOMAIN}-515`, `${DOMAIN}-1104`, `${DOMAIN}-1109`]);
  });

  it("extra SIDs: whole SIDs, also of another domain", () => {
    const other = "S-1-5-21-1444444444-1555555555-1666666666-1300";
    const v = base();
    v.extraSids = [{ sid: other, attributes: SE_GROUP_DEFAULT }];
    const sids = logonInfoSids(decodeLogonInfo(encodeLogonInfo(v))).groupSids;
    assert.ok(sids.includes(other), sids.join(", "));
  });

  it("resource groups without USER_FLAGS H are not read (MS-PAC 2.5)", () => {
    const v = {
      ...base(),
      resourceGroupDomainSid: DOMAIN,
      resourceGroupIds: [{ relativeId: 1109, attributes: SE_GROUP_DEFAULT }],
    };
    const sids = logonInfoSids({ ...v, userFlags: 0 }).groupSids;
    assert.equal(sids.includes(`${DOMAIN}-1109`), false);
  });
});
