import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { after, describe, it } from "node:test";
import { withStoreLock } from "../../src/policy/lock.js";
import type { PolicyStore } from "../../src/policy/model.js";
import { BIN, tempHome } from "../helpers/cli.js";
import { ipsJson } from "./helpers.js";

function runAsync(args: string[]): Promise<{ code: number; err: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { stdio: ["ignore", "ignore", "pipe"] });
    let err = "";
    child.stderr.on("data", (d) => {
      err += d;
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, err });
    });
  });
}

describe("concurrent writers to the policy store", () => {
  const t = tempHome("pis-lock");
  after(t.cleanup);

  it("two scripts adding filter lists side by side lose nothing", async () => {
    const scripts = ["a", "b"].map((w) => {
      const file = path.join(t.dir, `${w}.netsh`);
      const lines = Array.from({ length: 15 }, (_, i) => `add filterlist name=${w}${i}`);
      fs.writeFileSync(file, ["pushd ipsec static", ...lines, "popd"].join("\n"));
      return file;
    });
    const results = await Promise.all(
      scripts.map((f) => runAsync(["--home", t.dir, "netsh", "-f", f])),
    );
    for (const r of results) assert.equal(r.code, 0, r.err);
    const s = (await ipsJson(t.dir, "show", "all")) as PolicyStore;
    assert.equal(s.filterLists.length, 30);
  });

  it("a stale lock (its pid is gone) is taken over; a live one times out with one line", () => {
    const lock = path.join(t.dir, "ipsec", "local-store.lock");
    fs.writeFileSync(lock, "999999999\n");
    assert.equal(
      withStoreLock(t.dir, () => "ran"),
      "ran",
    );
    assert.equal(fs.existsSync(lock), false);
    fs.writeFileSync(lock, `${process.ppid}\n`);
    assert.throws(() => withStoreLock(t.dir, () => "ran", 50), /policy store is locked by pid \d+/);
    fs.rmSync(lock);
  });
});
