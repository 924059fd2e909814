import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { runBin } from "./helpers/cli.js";

describe("postern binary", () => {
  it("prints its help with --help and exits 0", () => {
    const r = runBin(["--help"]);
    assert.equal(r.code, 0);
    assert.match(r.out, /USAGE/);
    assert.match(r.out, /netsh/);
  });

  it("gives one line and exit 2 for an unknown command, no stack trace", () => {
    const r = runBin(["frobnicate"]);
    assert.equal(r.code, 2);
    assert.equal(r.err.trim().split("\n").length, 1);
    assert.match(r.err, /unknown command 'frobnicate'/);
    assert.doesNotMatch(r.err, /at .*\.js:\d+/);
  });
});
