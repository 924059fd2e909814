/**
 * The current profile decided as Windows does (issue 17 item 5), without root:
 *   - the pure decision: member + a DC answered -> domain; member, no DC -> standard (with
 *     what the probe saw); not a member -> standard;
 *   - the agent's watch with a scripted probe: one line at start, one per switch, the
 *     firewall reloaded once per switch, a failed probe in the domain profile asked again
 *     before switching, no probe while `set currentprofile` overrides;
 *   - netsh: the decision is what every reader sees as the current profile, `show
 *     currentprofile|state` say who chose it, `set currentprofile domain` overrides,
 *     `profile=auto` gives the choice back, a bad value changes nothing;
 *   - the probe against real sockets: a listening port answers, a closed one is refused.
 * The agent in a lab with a DC that stops: test/lab/profile.test.ts.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as net from "node:net";
import { after, before, describe, it } from "node:test";
import { createProfileWatch } from "../../src/agent/profile-watch.js";
import {
  type DcProbe,
  decideProfile,
  loadDecision,
  profileFile,
  saveDecision,
} from "../../src/firewall/profile.js";
import { loadSettings, settingsFile } from "../../src/firewall/store.js";
import { probeDomainDc, tcpAnswers } from "../../src/member/dc-probe.js";
import type { MachineIdentity } from "../../src/member/machine-keys.js";
import { cliAsUser, tempHome } from "../helpers/cli.js";

const fw = cliAsUser;

describe("the current profile: the decision", () => {
  it("member and a DC answered: domain; member, no DC: standard; no domain: standard", () => {
    assert.deepEqual(
      decideProfile({
        domain: "bigfirm.com",
        probe: { reachable: true, dc: "198.18.0.10:88" },
      }),
      {
        profile: "domain",
        reason: "member of bigfirm.com, and its domain controller 198.18.0.10:88 answered",
      },
    );
    const down = decideProfile({
      domain: "bigfirm.com",
      probe: { reachable: false, why: "198.18.0.10:88 ECONNREFUSED" },
    });
    assert.equal(down.profile, "standard");
    assert.match(
      down.reason,
      /no domain controller of it answered \(198\.18\.0\.10:88 ECONNREFUSED\)/,
    );
    assert.deepEqual(decideProfile({ domain: null, probe: null }), {
      profile: "standard",
      reason: "not a domain member",
    });
  });
});

describe("the current profile: the agent's watch (scripted probe)", () => {
  let home: { dir: string; cleanup: () => void };
  before(() => {
    home = tempHome("pfprof");
  });
  after(() => home.cleanup());

  it("logs at start and at each switch, reloads once per switch, asks twice before leaving domain", async () => {
    const answers: DcProbe[] = [];
    let probes = 0;
    let reloads = 0;
    const log: string[] = [];
    const watch = createProfileWatch({
      home: home.dir,
      domain: "bigfirm.com",
      probe: async () => {
        probes++;
        return answers.shift() ?? { reachable: false, why: "script ended" };
      },
      reload: async () => {
        reloads++;
        return "firewall rules reloaded (0 bypass peers kept)";
      },
      log: (l) => log.push(l),
      now: () => Date.parse("2026-12-06T22:00:00Z"),
      intervalMs: 0,
    });
    answers.push({ reachable: true, dc: "198.18.0.10:88" });
    assert.equal((await watch.check(true))?.profile, "domain");
    assert.deepEqual(log, [
      "firewall profile: domain (member of bigfirm.com, and its domain controller 198.18.0.10:88 answered)",
    ]);
    assert.equal(reloads, 0, "at start the agent's first load applies it");
    assert.equal(loadSettings(home.dir).currentProfile, "domain", "every reader sees it");
    assert.equal(loadDecision(home.dir)?.since, "2026-12-06T22:00:00.000Z");

    // one failed probe, then the DC answers: still domain, nothing logged or reloaded
    answers.push({ reachable: false, why: "lost" }, { reachable: true, dc: "198.18.0.10:88" });
    probes = 0;
    assert.equal((await watch.check())?.profile, "domain");
    assert.equal(probes, 2);
    assert.equal(log.length, 1);
    assert.equal(reloads, 0);

    // two failures: standard, one line, one reload
    answers.push(
      { reachable: false, why: "a" },
      { reachable: false, why: "198.18.0.10:88 ECONNREFUSED" },
    );
    assert.equal((await watch.check())?.profile, "standard");
    assert.equal(log.length, 3);
    assert.equal(
      log[1],
      "firewall profile: domain -> standard (member of bigfirm.com, but no domain controller of it answered (198.18.0.10:88 ECONNREFUSED))",
    );
    assert.equal(log[2], "firewall rules reloaded (0 bypass peers kept)");
    assert.equal(reloads, 1);
    assert.equal(loadSettings(home.dir).currentProfile, "standard");

    // in standard, a failure is not asked again; the DC back: domain
    probes = 0;
    answers.push({ reachable: false, why: "b" });
    await watch.check();
    assert.equal(probes, 1);
    answers.push({ reachable: true, dc: "198.18.0.11:88" });
    await watch.check();
    assert.match(log.at(-2) ?? "", /^firewall profile: standard -> domain \(.*198\.18\.0\.11:88/);
    assert.equal(reloads, 2);
  });

  it("set currentprofile overrides: no probe, the decision kept aside; auto gives it back", async () => {
    let probes = 0;
    const watch = createProfileWatch({
      home: home.dir,
      domain: "bigfirm.com",
      probe: async () => {
        probes++;
        return { reachable: true, dc: "198.18.0.10:88" };
      },
      reload: async () => null,
      log: () => {},
      now: Date.now,
      intervalMs: 0,
    });
    await watch.check(true);
    assert.equal(loadSettings(home.dir).currentProfile, "domain");
    const set = await fw(home.dir, "netsh", "firewall", "set", "currentprofile", "standard");
    assert.equal(set.code, 0, set.err);
    assert.equal(loadSettings(home.dir).currentProfile, "standard");
    probes = 0;
    assert.equal(await watch.check(), null);
    assert.equal(probes, 0, "an override is not probed");
    const shown = JSON.parse(
      (await fw(home.dir, "--json", "netsh", "firewall", "show", "currentprofile")).out,
    );
    assert.equal(shown.profile, "standard");
    assert.equal(shown.mode, "manual");
    // auto: the agent's last decision applies at once
    const auto = await fw(home.dir, "netsh", "firewall", "set", "currentprofile", "profile=auto");
    assert.equal(auto.code, 0, auto.err);
    assert.equal(loadSettings(home.dir).currentProfile, "domain");
    const text = await fw(home.dir, "netsh", "firewall", "show", "currentprofile");
    assert.match(
      text.out,
      /^Domain profile is current\.\nautomatic \(since .*\): member of bigfirm\.com/,
    );
  });
});

describe("the current profile: netsh", () => {
  let home: { dir: string; cleanup: () => void };
  before(() => {
    home = tempHome("pfprofn");
  });
  after(() => home.cleanup());

  it("show state and currentprofile say who chose it; no agent: the stored setting", async () => {
    const s = await fw(home.dir, "netsh", "firewall", "show", "state");
    assert.match(s.out, /Profile\s+= Standard/);
    assert.match(s.out, /Current profile chosen\s+= stored: no agent has decided on this host yet/);
    saveDecision(home.dir, {
      profile: "domain",
      reason: "member of bigfirm.com, and its domain controller 198.18.0.10:88 answered",
      since: "2026-12-06T22:00:00.000Z",
    });
    const j = JSON.parse((await fw(home.dir, "--json", "netsh", "firewall", "show", "state")).out);
    assert.equal(j.profile, "domain");
    assert.deepEqual(j.currentProfile, {
      profile: "domain",
      mode: "automatic",
      reason: "member of bigfirm.com, and its domain controller 198.18.0.10:88 answered",
      since: "2026-12-06T22:00:00.000Z",
    });
    // profile= defaults to CURRENT, which is the decided one
    const add = await fw(home.dir, "netsh", "firewall", "add", "portopening", "TCP", "8080", "Web");
    assert.equal(add.code, 0, add.err);
    const cfg = JSON.parse(fs.readFileSync(settingsFile(home.dir), "utf8"));
    assert.equal(cfg.profiles.domain.portOpenings.length, 1);
    assert.equal(cfg.profiles.standard.portOpenings.length, 0);
  });

  it("a bad profile is refused in one line and changes nothing; a damaged profile.json is named", async () => {
    const before_ = fs.readFileSync(settingsFile(home.dir));
    const r = await fw(home.dir, "netsh", "firewall", "set", "currentprofile", "public");
    assert.equal(r.code, 2);
    assert.equal(
      r.err.trim(),
      "postern: profile: expected one of domain|standard|auto, got 'public'",
    );
    assert.deepEqual(fs.readFileSync(settingsFile(home.dir)), before_);
    fs.writeFileSync(profileFile(home.dir), '{"profile":"moon"}');
    const bad = await fw(home.dir, "netsh", "firewall", "show", "state");
    assert.equal(bad.code, 1);
    assert.match(bad.err, /profile\.json: expected \{profile, reason, since\}/);
    assert.equal(bad.err.trim().split("\n").length, 1);
    fs.rmSync(profileFile(home.dir));
  });
});

describe("the DC probe (real sockets on loopback)", () => {
  it("a listening KDC port answers, a closed one is refused, each named", async () => {
    const server = net.createServer((s) => s.destroy());
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const port = (server.address() as net.AddressInfo).port;
    try {
      assert.equal(await tcpAnswers({ host: "127.0.0.1", port }, 1000), null);
      const id = {
        domain: "bigfirm.com",
        dc: { host: "127.0.0.1", kdcPort: port },
      } as MachineIdentity;
      assert.deepEqual(await probeDomainDc(id, { resolver: null }), {
        reachable: true,
        dc: `127.0.0.1:${port}`,
      });
    } finally {
      await new Promise((r) => server.close(r));
    }
    const id = {
      domain: "bigfirm.com",
      dc: { host: "127.0.0.1", kdcPort: port },
    } as MachineIdentity;
    assert.deepEqual(await probeDomainDc(id, { resolver: null }), {
      reachable: false,
      why: `127.0.0.1:${port} ECONNREFUSED`,
    });
  });
});
