/**
 * The pure parts of the AD watch (member/ad-changes.ts): pwdLastSet as ISO 8601, the
 * principal's account name, the searches' filters, a standing from an account's entry
 * and its tokenGroups, the poll interval's bounds. The watch against a real Samba DC is
 * test/member/samba-ad-changes.test.ts.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, it } from "node:test";
import { sidToBytes } from "../../src/kerberos/pac/sid.js";
import {
  accountsFilter,
  changedFilter,
  clampPoll,
  DEFAULT_POLL_MS,
  filetimeToIso,
  MAX_POLL_MS,
  MIN_POLL_MS,
  samOf,
  standingOf,
} from "../../src/member/ad-changes.js";
import { encodeFilter } from "../../src/ldap/client.js";
import { cli } from "../helpers/cli.js";

const DOM = "S-1-5-21-1-2-3";
const entry = (attrs: Record<string, (string | Buffer)[]>) => ({
  dn: "CN=XP1,CN=Computers,DC=ad,DC=test",
  attributes: new Map(
    Object.entries(attrs).map(([k, v]) => [
      k.toLowerCase(),
      v.map((x) => (typeof x === "string" ? Buffer.from(x) : x)),
    ]),
  ),
});

describe("AD watch: pure parts", () => {
  it("pwdLastSet: a FILETIME becomes ISO 8601; 0 and absent are null", () => {
    // 2026-01-01T00:00:00Z = (1767225600 s + 11644473600 s) * 10^7
    assert.equal(filetimeToIso("134116992000000000"), "2026-01-01T00:00:00.000Z");
    assert.equal(filetimeToIso("0"), null);
    assert.equal(filetimeToIso(undefined), null);
    assert.equal(filetimeToIso("x"), null);
  });

  it("only principals of the member's realm are asked about, by account name", () => {
    assert.equal(samOf("XP1$@AD.TEST", "ad.test"), "XP1$");
    assert.equal(samOf("XP1$@OTHER.TEST", "AD.TEST"), null);
    assert.equal(samOf("host/xp1@AD.TEST", "AD.TEST"), null);
    assert.equal(samOf("XP1$", "AD.TEST"), null);
  });

  it("the filters parse, with values escaped and the USN after the cursor", () => {
    assert.equal(
      changedFilter(41n),
      "(&(|(objectClass=computer)(objectClass=group))(uSNChanged>=42))",
    );
    assert.equal(
      accountsFilter(["XP1$", "a*b"]),
      "(&(objectClass=user)(|(sAMAccountName=XP1$)(sAMAccountName=a\\2ab)))",
    );
    for (const f of [changedFilter(0n), accountsFilter(["x(1)"])])
      assert.ok(encodeFilter(f).length > 0);
  });

  it("a standing: enabled from userAccountControl, SIDs from tokenGroups and the primary group", () => {
    const e = entry({
      objectSid: [Buffer.from(sidToBytes(`${DOM}-1105`))],
      userAccountControl: ["4096"],
      pwdLastSet: ["134116992000000000"],
      primaryGroupID: ["515"],
    });
    const s = standingOf("XP1$@AD.TEST", e, [Buffer.from(sidToBytes(`${DOM}-1200`))]);
    assert.deepEqual(s, {
      principal: "XP1$@AD.TEST",
      exists: true,
      enabled: true,
      sids: [`${DOM}-1105`, `${DOM}-1200`, `${DOM}-515`],
      keySetAt: "2026-01-01T00:00:00.000Z",
    });
    const off = standingOf(
      "XP1$@AD.TEST",
      entry({ ...Object.fromEntries(e.attributes), userAccountControl: ["4098"] }),
      [],
    );
    assert.equal(off.enabled, false);
    assert.deepEqual(standingOf("GONE$@AD.TEST", undefined, []), {
      principal: "GONE$@AD.TEST",
      exists: false,
      enabled: false,
      sids: [],
      keySetAt: null,
    });
  });

  it("the poll interval is bounded", () => {
    assert.equal(clampPoll(undefined), DEFAULT_POLL_MS);
    assert.equal(clampPoll(1), MIN_POLL_MS);
    assert.equal(clampPoll(10 ** 9), MAX_POLL_MS);
    assert.equal(clampPoll(Number.NaN), DEFAULT_POLL_MS);
    assert.equal(clampPoll(1500), 1500);
  });

  it("postern agent --revocation-poll out of bounds: one line, exit 2", async () => {
    const home = fs.mkdtempSync(path.join(os.tmpdir(), "postern-adwatch-"));
    try {
      for (const bad of ["10", "60001", "2s"]) {
        const r = await cli(home, "agent", "--revocation", "immediate", "--revocation-poll", bad);
        assert.equal(r.code, 2);
        assert.equal(r.err.trim(), "postern: --revocation-poll needs MS from 500 to 60000");
      }
    } finally {
      fs.rmSync(home, { recursive: true, force: true });
    }
  });
});
