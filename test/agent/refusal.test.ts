/**
 * The client told why (src/agent/refusal.ts): which decisions a server tells, in which
 * mode, how often; and the client's record and its one log line per peer. The wire is
 * test/ike/refusal.test.ts; the lab's client2 in test/lab/explain.test.ts.
 */
import * as assert from "node:assert/strict";
import { describe, it } from "node:test";
import { decideBypass } from "../../src/agent/bypass-peers.js";
import { createRefusals, REFUSAL_INTERVAL_MS, refusalFor } from "../../src/agent/refusal.js";
import { defaultSettings, type FirewallSettings } from "../../src/firewall/model.js";
import type { IkeSaInfo } from "../../src/ike/engine.js";
import type { RefusalNotice } from "../../src/ike/refusal.js";
import { manualClock } from "../ike/helpers.js";

const TRUSTED = "S-1-5-21-1-2-3-1105";

function settings(): FirewallSettings {
  const s = defaultSettings();
  s.bypass = [{ sid: TRUSTED, name: "trusted" }];
  return s;
}

function sa(over: Partial<IkeSaInfo> = {}): IkeSaInfo {
  return {
    spis: "aa_bb",
    peer: "rule1",
    state: "established",
    initiator: false,
    remote: { address: "198.18.0.31", port: 4500 },
    natT: true,
    children: [],
    peerId: null,
    identity: {
      method: "kerberos",
      principal: "CLIENT2$@BIGFIRM.COM",
      userSid: "S-1-5-21-1-2-3-1108",
      groupSids: ["S-1-5-21-1-2-3-515"],
    },
    suite: null,
    auth: "kerberos",
    lifetimeSec: 28800,
    ...over,
  };
}

describe("the client told why: the agent's side", () => {
  it("what is told: the reason always, the group only in mode names; nothing to the admitted", () => {
    const s = settings();
    const d = decideBypass(s, sa());
    assert.equal(d.code, "not-in-list");
    assert.deepEqual(refusalFor(d, sa(), s, "reason"), {
      reason: "not-in-bypass-list",
      group: null,
    });
    assert.deepEqual(refusalFor(d, sa(), s, "names"), {
      reason: "not-in-bypass-list",
      group: "trusted",
    });
    assert.equal(refusalFor(d, sa(), s, "none"), null, "none: silence, as Windows");
    const inList = sa({ identity: { method: "kerberos", principal: "X$", userSid: TRUSTED } });
    assert.equal(refusalFor(decideBypass(s, inList), inList, s, "names"), null);
    const mine = sa({ initiator: true });
    assert.equal(refusalFor(decideBypass(s, mine), mine, s, "names"), null, "we started it");
    const psk = sa({ identity: { method: "psk", principal: "198.18.0.31" }, auth: "psk" });
    assert.deepEqual(refusalFor(decideBypass(s, psk), psk, s, "reason"), {
      reason: "not-kerberos",
      group: null,
    });
  });

  it("the server tells a peer once per interval; the client logs once per peer and reason", () => {
    const clock = manualClock();
    const logs: string[] = [];
    const told: { spis: string; n: RefusalNotice }[] = [];
    const r = createRefusals({ clock, log: (l) => logs.push(l), mode: "reason", settings });
    const tell = (spis: string, n: RefusalNotice) => {
      told.push({ spis, n });
      return true;
    };
    const d = decideBypass(settings(), sa());
    r.onDecision(sa(), d, tell);
    r.onDecision(sa({ spis: "cc_dd" }), d, tell); // renegotiated at once: not told again
    clock.advance(1000);
    assert.deepEqual(told, [{ spis: "aa_bb", n: { reason: "not-in-bypass-list", group: null } }]);
    clock.advance(REFUSAL_INTERVAL_MS);
    r.onDecision(sa({ spis: "ee_ff" }), d, tell);
    clock.advance(1000);
    assert.equal(told.length, 2, "told again after the interval");
    assert.match(
      logs[0] ?? "",
      /refusal: told 198\.18\.0\.31 why it is not admitted: not-in-bypass-list/,
    );

    const n: RefusalNotice = { reason: "not-in-bypass-list", group: "trusted" };
    r.onReceived("11_22", "198.18.0.20", n);
    r.onReceived("33_44", "198.18.0.20", n);
    const lines = logs.filter((l) => l.includes("does not admit us"));
    assert.deepEqual(lines, [
      "refusal: 198.18.0.20 does not admit us: not-in-bypass-list (it requires trusted)",
    ]);
    assert.equal(r.of("33_44")?.group, "trusted");
    r.onClosed("33_44");
    assert.equal(r.of("33_44"), null);
  });

  it("revoked: told at once before the DELETE, not rate-limited, and the next SA told too", () => {
    const clock = manualClock();
    const logs: string[] = [];
    const told: { spis: string; n: RefusalNotice }[] = [];
    const tell = (spis: string, n: RefusalNotice) => {
      told.push({ spis, n });
      return true;
    };
    const names = createRefusals({ clock, log: (l) => logs.push(l), mode: "names", settings });
    names.onRevoked(sa({ spis: "01_02" }), "trusted", tell);
    names.onRevoked(sa({ spis: "03_04" }), "trusted", tell);
    assert.deepEqual(
      told.map((t) => [t.spis, t.n]),
      [
        ["01_02", { reason: "revoked", group: "trusted" }],
        ["03_04", { reason: "revoked", group: "trusted" }],
      ],
      "synchronous, each admitted SA told",
    );
    assert.match(
      logs[0] ?? "",
      /told 198\.18\.0\.31 its admission is revoked \(it required trusted\)/,
    );
    // the next SA, refused by the directory of now (stale PAC), is told as any refusal
    const inList = sa({
      spis: "05_06",
      identity: { method: "kerberos", principal: "XP$@B", userSid: TRUSTED, authTime: "x" },
    });
    const d = decideBypass(settings(), inList, () => "XP$@B is disabled in the directory");
    assert.equal(d.code, "revoked");
    assert.deepEqual(refusalFor(d, inList, settings(), "reason"), {
      reason: "revoked",
      group: null,
    });
    names.onDecision(inList, d, tell);
    clock.advance(1000);
    assert.deepEqual(told.at(-1), { spis: "05_06", n: { reason: "revoked", group: "trusted" } });

    const reason = createRefusals({ clock, log: () => undefined, mode: "reason", settings });
    reason.onRevoked(sa({ spis: "07_08" }), "trusted", tell);
    assert.deepEqual(told.at(-1)?.n, { reason: "revoked", group: null }, "no name in mode reason");
    const none = createRefusals({ clock, log: () => undefined, mode: "none", settings });
    const before = told.length;
    none.onRevoked(sa({ spis: "09_0a" }), "trusted", tell);
    assert.equal(told.length, before, "none: silence");
  });
});
