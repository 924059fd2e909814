/**
 * The bypass is the SA's, not the address's (issue 14 item 3). On top of the article's lab
 * (`postern lab up`), a NAT namespace joins the switch at 198.18.0.50 and hides two domain
 * members behind it: natxp (10.77.0.2, in `trusted`) and natc2 (10.77.0.3, not). server1
 * sees both as 198.18.0.50. With a bypass set of addresses, natxp's admission let natc2 in
 * too; bound to the SA, natxp is served and natc2 is blocked, and server1's pfirewall.log
 * shows natc2's SYN dropped. Everything made here is recorded in the lab's state, so
 * `postern lab down` removes it (namespaces, agents).
 */
import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { posternArgv, startDaemon } from "../../src/lab/run.js";
import { hostHome, type LabState, loadLabState, saveLabState } from "../../src/lab/state.js";
import { ESP_NULL_SIGN } from "../../src/lab/up.js";
import { BIN, needsRoot, runBin, tempHome } from "../helpers/cli.js";

const NAT_OUTSIDE = "198.18.0.50";
const SERVER1 = "198.18.0.20";
const BEHIND = [
  { name: "natxp", address: "10.77.0.2", trusted: true },
  { name: "natc2", address: "10.77.0.3", trusted: false },
] as const;

function sh(args: string[], input?: string): string {
  const r = spawnSync(args[0] as string, args.slice(1), {
    encoding: "utf8",
    input,
    timeout: 60_000,
  });
  assert.equal(r.status, 0, `${args.join(" ")}: ${r.stderr}`);
  return r.stdout;
}

/** The NAT and the two hosts behind it, on the lab's switch. */
function buildNat(home: string, s: LabState): void {
  const ns = (n: string) => `${s.id}-${n}`;
  const nat = ns("nat");
  for (const n of [nat, ...BEHIND.map((b) => ns(b.name))]) {
    s.namespaces.push(n);
    saveLabState(home, s);
    sh(["ip", "netns", "add", n]);
    sh(["ip", "-n", n, "link", "set", "lo", "up"]);
  }
  const sw = ns("sw");
  sh(["ip", "-n", sw, "link", "add", "v-nat", "type", "veth", "peer", "eth0", "netns", nat]);
  sh(["ip", "-n", sw, "link", "set", "v-nat", "master", "br0", "up"]);
  sh(["ip", "-n", nat, "addr", "add", `${NAT_OUTSIDE}/24`, "dev", "eth0"]);
  sh(["ip", "-n", nat, "link", "set", "eth0", "up"]);
  sh(["ip", "-n", nat, "link", "add", "br1", "type", "bridge"]);
  sh(["ip", "-n", nat, "addr", "add", "10.77.0.1/24", "dev", "br1"]);
  sh(["ip", "-n", nat, "link", "set", "br1", "up"]);
  for (const b of BEHIND) {
    const port = `v-${b.name}`;
    sh(["ip", "-n", nat, "link", "add", port, "type", "veth", "peer", "eth0", "netns", ns(b.name)]);
    sh(["ip", "-n", nat, "link", "set", port, "master", "br1", "up"]);
    sh(["ip", "-n", ns(b.name), "addr", "add", `${b.address}/24`, "dev", "eth0"]);
    sh(["ip", "-n", ns(b.name), "link", "set", "eth0", "up"]);
    // The only way out of the hidden network is the NAT (a namespace this test made).
    sh(["ip", "-n", ns(b.name), "route", "add", "default", "via", "10.77.0.1"]);
  }
  sh(["ip", "netns", "exec", nat, "sysctl", "-qw", "net.ipv4.ip_forward=1"]);
  sh(
    ["ip", "netns", "exec", nat, "nft", "-f", "-"],
    `table ip natlab {
  chain post { type nat hook postrouting priority srcnat; policy accept; oifname "eth0" masquerade; }
}\n`,
  );
}

