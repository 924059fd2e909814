/**
 * The article's matrix in one process, as nebula's e2e runs its nodes: the real DC
 * (directory, KDC, DNS and API on loopback, ports the kernel picks), three members joined
 * with `postern join` and the article's netsh scripts, and their agents as createAgent
 * cores over fakes (in-process data path, fake IKE network, fake kernel with the
 * firewall's evaluator). No root, no namespace: the same story as test/lab, in seconds.
 *   1. xpclient (in `trusted`) opens server1:80 -> Kerberos IKE, ESP, bypass: served
 *   2. client2 (member, not in `trusted`) -> IKE succeeds, the firewall drops it
 *   3. outsider (no agent, no account) -> no SA; its cleartext meets the guard
 *   4. xpclient leaves `trusted` -> still served (its ticket says trusted) ...
 *   5. ... until `klist --machine purge`: new TGT, new PAC, blocked
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { type Agent, createAgent } from "../../src/agent/core.js";
import { createHostPolicySource } from "../../src/agent/host-policy.js";
import type { CliEnv } from "../../src/cmdline/env.js";
import { dhGenerateFast, randomBytes } from "../../src/crypto/primitives.js";
import { addComputer } from "../../src/dc/computers.js";
import type { RunningDc } from "../../src/dc/daemon.js";
import { addGroup, addMember, removeMember } from "../../src/dc/groups.js";
import { issueJoinToken } from "../../src/dc/tokens.js";
import { defaultSettings } from "../../src/firewall/model.js";
import { loadSettings, saveSettings, settingsFile } from "../../src/firewall/store.js";
import { systemClock } from "../../src/ike/clock.js";
import { createFakeNetwork } from "../../src/ike/transport.js";
import { ESP_NULL_SIGN, examplesDir } from "../../src/lab/up.js";
import { startDcInProcess } from "../dc/helpers.js";
import { cli, tempHome } from "../helpers/cli.js";
import { createLan, type LanHost, until } from "./inprocess-lan.js";

const SERVER1 = "198.18.0.20";
const XPCLIENT = "198.18.0.30";
const CLIENT2 = "198.18.0.31";
const OUTSIDER = "198.18.0.40";

interface Member {
  host: LanHost;
  home: string;
  agent: Agent;
  log: string[];
}

describe("the article's matrix: a DC and three agent cores in one process", () => {
  const root = tempHome("pin");
  const lan = createLan();
  const ike = createFakeNetwork();
  let dc: RunningDc;
  const members = new Map<string, Member>();
  const m = (name: string) => members.get(name) as Member;
  const outsider = lan.host("outsider", OUTSIDER);

  async function join(name: string, address: string, script: string): Promise<string> {
    const home = path.join(root.dir, name);
    fs.mkdirSync(home);
    const { token } = issueJoinToken(dc.dir, "test", name);
    const j = await cli(
      home,
      "join",
      "--domain",
      "bigfirm.com",
      "--dc",
      `127.0.0.1:${dc.apiPort}`,
      "--name",
      name,
      "--token",
      token,
      "--dc-fingerprint",
      dc.apiFingerprint,
      "--address",
      address,
    );
    assert.equal(j.code, 0, j.err);
    const n = await cli(home, "netsh", "-f", path.join(examplesDir(), script));
    assert.equal(n.code, 0, n.err);
    // The in-process data path carries ESP-in-UDP only (AH needs a raw socket): the lab's
    // `--sign esp-null` variant of the article's "sign".
    const e = await cli(home, ...ESP_NULL_SIGN);
    assert.equal(e.code, 0, e.err);
    return home;
  }

  async function startMember(name: string, address: string, home: string): Promise<Member> {
    const host = lan.host(name, address);
    const log: string[] = [];
    const say = (l: string) => log.push(l);
    const env: CliEnv = {
      home,
      json: false,
      out: say,
      err: say,
      vars: {},
      isRoot: false,
      cwd: "/",
    };
    const settings = () => (fs.existsSync(settingsFile(home)) ? loadSettings(home) : null);
    const agent = createAgent({
      local: address,
      dataPath: lan.dataPathOf(host),
      ike: ike.transport(address),
      kernel: lan.kernelOf(host, settings),
      policy: createHostPolicySource({
        env,
        ours: [address],
        local: address,
        dns: [`127.0.0.1:${dc.dnsPort}`],
        cert: null,
        key: null,
        gpRefreshMs: 0,
        log: say,
      }),
      clock: systemClock(),
      random: randomBytes,
      dh: dhGenerateFast,
      log: say,
      ikeOptions: {},
      maxQueue: 16,
      holdDownMs: 5_000,
    });
    await agent.start();
    const member = { host, home, agent, log };
    members.set(name, member);
    return member;
  }

  before(async () => {
    const dcHome = path.join(root.dir, "dc1");
    fs.mkdirSync(dcHome);
    dc = await startDcInProcess(dcHome);
    const trusted = addGroup(dc.dir, "test", "trusted");
    for (const n of ["server1", "xpclient", "client2"]) addComputer(dc.dir, "test", n);
    addMember(dc.dir, "test", "trusted", "xpclient$");
    const server1Home = await join("server1", SERVER1, "article-server.netsh");
    const xpHome = await join("xpclient", XPCLIENT, "article-client.netsh");
    const c2Home = await join("client2", CLIENT2, "article-client.netsh");
    // article-firewall.netsh, written to server1's store (its `netsh firewall` would load
    // the host's own nftables as root): on, no exception for 80, bypass for `trusted`.
    saveSettings(server1Home, {
      ...defaultSettings(),
      bypass: [{ sid: trusted.sid, name: "trusted" }],
    });
    (await startMember("server1", SERVER1, server1Home)).host.web = true;
    await startMember("xpclient", XPCLIENT, xpHome);
    await startMember("client2", CLIENT2, c2Home);
  });

  after(async () => {
    for (const x of members.values()) await x.agent.stop();
    await dc?.stop();
    root.cleanup();
  });

  it("the agents run the article's policies and steer only the protected flow", () => {
    assert.match(
      m("server1").log.join("\n"),
      /policy "Secure website \(server1\)" from the local store/,
    );
    assert.match(m("server1").log.join("\n"), /firewall rules loaded/);
    const rules = m("xpclient").host.kernel?.rules;
    assert.equal(rules?.steering.length, 1);
    assert.equal(rules?.steering[0]?.remote, `${SERVER1}/32`);
  });

  it("xpclient (in trusted) is served: Kerberos IKE, ESP, admitted by the bypass", async () => {
    const xp = m("xpclient");
    lan.connect(xp.host, m("server1").host, 40001);
    assert.ok(await until(() => xp.host.pages.length > 0, 10_000), xp.log.join("\n"));
    const seen = m("server1").host.inbound.filter((x) => x.src === XPCLIENT);
    assert.deepEqual(seen.at(-1), {
      verdict: "accept",
      reason: "bypass",
      via: "esp",
      src: XPCLIENT,
      dport: 80,
    });
    const bypass = await m("server1").agent.control.bypass();
    const entry = bypass.peers.find((p) => p.address === XPCLIENT);
    assert.equal(entry?.principal, "XPCLIENT$@BIGFIRM.COM");
    assert.match(entry?.why ?? "", /is in trusted/);
    const qm = await xp.agent.control.qmsas();
    assert.equal(qm.length, 1);
    assert.equal(qm[0]?.transform, "null-sha1");
    assert.ok((qm[0]?.packetsOut ?? 0) >= 1 && (qm[0]?.packetsIn ?? 0) >= 1);
  });

  it("client2 (member, not in trusted) negotiates, and the firewall refuses it", async () => {
    const c2 = m("client2");
    lan.connect(c2.host, m("server1").host, 40002);
    const refused = () => m("server1").host.inbound.filter((x) => x.src === CLIENT2);
    assert.ok(await until(() => refused().length > 0, 10_000), c2.log.join("\n"));
    assert.deepEqual(refused()[0], {
      verdict: "drop",
      reason: "default-drop",
      via: "esp",
      src: CLIENT2,
      dport: 80,
    });
    assert.equal(c2.host.pages.length, 0);
    const mm = await c2.agent.control.mmsas();
    assert.equal(mm[0]?.state, "established");
    const entry = (await m("server1").agent.control.bypass()).peers.find(
      (p) => p.address === CLIENT2,
    );
    assert.equal(entry?.authorizedBy, null);
  });

  it("outsider (no account, no agent) gets no SA: its cleartext meets the guard", async () => {
    lan.connect(outsider, m("server1").host, 40003);
    const seen = () => m("server1").host.inbound.filter((x) => x.src === OUTSIDER);
    assert.ok(await until(() => seen().length > 0, 2_000));
    assert.deepEqual(seen()[0], {
      verdict: "drop",
      reason: "guard",
      via: "clear",
      src: OUTSIDER,
      dport: 80,
    });
    const sas = (await m("server1").agent.control.stats()).ike?.sas ?? [];
    assert.ok(!sas.some((s) => s.remote.address === OUTSIDER));
    assert.equal(outsider.pages.length, 0);
  });

  it("xpclient removed from trusted: still served, its ticket still says trusted", async () => {
    removeMember(dc.dir, "test", "trusted", "xpclient$");
    const xp = m("xpclient");
    const before = xp.host.pages.length;
    lan.connect(xp.host, m("server1").host, 40004);
    assert.ok(await until(() => xp.host.pages.length > before, 10_000));
  });

  it("after klist --machine purge: a new TGT, new groups, blocked", async () => {
    const xp = m("xpclient");
    const purged = await xp.agent.control.purge();
    assert.equal(purged.deletedIkeSas.length, 1);
    const server = m("server1").host;
    // The Delete reaches server1: xpclient leaves the bypass set with its SA.
    assert.ok(await until(() => !server.kernel?.bypassed().includes(XPCLIENT), 5_000));
    const before = xp.host.pages.length;
    const mark = server.inbound.length;
    lan.connect(xp.host, server, 40005);
    const after = () => server.inbound.slice(mark).filter((x) => x.src === XPCLIENT);
    assert.ok(await until(() => after().length > 0, 10_000), xp.log.join("\n"));
    assert.deepEqual(after()[0], {
      verdict: "drop",
      reason: "default-drop",
      via: "esp",
      src: XPCLIENT,
      dport: 80,
    });
    assert.equal(xp.host.pages.length, before);
    assert.match(m("server1").log.join("\n"), /bypass: 198\.18\.0\.30 not admitted/);
  });

  it("gpupdate's reload and the monitor views answer from the running core", async () => {
    const server = m("server1").agent;
    const r = await server.control.reload();
    assert.deepEqual(r, { reloaded: true, policy: "Secure website (server1)", source: "local" });
    const mm = await server.control.mmfilter();
    assert.deepEqual(
      mm.map((f) => f.auth),
      mm.map(() => ["kerberos"]),
    );
    const stats = await server.control.dstats();
    assert.ok((stats.ike.sas.established ?? 0) >= 2, JSON.stringify(stats.ike));
  });

  it("stop removes steering and guard, twice is harmless, and the handle then says it is not running", async () => {
    const c2 = m("client2");
    await c2.agent.stop();
    assert.equal(c2.host.kernel?.rules, null);
    await assert.rejects(async () => c2.agent.control.stats(), {
      code: "failed",
      message: "the agent is not running",
    });
    await c2.agent.stop();
  });
});
