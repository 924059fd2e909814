/**
 * Immediate revocation's core (agent/revocation.ts) with a scripted directory watch and a
 * manual clock: verdicts, revocation of admitted SAs, the stale PAC refused afterwards,
 * re-admission, backoff. The real thing (DC long poll, nft set, IKE DELETE, a blocked
 * client) is test/lab/lab.test.ts's immediate-revocation cell and
 * test/dc/changes.test.ts.
 */
import * as assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createBypassTracker } from "../../src/agent/bypass-peers.js";
import { BACKOFF_MIN_MS, createRevocation, standingVerdict } from "../../src/agent/revocation.js";
import type { BypassSet } from "../../src/firewall/bypass.js";
import { defaultSettings, type FirewallSettings } from "../../src/firewall/model.js";
import type { IkeSaInfo } from "../../src/ike/engine.js";
import type {
  DirectoryStanding,
  DirectoryWatch,
  WatchAnswer,
} from "../../src/member/directory-watch.js";

const TRUSTED = "S-1-5-21-1-2-3-1105";
const OUTER = "S-1-5-21-1-2-3-1110";
const XP = "S-1-5-21-1-2-3-1107";
const P = "XPCLIENT$@BIGFIRM.COM";

function settings(...sids: string[]): FirewallSettings {
  const s = defaultSettings();
  s.bypass = sids.map((sid) => ({ sid, name: sid === TRUSTED ? "trusted" : undefined }));
  return s;
}

const standing = (over: Partial<DirectoryStanding> = {}): DirectoryStanding => ({
  principal: P,
  exists: true,
  enabled: true,
  sids: [XP, "S-1-5-21-1-2-3-515", TRUSTED],
  keySetAt: null,
  ...over,
});

function sa(spis: string, authTime = "2026-12-06T10:00:00.000Z"): IkeSaInfo {
  return {
    spis,
    peer: "rule1/f1m",
    state: "established",
    initiator: false,
    remote: { address: "198.18.0.30", port: 4500 },
    natT: true,
    children: [],
    peerId: "198.18.0.30",
    identity: {
      method: "kerberos",
      principal: P,
      userSid: XP,
      groupSids: [TRUSTED],
      authTime,
    },
    suite: null,
    auth: "kerberos",
    lifetimeSec: 28800,
  };
}

describe("a principal's standing in the directory of now", () => {
  const s = settings(TRUSTED);
  it("in the bypass group, enabled, keys older than the ticket: still admitted", () => {
    assert.deepEqual(standingVerdict(standing(), s, "2026-12-06T10:00:00Z"), { ok: true });
  });
  it("a nested group on the list counts (the directory expands it)", () => {
    const v = standingVerdict(standing({ sids: [XP, OUTER, TRUSTED] }), settings(OUTER), undefined);
    assert.deepEqual(v, { ok: true });
  });
  it("removed from the group, disabled, deleted: refused, each with its reason", () => {
    const gone = standingVerdict(standing({ sids: [XP] }), s, undefined);
    assert.equal(gone.ok, false);
    assert.match(gone.ok ? "" : gone.why, /in no group of the bypass list any more/);
    const off = standingVerdict(standing({ enabled: false }), s, undefined);
    assert.match(off.ok ? "" : off.why, /is disabled/);
    const del = standingVerdict(standing({ exists: false, sids: [] }), s, undefined);
    assert.match(del.ok ? "" : del.why, /no longer in the directory/);
  });
  it("keys reset after the ticket's authtime: refused; a ticket issued after the reset: admitted", () => {
    const reset = standing({ keySetAt: "2026-12-06T10:05:00.400Z" });
    const old = standingVerdict(reset, s, "2026-12-06T10:00:00Z");
    assert.match(old.ok ? "" : old.why, /keys were reset/);
    // the same second counts as before (Kerberos times are whole seconds)
    assert.equal(standingVerdict(reset, s, "2026-12-06T10:05:00Z").ok, false);
    assert.equal(standingVerdict(reset, s, "2026-12-06T10:05:01Z").ok, true);
  });
});

/** A watch answering from a script: answer(i, ...) answers the i-th question asked. */
function scriptedWatch() {
  const asked: {
    cursor: string | null;
    principals: readonly string[];
    deliver: (a: WatchAnswer | Error) => void;
  }[] = [];
  const watch: DirectoryWatch = {
    kind: "test",
    wait(cursor, principals) {
      return new Promise((resolve, reject) => {
        const deliver = (a: WatchAnswer | Error) => (a instanceof Error ? reject(a) : resolve(a));
        asked.push({ cursor, principals: [...principals], deliver });
      });
    },
  };
  return {
    watch,
    asked,
    answer(i: number, a: WatchAnswer | Error) {
      const q = asked[i];
      assert.ok(q, `question ${i} was asked`);
      q.deliver(a);
    },
  };
}

function manualClock() {
  let t = 0;
  const timers: { at: number; fn: () => void }[] = [];
  return {
    now: () => t,
    setTimer(ms: number, fn: () => void) {
      const e = { at: t + ms, fn };
      timers.push(e);
      return () => {
        const i = timers.indexOf(e);
        if (i >= 0) timers.splice(i, 1);
      };
    },
    advance(ms: number) {
      t += ms;
      for (const e of timers.filter((x) => x.at <= t)) {
        timers.splice(timers.indexOf(e), 1);
        e.fn();
      }
    },
  };
}

const tick = () => new Promise((r) => setImmediate(r));

