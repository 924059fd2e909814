/**
 * `netsh firewall set service|notifications|multicastbroadcastresponse`, `reset` and their
 * `show` (issue 17 item 5), as an administrator uses them: the command loads the rules into
 * a namespace the test made (POSTERN_NETNS), and a peer in a second namespace finds the
 * service's ports open or closed for real (TCP connects, UDP echoes).
 */
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import { after, before, describe, it } from "node:test";
import { needsRoot, runBin, tempHome } from "../helpers/cli.js";
import { createTopology, type PeerProc, startPeer, type Topology } from "./netns.js";

const SERVER = "10.31.1.1";
const PEER = "10.31.1.2";
const PEER_ALT = "10.31.1.3";
const DROP_WAIT_MS = 600;

describe("netsh firewall services, reset: real nftables in a namespace", needsRoot(), () => {
  let topo: Topology;
  let a: PeerProc;
  let b: PeerProc;
  const home = tempHome("pfwsvc");
  const fw = (...args: string[]) => {
    const r = runBin(["--home", home.dir, "netsh", "firewall", ...args], {
      env: { POSTERN_NETNS: topo.a },
    });
    assert.equal(r.code, 0, `${args.join(" ")}: ${r.err}`);
    return r.out;
  };
  const showJson = (what: string) => {
    const r = runBin(["--home", home.dir, "--json", "netsh", "firewall", "show", what], {
      env: { POSTERN_NETNS: topo.a },
    });
    assert.equal(r.code, 0, r.err);
    return JSON.parse(r.out);
  };
  const reach = async (op: "tcp" | "udp", port: number, local = PEER) =>
    (await b.probe({ op, host: SERVER, port, local, timeoutMs: DROP_WAIT_MS })).ok;

  before(async () => {
    topo = createTopology();
    a = await startPeer(topo.a, ["tcp=3389,445,139,2869,135,49151,49152,65535", "udp=137,1900"]);
    b = await startPeer(topo.b, []);
    fw("set", "opmode", "mode=ENABLE");
  });
  after(() => {
    a?.stop();
    b?.stop();
    topo?.cleanup();
    home.cleanup();
  });

  it("out of the box every service is closed, notifications and multicast response on", async () => {
    assert.equal(await reach("tcp", 3389), false);
    assert.equal(await reach("tcp", 445), false);
    const s = showJson("service");
    assert.deepEqual(
      s.services.map((x: { type: string; enabled: boolean }) => [x.type, x.enabled]),
      [
        ["FILEANDPRINT", false],
        ["REMOTEADMIN", false],
        ["REMOTEDESKTOP", false],
        ["UPNP", false],
      ],
    );
    assert.equal(showJson("notifications").notifications, true);
    assert.equal(showJson("multicastbroadcastresponse").multicastBroadcastResponse, true);
  });

  it("set service REMOTEDESKTOP opens TCP 3389 only", async () => {
    fw("set", "service", "REMOTEDESKTOP", "ENABLE");
    assert.equal(await reach("tcp", 3389), true);
    assert.equal(await reach("tcp", 445), false);
    assert.match(fw("show", "service"), /Enable\s+No\s+Remote Desktop/);
  });

  it("REMOTEADMIN: TCP 135, 445 and the RPC dynamic range 49152-65535 (Samba's), not 49151", async () => {
    fw("set", "service", "REMOTEADMIN", "ENABLE");
    for (const port of [135, 445, 49152, 65535])
      assert.equal(await reach("tcp", port), true, `${port}`);
    assert.equal(await reach("tcp", 49151), false, "below the range");
    const nft = spawnSync(
      "ip",
      ["netns", "exec", topo.a, "nft", "list", "chain", "inet", "postern", "input"],
      {
        encoding: "utf8",
      },
    );
    assert.match(nft.stdout, /tcp dport \{ 135, 445, 3389, 49152-65535 \} accept/);
    assert.match(
      fw("show", "service"),
      /Enable\s+No\s+Remote Administration\n(?:.*\n){2}\s+49152-65535 TCP/,
    );
    fw("set", "service", "REMOTEADMIN", "DISABLE");
    assert.equal(await reach("tcp", 49152), false);
    assert.equal(await reach("tcp", 135), false);
  });

  it("FILEANDPRINT with a custom scope: UDP 137, TCP 139/445 from that address only", async () => {
    fw(
      "set",
      "service",
      "type=FILEANDPRINT",
      "mode=ENABLE",
      "scope=CUSTOM",
      `addresses=${PEER_ALT}`,
    );
    assert.equal(await reach("tcp", 445, PEER_ALT), true);
    assert.equal(await reach("tcp", 139, PEER_ALT), true);
    assert.equal(await reach("udp", 137, PEER_ALT), true);
    assert.equal(await reach("tcp", 445, PEER), false);
    assert.match(fw("show", "service"), /Enable\s+Yes\s+File and Printer Sharing/);
  });

  it("set service ALL: UPnP (TCP 2869, UDP 1900) and Remote Administration (TCP 135) too", async () => {
    fw("set", "service", "type=ALL", "mode=ENABLE", "scope=ALL");
    assert.equal(await reach("tcp", 2869), true);
    assert.equal(await reach("udp", 1900), true);
    assert.equal(await reach("tcp", 135), true);
    assert.equal(await reach("tcp", 445), true);
  });

  it("exceptions disabled (opmode exceptions=DISABLE) close the services as well", async () => {
    fw("set", "opmode", "mode=ENABLE", "exceptions=DISABLE");
    assert.equal(await reach("tcp", 3389), false);
    fw("set", "opmode", "mode=ENABLE", "exceptions=ENABLE");
    assert.equal(await reach("tcp", 3389), true);
  });

  it("set notifications and multicastbroadcastresponse are saved and shown per profile", () => {
    fw("set", "notifications", "DISABLE");
    fw("set", "multicastbroadcastresponse", "mode=DISABLE", "profile=ALL");
    assert.equal(showJson("notifications").notifications, false);
    assert.match(
      fw("show", "multicastbroadcastresponse"),
      /Multicast\/broadcast response mode\s+= Disable/,
    );
    const bad = runBin([
      "--home",
      home.dir,
      "netsh",
      "firewall",
      "set",
      "notifications",
      "mode=maybe",
    ]);
    assert.notEqual(bad.code, 0);
    assert.match(bad.err, /mode: expected ENABLE or DISABLE/);
  });

  it("multicastbroadcastresponse: a unicast answer to this host's broadcast query passes for 3 s with ENABLE, never with DISABLE", async () => {
    // B answers each datagram to its sender by unicast from its own address; "late" after 4 s.
    const responder = spawn(
      "ip",
      [
        "netns",
        "exec",
        topo.b,
        "python3",
        "-c",
        "import socket,time\nu=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\nu.bind(('0.0.0.0',7400))\nprint('up',flush=True)\nfor _ in range(20):\n  d,a=u.recvfrom(100)\n  if d==b'late': time.sleep(4)\n  u.sendto(b'answer',a)",
      ],
      { stdio: ["ignore", "pipe", "inherit"] },
    );
    // A queries the subnet's broadcast address from port 7401 and waits for an answer.
    const query = (payload: string, waitSec: number) =>
      spawnSync(
        "ip",
        [
          "netns",
          "exec",
          topo.a,
          "python3",
          "-c",
          `import socket\ns=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\ns.setsockopt(socket.SOL_SOCKET,socket.SO_BROADCAST,1)\ns.bind(('0.0.0.0',7401))\ns.settimeout(${waitSec})\nif '${payload}': s.sendto(b'${payload}',('10.31.1.255',7400))\ntry:\n  d,a=s.recvfrom(100); print('answer from',a[0])\nexcept socket.timeout: print('timeout')`,
        ],
        { encoding: "utf8", timeout: 15_000 },
      ).stdout.trim();
    try {
      await new Promise((r) => responder.stdout.once("data", r));
      fw("set", "multicastbroadcastresponse", "mode=DISABLE");
      assert.equal(query("q", 1.5), "timeout", "DISABLE: the answer is dropped");
      fw("set", "multicastbroadcastresponse", "mode=ENABLE");
      assert.equal(query("q", 1.5), "answer from 10.31.1.2");
      const nft = spawnSync(
        "ip",
        ["netns", "exec", topo.a, "nft", "list", "table", "inet", "postern"],
        {
          encoding: "utf8",
        },
      ).stdout;
      assert.match(
        nft,
        /fib daddr type \{ broadcast, multicast \} update @mbr_resp \{ meta l4proto \. udp sport \}/,
      );
      assert.match(nft, /meta l4proto \. th dport @mbr_resp accept/);
      assert.equal(query("late", 6), "timeout", "an answer after the 3-second window is dropped");
      // A unicast datagram to that port with no query before it is not an answer.
      // (B sends 0.5 s after it starts, while A listens without having asked.)
      const stray = spawn("ip", [
        "netns",
        "exec",
        topo.b,
        "python3",
        "-c",
        "import socket,time\ntime.sleep(0.5)\nsocket.socket(socket.AF_INET,socket.SOCK_DGRAM).sendto(b'x',('10.31.1.1',7401))",
      ]);
      assert.equal(query("", 1.5), "timeout", "unsolicited: dropped");
      await new Promise((r) => (stray.exitCode === null ? stray.once("exit", r) : r(null)));
    } finally {
      responder.kill("SIGKILL");
      await new Promise((r) => responder.once("exit", r));
    }
  });

  it("reset restores Windows' defaults: services closed, the rules reloaded", async () => {
    fw("add", "portopening", "TCP", "139", "Old");
    fw("reset");
    assert.equal(await reach("tcp", 3389), false);
    assert.equal(await reach("tcp", 139), false);
    const s = showJson("config");
    assert.deepEqual(s.profiles.standard.services, {});
    assert.deepEqual(s.profiles.standard.portOpenings, []);
    assert.equal(s.profiles.standard.notifications, true);
    assert.equal(s.profiles.domain.multicastBroadcastResponse, true);
    const extra = runBin(["--home", home.dir, "netsh", "firewall", "reset", "now"]);
    assert.notEqual(extra.code, 0, "reset takes no argument");
  });

  it("allowedprogram: the ports a running binary listens on are opened, re-read at each apply", async () => {
    const python = fs.realpathSync("/usr/bin/python3");
    const listener = spawn(
      "ip",
      [
        "netns",
        "exec",
        topo.a,
        python,
        "-c",
        "import socket,time\nt=socket.socket()\nt.bind(('0.0.0.0',7300))\nt.listen()\nu=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\nu.bind(('0.0.0.0',7301))\nprint('up',flush=True)\ntime.sleep(60)",
      ],
      { stdio: ["ignore", "pipe", "inherit"] },
    );
    try {
      await new Promise((r) => listener.stdout.once("data", r));
      assert.equal(await reach("tcp", 7300), false, "closed before the program is allowed");
      fw("add", "allowedprogram", "program=/usr/bin/python3", "name=Python listener");
      assert.equal(await reach("tcp", 7300), true);
      const shown = showJson("allowedprogram").allowedPrograms;
      assert.equal(shown[0].program, python, "the link is resolved to the binary /proc shows");
      assert.deepEqual(shown[0].listening, { tcp: [7300], udp: [7301] });
      assert.match(
        fw("show", "allowedprogram"),
        /Enable\s+Python listener .*\n\s+listening now: TCP 7300, UDP 7301/,
      );
    } finally {
      listener.kill("SIGKILL");
      await new Promise((r) => listener.once("exit", r));
    }
    const apply = runBin(["--home", home.dir, "firewall", "apply"], {
      env: { POSTERN_NETNS: topo.a },
    });
    assert.equal(apply.code, 0, apply.err);
    const rules = spawnSync(
      "ip",
      ["netns", "exec", topo.a, "nft", "list", "table", "inet", "postern"],
      {
        encoding: "utf8",
      },
    ).stdout;
    assert.doesNotMatch(rules, /7300/, "the program gone, its port is closed at the next apply");
    const win = runBin([
      "--home",
      home.dir,
      "netsh",
      "firewall",
      "add",
      "allowedprogram",
      "C:\\app.exe",
      "App",
    ]);
    assert.notEqual(win.code, 0);
    assert.match(win.err, /Windows path/);
    fw("delete", "allowedprogram", "/usr/bin/python3");
    assert.deepEqual(showJson("allowedprogram").allowedPrograms, []);
  });
});
