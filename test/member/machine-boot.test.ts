/**
 * The boot rule of the machine TGT with injected boot ids (no DC): which caches the agent
 * discards when it starts, the one log line, and what `klist --machine` says of them.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { afterEach, beforeEach, describe, it } from "node:test";
import {
  checkMachineBoot,
  describeBootCheck,
  discardEarlierBootTgt,
  machineBootPath,
  readBootId,
  recordMachineBoot,
} from "../../src/member/machine-boot.js";
import { machineCcachePath } from "../../src/member/machine-keys.js";
import { tempHome } from "../helpers/cli.js";

const A = "0d3c1f2e-aaaa-4bbb-8ccc-000000000001";
const B = "0d3c1f2e-aaaa-4bbb-8ccc-000000000002";

describe("the machine TGT's boot record", () => {
  let home: { dir: string; cleanup: () => void };
  const cache = () => machineCcachePath(home.dir);
  const writeCache = () => fs.writeFileSync(cache(), "not parsed here", { mode: 0o600 });

  beforeEach(() => {
    home = tempHome("boot");
    fs.mkdirSync(path.join(home.dir, "agent"));
  });
  afterEach(() => home.cleanup());

  it("reads Linux's boot id as a UUID, and null for a missing file", () => {
    assert.match(readBootId() ?? "", /^[0-9a-f-]{36}$/);
    assert.equal(readBootId(path.join(home.dir, "none")), null);
  });

  it("is written atomically, 0600, one line; null removes it", () => {
    recordMachineBoot(home.dir, A);
    assert.equal(fs.readFileSync(machineBootPath(home.dir), "utf8"), `${A}\n`);
    assert.equal(fs.statSync(machineBootPath(home.dir)).mode & 0o777, 0o600);
    assert.deepEqual(
      fs.readdirSync(path.join(home.dir, "agent")).filter((f) => f.endsWith(".tmp")),
      [],
    );
    recordMachineBoot(home.dir, null);
    assert.equal(fs.existsSync(machineBootPath(home.dir)), false);
  });

  it("same boot (an agent restart): the cache is kept and nothing is logged", () => {
    writeCache();
    recordMachineBoot(home.dir, A);
    const log: string[] = [];
    const c = discardEarlierBootTgt(home.dir, A, (l) => log.push(l));
    assert.equal(c.state, "this-boot");
    assert.deepEqual(log, []);
    assert.equal(fs.existsSync(cache()), true);
    assert.match(describeBootCheck(c), /obtained in this boot \(boot_id 0d3c.*01\); kept/);
  });

  it("another boot: the cache and its record are discarded, with one log line", () => {
    writeCache();
    recordMachineBoot(home.dir, A);
    assert.match(
      describeBootCheck(checkMachineBoot(home.dir, B)),
      /earlier boot \(boot_id .*01, now .*02\); the agent discards it/,
    );
    const log: string[] = [];
    const c = discardEarlierBootTgt(home.dir, B, (l) => log.push(l));
    assert.equal(c.state, "earlier-boot");
    assert.deepEqual(log, [
      `machine TGT from an earlier boot (boot_id ${A}): discarded, a new one is requested`,
    ]);
    assert.equal(fs.existsSync(cache()), false);
    assert.equal(fs.existsSync(machineBootPath(home.dir)), false);
  });

  it("a cache with no record (written before the rule) counts as an earlier boot", () => {
    writeCache();
    const log: string[] = [];
    assert.equal(discardEarlierBootTgt(home.dir, A, (l) => log.push(l)).state, "unrecorded");
    assert.deepEqual(log, [
      "machine TGT from an earlier boot (boot_id not recorded): discarded, a new one is requested",
    ]);
    assert.equal(fs.existsSync(cache()), false);
  });

  it("an unreadable current boot keeps the cache; no cache is nothing to do", () => {
    writeCache();
    recordMachineBoot(home.dir, A);
    assert.equal(discardEarlierBootTgt(home.dir, null, assert.fail).state, "unknown");
    assert.equal(fs.existsSync(cache()), true);
    fs.rmSync(cache());
    assert.equal(discardEarlierBootTgt(home.dir, B, assert.fail).state, "no-cache");
    assert.equal(fs.existsSync(machineBootPath(home.dir)), true);
  });
});
