/**
 * Authenticated bypass decisions (the article's "Allow authenticated IPsec bypass"): pure
 * decisions, and the tracker's add/remove calls against a recording bypass set. The real
 * nftables set under a live agent is exercised by test/lab/lab.test.ts.
 */
import * as assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createBypassTracker, decideBypass } from "../../src/agent/bypass-peers.js";
import type { BypassSet } from "../../src/firewall/bypass.js";
import { defaultSettings, type FirewallSettings } from "../../src/firewall/model.js";
import type { IkeSaInfo } from "../../src/ike/engine.js";

const TRUSTED = "S-1-5-21-1-2-3-1105";
const XP = "S-1-5-21-1-2-3-1107";

function settings(...sids: string[]): FirewallSettings {
  const s = defaultSettings();
  s.bypass = sids.map((sid) => ({ sid, name: sid === TRUSTED ? "trusted" : undefined }));
  return s;
}

function sa(over: Partial<IkeSaInfo> = {}, groups = [TRUSTED]): IkeSaInfo {
  return {
    spis: over.spis ?? "aa_bb",
    peer: "rule1/f1m",
    state: "established",
    initiator: false,
    remote: { address: "198.18.0.30", port: 4500 },
    natT: true,
    children: [],
    peerId: "198.18.0.30",
    identity: {
      method: "kerberos",
      principal: "XPCLIENT$@BIGFIRM.COM",
      userSid: XP,
      groupSids: groups,
    },
    suite: null,
    auth: "kerberos",
    lifetimeSec: 28800,
    ...over,
  };
}

describe("authenticated bypass decisions", () => {
  it("a group SID of the verified PAC on the list admits the peer's address", () => {
    const d = decideBypass(settings(TRUSTED), sa());
    assert.equal(d.authorizedBy, TRUSTED);
    assert.equal(d.address, "198.18.0.30");
    assert.match(d.why, /XPCLIENT\$@BIGFIRM\.COM is in trusted/);
  });
  it("the computer's own SID on the list admits it too", () => {
    assert.equal(decideBypass(settings(XP), sa({}, [])).authorizedBy, XP);
  });
  it("SIDs compare case-insensitively", () => {
    assert.equal(decideBypass(settings(TRUSTED.toLowerCase()), sa()).authorizedBy !== null, true);
  });
  it("a peer that authenticated but holds no listed SID stays out (it meets the exceptions)", () => {
    const d = decideBypass(settings(TRUSTED), sa({}, ["S-1-5-21-1-2-3-515"]));
    assert.equal(d.authorizedBy, null);
    assert.match(d.why, /holds no SID of the bypass list/);
  });
  it("preshared keys and certificates carry no groups: never admitted", () => {
    const d = decideBypass(settings(TRUSTED), sa({ identity: null, auth: "psk" }));
    assert.equal(d.authorizedBy, null);
    assert.match(d.why, /authenticated by psk, not Kerberos/);
  });
  it("an SA this host initiated proves the peer's name, not its groups", () => {
    const d = decideBypass(settings(TRUSTED), sa({ initiator: true }));
    assert.equal(d.authorizedBy, null);
    assert.match(d.why, /this host started the SA/);
  });
  it("no settings, or an empty list: nobody is admitted", () => {
    assert.equal(decideBypass(null, sa()).authorizedBy, null);
    assert.equal(decideBypass(settings(), sa()).authorizedBy, null);
  });
});

describe("the bypass tracker", () => {
  function recording(): BypassSet & { calls: string[] } {
    const calls: string[] = [];
    return {
      calls,
      async addBypassPeer(a, t) {
        calls.push(`add ${a} ${t}`);
      },
      async removeBypassPeer(a) {
        calls.push(`remove ${a}`);
      },
      async listBypassPeers() {
        return [];
      },
    };
  }
  const trackerWith = (set: BypassSet) =>
    createBypassTracker({ set, settings: () => settings(TRUSTED), log: () => {}, now: () => 0 });
  it("adds for the SA's lifetime, removes when the last authorized SA of the address goes", async () => {
    const set = recording();
    const t = trackerWith(set);
    await t.onEstablished(sa({ spis: "one" }));
    await t.onEstablished(sa({ spis: "two" }));
    assert.deepEqual(set.calls, ["add 198.18.0.30 28800", "add 198.18.0.30 28800"]);
    await t.onClosed("one");
    assert.equal(set.calls.length, 2, "another authorized SA of that address remains");
    await t.onClosed("two");
    assert.deepEqual(set.calls.slice(2), ["remove 198.18.0.30"]);
    assert.deepEqual(t.list(), []);
  });
  it("an unauthorized SA touches nothing, and is listed with its reason", async () => {
    const set = recording();
    const t = trackerWith(set);
    await t.onEstablished(sa({ spis: "c2" }, []));
    await t.onClosed("c2");
    assert.deepEqual(set.calls, []);
  });
  it("unreadable settings admit nobody, and say so", async () => {
    const lines: string[] = [];
    const set = recording();
    const t = createBypassTracker({
      set,
      settings: () => {
        throw new Error("settings.json: not valid JSON");
      },
      log: (l) => lines.push(l),
      now: () => 0,
    });
    const d = await t.onEstablished(sa());
    assert.equal(d.authorizedBy, null);
    assert.deepEqual(set.calls, []);
    assert.match(lines.join("\n"), /firewall settings unreadable: settings\.json: not valid JSON/);
  });
});
