import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import {
  formatPrincipal,
  NAME_TYPE,
  type Principal,
  PrincipalError,
  parsePrincipal,
  principalEquals,
} from "../../src/kerberos/principal.js";

describe("principal names (RFC 4120 §6.2, MIT's text form)", () => {
  it("parses components and realm, and uses the default realm when none is given", () => {
    assert.deepStrictEqual(parsePrincipal("host/server1.example.com@EXAMPLE.COM"), {
      realm: "EXAMPLE.COM",
      name: { nameType: NAME_TYPE.NT_PRINCIPAL, nameString: ["host", "server1.example.com"] },
    });
    assert.equal(parsePrincipal("alice", "MIT.TEST").realm, "MIT.TEST");
    assert.equal(
      formatPrincipal(parsePrincipal("krbtgt/MIT.TEST@MIT.TEST")),
      "krbtgt/MIT.TEST@MIT.TEST",
    );
  });

  it("escapes / @ and \\ as MIT's krb5_unparse_name does", () => {
    const p: Principal = {
      realm: "R@X",
      name: { nameType: 10, nameString: ["alice@corp.example", "a/b", "c\\d"] },
    };
    assert.equal(formatPrincipal(p), "alice\\@corp.example/a\\/b/c\\\\d@R\\@X");
    assert.ok(principalEquals(parsePrincipal(formatPrincipal(p)), p));
  });

  it("round-trips any principal through its text form", () => {
    const comp = fc.string({ unit: "grapheme", minLength: 1, maxLength: 8 });
    fc.assert(
      fc.property(comp, fc.array(comp, { minLength: 1, maxLength: 3 }), (realm, nameString) => {
        const p: Principal = { realm, name: { nameType: 1, nameString } };
        assert.deepStrictEqual(parsePrincipal(formatPrincipal(p)), p);
      }),
    );
  });

  it("refuses empty components, missing realms and a second @ in one line", () => {
    for (const [text, msg] of [
      ["a//b@R", /empty name component/],
      ["alice", /no realm and no default realm/],
      ["a@R@S", /more than one @/],
      ["a\\", /trailing backslash/],
    ] as const) {
      assert.throws(
        () => parsePrincipal(text),
        (e: unknown) => e instanceof PrincipalError && msg.test(e.message),
      );
    }
  });
});
