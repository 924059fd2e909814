/**
 * The DC's change subscription (POST /v1/changes, src/dc/api/changes.ts) through the
 * member's real watch (member/dc-changes.ts): a DC process, a joined member asking as its
 * machine account (Negotiate from its TGT), changes made by other processes on the
 * directory (the admin CLI, another handle on the database), the per-machine limit, and a
 * DC restart the watch survives.
 */
import * as assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { setComputerEnabled } from "../../src/dc/computers.js";
import { openDirectory } from "../../src/dc/directory.js";
import { dbPath } from "../../src/dc/paths.js";
import { createDcWatch } from "../../src/member/dc-changes.js";
import type { DirectoryWatch } from "../../src/member/directory-watch.js";
import { keytabWriter } from "../../src/member/machine-keys.js";
import { cli, IS_ROOT, tempHome } from "../helpers/cli.js";
import { addAndJoin, cliInit, type DcProcess, freeFixedPort, startDcProcess } from "./helpers.js";

const P = "XPCLIENT$@BIGFIRM.COM";

describe("the DC's change subscription (immediate revocation)", () => {
  const dcHome = tempHome("chg-dc");
  const member = tempHome("chg-xp");
  let dc: DcProcess;
  let port = 0;
  let watch: DirectoryWatch;
  let sid = (_name: string) => "";
  const signal = new AbortController().signal;
  const admin = async (...args: string[]) => {
    const r = await cli(dcHome.dir, ...args);
    assert.equal(r.code, 0, r.err);
    return r.out;
  };

  before(async () => {
    await cliInit(dcHome.dir);
    port = await freeFixedPort();
    dc = await startDcProcess(dcHome.dir, port);
    const j = await addAndJoin(dcHome.dir, member.dir, dc.apiPort, "xpclient", "127.0.0.30");
    assert.equal(j.code, 0, j.err);
    await admin("domain", "group", "add", "trusted");
    await admin("domain", "group", "add", "inner");
    await admin("domain", "group", "add-member", "trusted", "inner");
    await admin("domain", "group", "add-member", "inner", "xpclient$");
    const groups = JSON.parse(await admin("--json", "domain", "group", "list")) as {
      name: string;
      sid: string;
    }[];
    sid = (name) => groups.find((g) => g.name === name)?.sid ?? "?";
    const id = keytabWriter.read(member.dir);
    assert.ok(id);
    const env = {
      home: member.dir,
      json: false,
      out: () => undefined,
      err: () => undefined,
      vars: {},
      isRoot: IS_ROOT,
      cwd: process.cwd(),
    };
    watch = createDcWatch(env, id);
  });
  after(async () => {
    await dc?.stop();
    dcHome.cleanup();
    member.cleanup();
  });

  it("asked with no cursor: answered at once, nested groups expanded", async () => {
    const a = await watch.wait(null, [P, "NOSUCH$@BIGFIRM.COM"], signal);
    assert.match(a.cursor, /^\d+$/);
    const [xp, none] = a.standings ?? [];
    assert.equal(xp?.exists, true);
    assert.equal(xp?.enabled, true);
    assert.ok(xp?.sids.includes(sid("trusted")), "trusted, through inner");
    assert.ok(xp?.sids.includes(sid("inner")));
    assert.equal(xp?.keySetAt, null);
    assert.equal(none?.exists, false);
  });

  it("a member removed from the nested group on the DC: the waiting poll answers within a second, trusted gone", async () => {
    const first = await watch.wait(null, [P], signal);
    const t0 = Date.now();
    const waiting = watch.wait(first.cursor, [P], signal);
    await new Promise((r) => setTimeout(r, 300));
    await admin("domain", "group", "remove-member", "inner", "xpclient$");
    const a = await waiting;
    const ms = Date.now() - t0 - 300;
    assert.notEqual(a.cursor, first.cursor);
    assert.equal(a.standings?.[0]?.sids.includes(sid("trusted")), false);
    assert.ok(ms < 5_000, `answered ${ms} ms after the change`);
    await admin("domain", "group", "add-member", "inner", "xpclient$");
  });

  it("disabled by another process on the database: seen", async () => {
    const c = (await watch.wait(null, [P], signal)).cursor;
    const dir = openDirectory(dbPath(dcHome.dir));
    try {
      const waiting = watch.wait(c, [P], signal);
      // the DC must have authenticated the poll first: a disabled machine may not ask
      await new Promise((r) => setTimeout(r, 500));
      setComputerEnabled(dir, "test", "xpclient", false);
      const a = await waiting;
      assert.equal(a.standings?.[0]?.enabled, false);
      setComputerEnabled(dir, "test", "xpclient", true);
    } finally {
      dir.close();
    }
  });

  it("a third open subscription of one machine is refused (429); nothing changed: answered with null after the wait", async () => {
    const c = (await watch.wait(null, [P], signal)).cursor;
    const t0 = Date.now();
    const two = [watch.wait(c, [P], signal), watch.wait(c, [P], signal)];
    await new Promise((r) => setTimeout(r, 300));
    await assert.rejects(watch.wait(c, [P], signal), /already has 2 change subscriptions open/);
    const answers = await Promise.all(two);
    assert.ok(Date.now() - t0 >= 9_000, "held until the DC's wait ran out");
    for (const a of answers) {
      assert.equal(a.cursor, c);
      assert.equal(a.standings, null);
    }
  });

  it("an agent that stops cuts its waiting poll short (the signal)", async () => {
    const c = (await watch.wait(null, [P], signal)).cursor;
    const stop = new AbortController();
    const waiting = watch.wait(c, [P], stop.signal);
    await new Promise((r) => setTimeout(r, 300));
    stop.abort();
    // without the abort the DC would answer after its 10 s wait, with no error
    await assert.rejects(waiting, /aborted/);
  });

  it("a DC restart: the waiting poll ends, the next one works with the DC back on its port", async () => {
    const c = (await watch.wait(null, [P], signal)).cursor;
    const waiting = watch.wait(c, [P], signal).then(
      (a) => a,
      (e: Error) => e,
    );
    await new Promise((r) => setTimeout(r, 300));
    await dc.stop();
    const ended = await waiting;
    assert.ok(ended instanceof Error || ended.cursor === c, "ended, not hung");
    dc = await startDcProcess(dcHome.dir, port);
    const a = await watch.wait(c, [P], signal).catch(() => watch.wait(null, [P], signal));
    assert.equal(a.standings === null || a.standings[0]?.exists === true, true);
    const again = await watch.wait(null, [P], signal);
    assert.equal(again.standings?.[0]?.exists, true);
  });
  it("its keys reset on the DC: the standing says when (the last question: its keys are stale after)", async () => {
    const c = (await watch.wait(null, [P], signal)).cursor;
    const waiting = watch.wait(c, [P], signal);
    await new Promise((r) => setTimeout(r, 500));
    await admin("domain", "computer", "reset-key", "xpclient");
    const a = await waiting;
    assert.match(a.standings?.[0]?.keySetAt ?? "", /^\d{4}-\d\d-\d\dT/);
  });
});
