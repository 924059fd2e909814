/**
 * The firewall's current profile decided by the agent as Windows decides it (issue 17
 * item 5), on `postern lab up` (real DC, real agents, nftables in namespaces):
 *   - server1 (a member of bigfirm.com, its DC up) is in the domain profile: a port opened
 *     in the domain profile only (TCP 8080, a second web server) serves the outsider;
 *   - dc1 stopped: server1 switches to the standard profile within its check interval
 *     (--profile-check 2) plus the probe, logged in one line; the port is closed;
 *   - dc1 started again: back to the domain profile, the port open again;
 *   - an agent on a host that never joined (the outsider, a local policy): standard.
 */
import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { hostHome, type LabState, loadLabState, saveLabState } from "../../src/lab/state.js";
import { posternArgv, startDaemon } from "../../src/lab/run.js";
import { startAgent } from "../../src/lab/up.js";
import { namespaceOf } from "../../src/lab/topology.js";
import { BIN, needsRoot, runBin, tempHome } from "../helpers/cli.js";

const SERVER1 = "198.18.0.20";
const PORT = 8080;
const CHECK_S = 2;

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("the current profile follows the domain's DC (lab)", needsRoot(), () => {
  const home = tempHome("labprof");
  let s: LabState;
  const agentLog = () => path.join(s.dir, "server1-agent.log");
  const fetchFromOutsider = (ms: number) =>
    spawnSync(
      "ip",
      [
        "netns",
        "exec",
        namespaceOf(s.id, "outsider"),
        process.execPath,
        BIN,
        "lab",
        "fetch",
        `http://${SERVER1}:${PORT}/`,
        "--timeout-ms",
        `${ms}`,
      ],
      { encoding: "utf8", timeout: ms + 10_000 },
    ).stdout;
  const server1 = (...args: string[]) =>
    runBin(["--home", hostHome(s, "server1"), ...args], {
      env: { POSTERN_NETNS: namespaceOf(s.id, "server1") },
    });
  const currentProfile = () => {
    const r = server1("--json", "netsh", "firewall", "show", "currentprofile");
    assert.equal(r.code, 0, r.err);
    return JSON.parse(r.out) as { profile: string; mode: string; reason: string };
  };
  /** Ms from `t0` until `re` shows in server1's agent log (after `from` bytes), at most `ms`. */
  const waitLog = async (re: RegExp, from: number, t0: number, ms: number): Promise<number> => {
    while (Date.now() - t0 < ms) {
      if (re.test(fs.readFileSync(agentLog(), "utf8").slice(from))) return Date.now() - t0;
      await sleep(100);
    }
    assert.fail(`not in server1's agent log within ${ms} ms: ${re}`);
  };
  const stop = async (name: string) => {
    const p = s.processes.find((x) => x.name === name && alive(x.pid));
    assert.ok(p, `${name} runs`);
    process.kill(p.pid, "SIGTERM");
    for (let i = 0; i < 100 && alive(p.pid); i++) await sleep(100);
    assert.equal(alive(p.pid), false, `${name} stopped`);
    s.processes = s.processes.filter((x) => x !== p);
    saveLabState(home.dir, s);
  };
  const startDc = () =>
    startDaemon(s, home.dir, {
      name: "dc1",
      ns: namespaceOf(s.id, "dc1"),
      argv: [
        ...posternArgv(),
        "--home",
        hostHome(s, "dc1"),
        "dc",
        "start",
        "--listen",
        "198.18.0.10",
      ],
      ready: /dc: ready/,
      timeoutMs: 30_000,
    });

  before(async () => {
    const r = runBin(["--home", home.dir, "lab", "up"]);
    assert.equal(r.code, 0, r.err);
    s = loadLabState(home.dir) as LabState;
    // server1's agent again with a short check interval (the default is 60 s)
    await stop("server1-agent");
    await startAgent(home.dir, s, "server1", ["--profile-check", `${CHECK_S}`]);
    await startDaemon(s, home.dir, {
      name: "server1-web8080",
      ns: namespaceOf(s.id, "server1"),
      argv: [...posternArgv(), "lab", "web", "--address", SERVER1, "--port", `${PORT}`],
      ready: /web: ready/,
      timeoutMs: 10_000,
    });
  });
  after(() => {
    runBin(["--home", home.dir, "lab", "down"]);
    home.cleanup();
  });

  it("a member whose DC answers is in the domain profile: a domain-only opening serves", () => {
    assert.match(
      fs.readFileSync(agentLog(), "utf8"),
      /firewall profile: domain \(member of bigfirm\.com, and its domain controller 198\.18\.0\.10:88 answered\)/,
    );
    const cur = currentProfile();
    assert.equal(cur.profile, "domain");
    assert.equal(cur.mode, "automatic");
    assert.match(fetchFromOutsider(2000), /"served":false/, "nothing open yet");
    const open = server1(
      "netsh",
      "firewall",
      "add",
      "portopening",
      "TCP",
      `${PORT}`,
      "Web8080",
      "profile=DOMAIN",
    );
    assert.equal(open.code, 0, open.err);
    assert.match(fetchFromOutsider(5000), /"served":true/);
  });

  it("the DC stopped: the standard profile within the check interval, the port closed; the DC back: domain", async (t) => {
    let from = fs.statSync(agentLog()).size;
    let t0 = Date.now();
    await stop("dc1");
    const down = await waitLog(
      /firewall profile: domain -> standard \(member of bigfirm\.com, but no domain controller of it answered \(.+\)\)/,
      from,
      t0,
      30_000,
    );
    assert.ok(down < 30_000);
    assert.equal(currentProfile().profile, "standard");
    assert.match(fetchFromOutsider(2000), /"served":false/, "the standard profile has no opening");
    const state = server1("netsh", "firewall", "show", "state");
    assert.match(state.out, /Profile\s+= Standard/);
    assert.match(state.out, /Rules loaded\s+= Yes/, "the reload matches the settings");
    from = fs.statSync(agentLog()).size;
    t0 = Date.now();
    await startDc();
    const up = await waitLog(/firewall profile: standard -> domain \(/, from, t0, 30_000);
    assert.equal(currentProfile().profile, "domain");
    assert.match(fetchFromOutsider(5000), /"served":true/);
    t.diagnostic(
      `profile switch logged ${down} ms after the DC's SIGTERM, ${up} ms after its restart (checks every ${CHECK_S} s)`,
    );
  });

  it("an agent on a host that never joined a domain: the standard profile", async () => {
    const outsider = path.join(s.dir, "outsider-home");
    fs.mkdirSync(outsider, { recursive: true });
    for (const args of [
      ["add", "policy", "name=respond", "activatedefaultrule=yes"],
      ["set", "policy", "name=respond", "assign=yes"],
    ]) {
      const r = runBin(["--home", outsider, "netsh", "ipsec", "static", ...args]);
      assert.equal(r.code, 0, r.err);
    }
    await startDaemon(s, home.dir, {
      name: "outsider-agent",
      ns: namespaceOf(s.id, "outsider"),
      argv: [...posternArgv(), "--home", outsider, "agent", "--address", "198.18.0.40"],
      ready: /agent: ready/,
      timeoutMs: 30_000,
    });
    const log = fs.readFileSync(path.join(s.dir, "outsider-agent.log"), "utf8");
    assert.match(log, /firewall profile: standard \(not a domain member\)/);
    const r = runBin(["--home", outsider, "--json", "netsh", "firewall", "show", "currentprofile"]);
    assert.equal(r.code, 0, r.err);
    assert.deepEqual(JSON.parse(r.out).profile, "standard");
    await stop("outsider-agent");
  });
});