function harness() {
  const w = scriptedWatch();
  const clock = manualClock();
  const set: string[] = [];
  const bypassSet: BypassSet = {
    addBypassPeer: async (a) => {
      set.push(a);
    },
    removeBypassPeer: async (a) => {
      set.splice(set.indexOf(a), 1);
    },
    listBypassPeers: async () => [],
  };
  const deleted: string[] = [];
  const lines: string[] = [];
  const log = (l: string) => lines.push(l);
  const fw = settings(TRUSTED);
  const rev = createRevocation({
    watch: w.watch,
    settings: () => fw,
    clock,
    log,
    revoke: async (spis, why) => {
      await tracker.revoke(spis, why);
      deleted.push(spis);
    },
  });
  const tracker = createBypassTracker({
    set: bypassSet,
    settings: () => fw,
    log,
    now: clock.now,
    revoked: rev.refusal,
  });
  const establish = async (spis: string, authTime?: string) => {
    const d = await tracker.onEstablished(sa(spis, authTime));
    if (d.authorizedBy !== null) rev.track(spis, P, authTime ?? "2026-12-06T10:00:00.000Z");
    return d;
  };
  return { w, clock, set, deleted, lines, rev, tracker, establish };
}

describe("immediate revocation", () => {
  it("a change that takes the peer out of the group: out of the set, its IKE SA deleted, its stale PAC refused next time", async () => {
    const h = harness();
    h.rev.start();
    assert.equal(h.w.asked[0]?.cursor, null, "the first question is answered at once");
    h.w.answer(0, { cursor: "7", standings: [] });
    await tick();
    assert.equal(h.w.asked[1]?.cursor, "7", "then it waits for changes after 7");

    assert.notEqual((await h.establish("s1")).authorizedBy, null);
    assert.deepEqual(h.set, ["198.18.0.30"]);
    // a principal not heard of yet is asked about at once, beside the long poll
    assert.equal(h.w.asked[2]?.cursor, null);
    assert.deepEqual(h.w.asked[2]?.principals, [P]);
    h.w.answer(2, { cursor: "7", standings: [standing()] });
    await tick();
    assert.deepEqual(h.deleted, [], "still in trusted: nothing revoked");

    // trusted loses xpclient$: the long poll answers with the standing of now
    h.w.answer(1, { cursor: "8", standings: [standing({ sids: [XP] })] });
    await tick();
    assert.deepEqual(h.deleted, ["s1"]);
    assert.deepEqual(h.set, [], "out of the bypass set");
    const d = h.tracker.list().find((x) => x.spis === "s1");
    assert.equal(d?.code, "revoked");
    assert.match(d?.why ?? "", /in no group of the bypass list any more/);
    assert.equal(h.tracker.counts().revoked, 1);
    // xpclient was admitted while that poll waited: it is asked about at once, then watched
    assert.equal(h.w.asked[3]?.cursor, null);
    h.w.answer(3, { cursor: "8", standings: [standing({ sids: [XP] })] });
    await tick();
    assert.equal(h.w.asked[4]?.cursor, "8");
    assert.deepEqual(h.w.asked[4]?.principals, [P], "the refused principal stays watched");

    // the same cached ticket (PAC: trusted) comes back: refused at once
    await h.tracker.onClosed("s1");
    const again = await h.establish("s2");
    assert.equal(again.authorizedBy, null);
    assert.equal(again.code, "revoked");
    assert.match(again.why, /PAC is stale/);

    // put back in trusted: the next SA is admitted
    h.w.answer(4, { cursor: "9", standings: [standing()] });
    await tick();
    await h.tracker.onClosed("s2");
    assert.notEqual((await h.establish("s3")).authorizedBy, null);
    h.rev.stop();
  });

  it("disabled, or keys reset after the ticket: revoked too", async () => {
    const h = harness();
    h.rev.start();
    h.w.answer(0, { cursor: "1", standings: [] });
    await tick();
    await h.establish("a", "2026-12-06T10:00:00.000Z");
    h.w.answer(2, { cursor: "1", standings: [standing()] });
    await tick();
    h.w.answer(1, { cursor: "2", standings: [standing({ keySetAt: "2026-12-06T10:01:00.000Z" })] });
    await tick();
    assert.deepEqual(h.deleted, ["a"]);
    assert.match(h.lines.join("\n"), /keys were reset/);
    // a ticket from after the reset is admitted
    await h.tracker.onClosed("a");
    assert.notEqual((await h.establish("b", "2026-12-06T10:02:00.000Z")).authorizedBy, null);
    h.w.answer(3, {
      cursor: "3",
      standings: [standing({ enabled: false, keySetAt: "2026-12-06T10:01:00.000Z" })],
    });
    await tick();
    assert.deepEqual(h.deleted, ["a", "b"]);
    h.rev.stop();
  });

  it("an unreachable directory: logged once, retried with a doubling backoff, then works again", async () => {
    const h = harness();
    h.rev.start();
    h.w.answer(0, new Error("cannot reach the DC"));
    await tick();
    assert.equal(h.w.asked.length, 1, "nothing asked before the backoff");
    h.clock.advance(BACKOFF_MIN_MS);
    await tick();
    assert.equal(h.w.asked.length, 2);
    h.w.answer(1, new Error("cannot reach the DC"));
    await tick();
    h.clock.advance(BACKOFF_MIN_MS);
    await tick();
    assert.equal(h.w.asked.length, 2, "the second wait is twice as long");
    h.clock.advance(BACKOFF_MIN_MS);
    await tick();
    assert.equal(h.w.asked.length, 3);
    assert.equal(h.lines.filter((l) => /watch failed/.test(l)).length, 1, "logged once");
    h.w.answer(2, { cursor: "4", standings: [] });
    await tick();
    assert.match(h.lines.join("\n"), /watch works again/);
    assert.equal(h.rev.stats().errors, 2);
    h.rev.stop();
  });
});
