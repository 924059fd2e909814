import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseBool, parseTagged, tokenize } from "../../src/netsh/args.js";
import { UsageError } from "../../src/errors.js";

const FILTER = [
  { tag: "filterlist", required: true },
  { tag: "srcaddr" },
  { tag: "dstaddr" },
  { tag: "description" },
  { tag: "protocol" },
  { tag: "mirrored" },
  { tag: "srcmask" },
  { tag: "dstmask" },
  { tag: "srcport" },
  { tag: "dstport" },
];

describe("netsh parsing rules", () => {
  it("splits on blanks and keeps quoted blanks, removing the quotes", () => {
    assert.deepEqual(tokenize(`add filterlist name="Secure web" description="a b"`), [
      "add",
      "filterlist",
      "name=Secure web",
      "description=a b",
    ]);
    assert.deepEqual(tokenize(`  "x y"   z `), ["x y", "z"]);
    assert.deepEqual(tokenize(`name=""`), ["name="]);
  });

  it("refuses an unterminated quote", () => {
    assert.throws(() => tokenize(`name="oops`), /unterminated quote/);
  });

  it("accepts any unambiguous tag prefix, case-insensitively (srca=, MIR=)", () => {
    const a = parseTagged(["filterl=Web", "srca=any", "DSTA=me", "MIR=yes"], FILTER, "add filter");
    assert.equal(a.get("srcaddr")?.[0], "any");
    assert.equal(a.get("dstaddr")?.[0], "me");
    assert.equal(a.get("mirrored")?.[0], "yes");
  });

  it("names the candidates of an ambiguous prefix", () => {
    assert.throws(
      () => parseTagged(["filterlist=Web", "src=any"], FILTER, "add filter"),
      (e: unknown) =>
        e instanceof UsageError && /ambiguous tag 'src'.*srcaddr, srcmask, srcport/.test(e.message),
    );
  });

  it("names an unknown tag", () => {
    assert.throws(
      () => parseTagged(["filterlist=Web", "colour=red"], FILTER, "add filter"),
      /unknown tag 'colour'/,
    );
  });

  it("fills untagged values in the command's order, continuing after a tagged one", () => {
    const a = parseTagged(["Web", "any", "me"], FILTER, "add filter");
    assert.equal(a.get("filterlist")?.[0], "Web");
    assert.equal(a.get("srcaddr")?.[0], "any");
    assert.equal(a.get("dstaddr")?.[0], "me");
    const b = parseTagged(["filterlist=Web", "protocol=tcp", "yes"], FILTER, "add filter");
    assert.equal(b.get("mirrored")?.[0], "yes");
  });

  it("refuses a tag given twice and a missing required tag", () => {
    assert.throws(
      () => parseTagged(["filterlist=a", "filterlist=b"], FILTER, "add filter"),
      /given twice/,
    );
    assert.throws(
      () => parseTagged(["srcaddr=any"], FILTER, "add filter"),
      /missing required tag 'filterlist='/,
    );
  });

  it("reads netsh booleans", () => {
    assert.equal(parseBool("YES", "mirrored"), true);
    assert.equal(parseBool("y", "mirrored"), true);
    assert.equal(parseBool("No", "mirrored"), false);
    assert.throws(
      () => parseBool("maybe", "mirrored"),
      /mirrored: expected yes or no, got 'maybe'/,
    );
  });
});