describe("bypass bound to the SA: two hosts behind one NAT", needsRoot(), () => {
  const home = tempHome("labnat");
  let s: LabState;
  const inNs = (host: string, args: string[], timeoutMs = 60_000) => {
    const r = spawnSync(
      "ip",
      ["netns", "exec", `${s.id}-${host}`, process.execPath, BIN, ...args],
      { encoding: "utf8", timeout: timeoutMs },
    );
    return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
  };
  const fetchFrom = (host: string, ms: number): { served: boolean } =>
    JSON.parse(
      inNs(host, ["lab", "fetch", `http://${SERVER1}/`, "--timeout-ms", `${ms}`], ms + 10_000).out,
    );
  const pfirewallLog = () => {
    const f = path.join(hostHome(s, "server1"), "firewall", "pfirewall.log");
    return fs.existsSync(f) ? fs.readFileSync(f, "utf8") : "";
  };
  const natDrops = () =>
    pfirewallLog()
      .split("\n")
      .filter((l) => new RegExp(`DROP TCP ${NAT_OUTSIDE} ${SERVER1} \\d+ 80 `).test(l)).length;

  before(async () => {
    // AH signs the addresses a NAT rewrites: behind a NAT the article's "sign" is ESP-NULL.
    const up = runBin(["--home", home.dir, "lab", "up", "--sign", "esp-null"]);
    assert.equal(up.code, 0, up.err);
    s = loadLabState(home.dir) as LabState;
    buildNat(home.dir, s);
    const dc = hostHome(s, "dc1");
    for (const b of BEHIND) {
      const add = runBin(["--home", dc, "domain", "computer", "add", b.name, "--join-token"]);
      assert.equal(add.code, 0, add.err);
      const token = /join token\s+(\S+)/.exec(add.out)?.[1];
      assert.ok(token, add.out);
      if (b.trusted) {
        const g = runBin([
          "--home",
          dc,
          "net",
          "group",
          "trusted",
          `${b.name}$`,
          "/add",
          "/domain",
        ]);
        assert.equal(g.code, 0, g.err);
      }
      const h = hostHome(s, b.name);
      const join = inNs(b.name, [
        "--home",
        h,
        "join",
        "--domain",
        "bigfirm.com",
        "--dc",
        "198.18.0.10",
        "--name",
        b.name,
        "--token",
        token,
        "--address",
        b.address,
      ]);
      assert.equal(join.code, 0, join.err);
      const script = path.resolve(path.dirname(BIN), "../../../examples/article-client.netsh");
      const cfg = runBin(["--home", h, "netsh", "-f", script]);
      assert.equal(cfg.code, 0, cfg.err);
      const esp = runBin(["--home", h, ...ESP_NULL_SIGN]);
      assert.equal(esp.code, 0, esp.err);
      await startDaemon(s, home.dir, {
        name: `${b.name}-agent`,
        ns: `${s.id}-${b.name}`,
        argv: [...posternArgv(), "--home", h, "agent", "--address", b.address],
        ready: /agent: ready/,
        timeoutMs: 30_000,
      });
    }
  });
  after(() => {
    runBin(["--home", home.dir, "lab", "down"]);
    home.cleanup();
  });

  it("natxp (trusted) is served; natc2 (not trusted), same address at server1, is blocked", () => {
    assert.equal(fetchFrom("natxp", 10_000).served, true, "natxp, in trusted, is served");
    const dropsBefore = natDrops();
    assert.equal(fetchFrom("natc2", 6_000).served, false, "natc2 is not let in by natxp's SA");
    // What the article's administrator reads: server1's firewall dropped natc2's SYNs
    // (same source address as natxp's admitted packets, but not carried by natxp's SA).
    assert.ok(natDrops() > dropsBefore, `pfirewall.log:\n${pfirewallLog().slice(-2000)}`);
    // server1's agent decided per IKE SA: one admitted, one not, both from 198.18.0.50.
    const agentLog = fs.readFileSync(path.join(s.dir, "server1-agent.log"), "utf8");
    assert.match(agentLog, /bypass: 198\.18\.0\.50 admitted .*NATXP\$/);
    assert.match(agentLog, /bypass: 198\.18\.0\.50 not admitted: NATC2\$/);
    // natxp is still served while natc2's SA exists.
    assert.equal(fetchFrom("natxp", 10_000).served, true, "natxp still served");
  });
});
