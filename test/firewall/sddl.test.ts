import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { bypassAuthorization } from "../../src/firewall/authorize.js";
import { FirewallError } from "../../src/firewall/errors.js";
import { defaultSettings } from "../../src/firewall/model.js";
import { formatBypassSddl, isSid, parseBypassSddl } from "../../src/firewall/sddl.js";

const G1 = "S-1-5-21-1004336348-1177238915-682003330-1105";
const G2 = "S-1-5-21-1004336348-1177238915-682003330-1106";

describe("bypass SDDL (MS-DTYP 2.5.1, Group Policy 'Allow authenticated IPsec bypass')", () => {
  it("parses one ACE per group and prints the same string back", () => {
    const sddl = `O:DAG:DAD:(A;;RCGW;;;${G1})(A;;RCGW;;;${G2})`;
    assert.deepEqual(parseBypassSddl(sddl), [G1, G2]);
    assert.equal(formatBypassSddl([G1, G2]), sddl);
  });
  it("accepts lower case, DACL flags and owner/group SIDs", () => {
    assert.deepEqual(parseBypassSddl(`o:${G1}g:DAD:P(a;;rcgw;;;s-1-5-21-1-2-3-500)`), [
      "S-1-5-21-1-2-3-500",
    ]);
  });
  it("drops duplicate ACEs", () => {
    assert.deepEqual(parseBypassSddl(`O:DAG:DAD:(A;;RCGW;;;${G1})(A;;RCGW;;;${G1})`), [G1]);
  });
  const bad: [string, RegExp][] = [
    ["O:DAG:DAD:(A;;RCGX;;;S-1-5-21-1-2-3-4)", /position 15: ACE rights 'RCGX'/],
    ["O:DAG:DAD:(D;;RCGW;;;S-1-5-21-1-2-3-4)", /position 12: ACE type 'D'/],
    ["O:DAG:DAD:(A;;RCGW;;;S-1-5-21-x)", /position 22: 'S-1-5-21-x' is not a SID/],
    ["O:DAG:DAD:(A;;RCGW;;;S-1-5-21-1-2-3-4", /position 11: ACE without closing/],
    ["O:DAG:DAD:(A;;RCGW;;S-1-5-21-1-2-3-4)", /position 12: ACE has 5 fields/],
    ["O:DAG:DA", /position 9: missing DACL/],
    ["X:DA", /position 1: unexpected/],
    ["O:DAG:DAD:(A;;RCGW;;;S-1-5-21-1-2-3-4)junk", /position 39: unexpected 'j'/],
  ];
  for (const [text, re] of bad) {
    it(`names the position of the error: ${text}`, () => {
      assert.throws(
        () => parseBypassSddl(text),
        (e: unknown) => e instanceof FirewallError && e.code === "bad-sddl" && re.test(e.message),
      );
    });
  }
  it("checks SID syntax (authority < 2^48, sub-authorities 32-bit, at most 15)", () => {
    assert.ok(isSid("S-1-5-32-544"));
    assert.ok(!isSid("S-1-5-4294967296"));
    assert.ok(!isSid(`S-1-5${"-1".repeat(16)}`));
    assert.ok(!isSid("S-2-5-21"));
  });
});

describe("bypass authorization (the agent's question when an SA comes up)", () => {
  it("a peer whose ticket carries a listed group SID is authorized; others are not", () => {
    const s = defaultSettings();
    s.bypass = [{ sid: G1, name: "trusted" }];
    assert.equal(bypassAuthorization(s, ["S-1-5-21-1-2-3-1107", G1.toLowerCase()]), G1);
    assert.equal(bypassAuthorization(s, ["S-1-5-21-1-2-3-1107", G2]), null);
    assert.equal(bypassAuthorization(s, []), null);
  });
});
