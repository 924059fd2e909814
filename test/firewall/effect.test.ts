/**
 * As root, in a namespace: a settings command takes effect at once; the rules outlive the
 * process that applied them (fail closed); `postern firewall log` writes pfirewall.log
 * from real dropped and accepted traffic.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { pathToFileURL } from "node:url";
import { main } from "../../src/cli/main.js";
import { BIN, needsRoot, runBin, tempHome } from "../helpers/cli.js";
import { ADDR, SERVER4, SERVER_TUN } from "./cases.js";
import { createTopology, inNs, type PeerProc, startPeer, type Topology } from "./netns.js";

async function waitFor(what: string, check: () => boolean, ms = 8000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe("firewall as root: immediate effect, fail closed, pfirewall.log", needsRoot(), () => {
  let topo: Topology;
  let b: PeerProc;
  let a: PeerProc;
  let home: { dir: string; cleanup: () => void };
  const children: number[] = [];
  const fw = (...args: string[]) =>
    runBin(["--home", home.dir, "netsh", "firewall", ...args], { env: { POSTERN_NETNS: topo.a } });
  const tcp = async (port: number) =>
    (await b.probe({ op: "tcp", host: SERVER4, port, local: ADDR.peer, timeoutMs: 600 })).ok;

  before(async () => {
    topo = createTopology();
    home = tempHome("pfwroot");
    a = await startPeer(topo.a, ["tcp=80,81"]);
    b = await startPeer(topo.b, ["tcp=7000"]);
  });
  after(() => {
    for (const pid of children) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // gone
      }
    }
    a?.stop();
    b?.stop();
    topo?.cleanup();
    home?.cleanup();
  });

  it("netsh firewall commands apply at once; opmode disable opens, enable closes", async () => {
    assert.equal(await tcp(80), true, "no firewall yet");
    assert.equal(fw("set", "opmode", "enable").code, 0);
    assert.match(inNs(topo.a, ["nft", "list", "chain", "inet", "postern", "input"]), /policy drop/);
    assert.equal(await tcp(80), false);
    const r = fw("add", "portopening", "TCP", "80", "Web");
    assert.equal(r.code, 0, r.err);
    assert.doesNotMatch(r.out, /not applied/);
    assert.equal(await tcp(80), true);
    assert.equal(await tcp(81), false);
    const state = fw("show", "state");
    assert.match(state.out, /Rules loaded\s+= Yes \(table inet postern matches these settings\)/);
    const asUser = await main(
      ["--home", home.dir, "netsh", "firewall", "set", "icmpsetting", "8"],
      {
        out() {},
        err() {},
        vars: {},
        isRoot: false,
        cwd: "/",
      },
    );
    assert.equal(asUser, 0);
    const st2 = runBin(["--home", home.dir, "--json", "netsh", "firewall", "show", "state"], {
      env: { POSTERN_NETNS: topo.a },
    });
    assert.equal(JSON.parse(st2.out).rulesLoaded, "stale", "saved without root: not applied yet");
    assert.equal(fw("set", "opmode", "disable").code, 0);
    assert.match(
      inNs(topo.a, ["nft", "list", "chain", "inet", "postern", "input"]),
      /policy accept/,
    );
    assert.equal(await tcp(81), true);
    assert.equal(fw("set", "opmode", "enable").code, 0);
    assert.equal(await tcp(81), false);
    assert.equal(fw("delete", "portopening", "TCP", "80").code, 0);
    assert.equal(await tcp(80), false);
  });

  it("postern firewall peer add|list|remove edits the bypass set, which lets no address through", async () => {
    const peer = (...args: string[]) =>
      runBin(["--home", home.dir, "--json", "firewall", "peer", ...args], {
        env: { POSTERN_NETNS: topo.a },
      });
    const viaTun = async () =>
      (await b.probe({ op: "tcp", host: SERVER_TUN, port: 81, local: ADDR.peer, timeoutMs: 600 }))
        .ok;
    assert.equal(await viaTun(), false);
    assert.equal(peer("add", ADDR.peer, "120").code, 0);
    const listed = JSON.parse(peer("list").out) as { address: string; expiresSec: number }[];
    assert.equal(listed[0]?.address, ADDR.peer);
    assert.ok((listed[0]?.expiresSec ?? 0) > 0 && (listed[0]?.expiresSec ?? 0) <= 120);
    // The bypass is bound to the SA that carried a packet (the agent's bypass device), not
    // to a source address: an address in the set gets nothing on the TUN, nor in cleartext.
    assert.equal(await viaTun(), false, "an address in the set is not let through on the TUN");
    assert.equal(await tcp(81), false, "the same address in cleartext is still dropped");
    assert.equal(peer("remove", ADDR.peer).code, 0);
    assert.deepEqual(JSON.parse(peer("list").out), []);
    const bad = peer("add", "10.31.1.300");
    assert.equal(bad.code, 1);
    assert.match(bad.err, /bypass peer: '10\.31\.1\.300' is not an IP address/);
  });

  it("the table stays when the process that applied it is killed (SIGKILL): port still closed", async () => {
    const sdir = path.join(home.dir, "killed");
    const code = `
      const { main } = await import(${JSON.stringify(pathToFileURL(BIN).href)});
      const c = await main(["--home", ${JSON.stringify(sdir)}, "netsh", "firewall", "add", "portopening", "TCP", "80", "Web"],
        { out() {}, err: (t) => process.stderr.write(t), vars: { POSTERN_NETNS: ${JSON.stringify(topo.a)} }, isRoot: true, cwd: "/" });
      process.stdout.write("applied " + c + "\\n");
      setInterval(() => {}, 1000);`;
    const child = spawn(process.execPath, ["--input-type=module", "-e", code], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    children.push(child.pid as number);
    let out = "";
    child.stdout.on("data", (d) => {
      out += String(d);
    });
    await waitFor("the child to apply", () => out.includes("applied 0"));
    const before_ = inNs(topo.a, ["nft", "list", "table", "inet", "postern"]);
    const exited = new Promise((r) => child.once("exit", (_c, sig) => r(sig)));
    process.kill(child.pid as number, "SIGKILL");
    assert.equal(await exited, "SIGKILL");
    assert.equal(inNs(topo.a, ["nft", "list", "table", "inet", "postern"]), before_);
    assert.equal(await tcp(81), false, "port 81 still closed after the applier died");
    assert.equal(await tcp(80), true, "the exception it applied still works");
  });

  it("postern firewall log writes DROP and OPEN lines for real traffic (NFLOG)", async () => {
    assert.equal(fw("set", "logging", "droppedpackets=enable", "connections=enable").code, 0);
    const logFile = path.join(home.dir, "firewall", "pfirewall.log");
    const child = spawn(
      "ip",
      ["netns", "exec", topo.a, process.execPath, BIN, "--home", home.dir, "firewall", "log"],
      {
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    children.push(child.pid as number);
    let err = "";
    child.stderr.on("data", (d) => {
      err += String(d);
    });
    await waitFor("the logger to start", () => err.includes("writing"));
    assert.equal(fw("add", "portopening", "TCP", "80", "Web").code, 0);
    assert.equal(await tcp(81), false);
    assert.equal(await tcp(80), true);
    const has = (re: RegExp) => fs.existsSync(logFile) && re.test(fs.readFileSync(logFile, "utf8"));
    const drop = / DROP TCP 10\.31\.1\.2 10\.31\.1\.1 \d+ 81 60 S \d+ 0 \d+ - - - RECEIVE\n/;
    const open = / OPEN TCP 10\.31\.1\.2 10\.31\.1\.1 \d+ 80 - - - - - - - - -\n/;
    await waitFor("DROP and OPEN lines", () => has(drop) && has(open));
    const exited = new Promise((r) => child.once("exit", (c) => r(c)));
    process.kill(child.pid as number, "SIGTERM");
    assert.equal(await exited, 0);
    const text = fs.readFileSync(logFile, "utf8");
    assert.ok(
      text.startsWith(
        "#Version: 1.5\n#Software: postern Windows Firewall\n#Time Format: Local\n#Fields: date time action",
      ),
    );
    for (const line of text.split("\n").filter((l) => l && !l.startsWith("#"))) {
      assert.match(line, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d (DROP|OPEN) /);
      assert.equal(line.split(" ").length, 17, line);
    }
  });
});
