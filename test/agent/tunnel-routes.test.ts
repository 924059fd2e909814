/**
 * Tunnel rules install routes (issue 17 item 3), as strongSwan's install_routes: two
 * postern agents in namespaces A and B, each a gateway for an inner network on a veth
 * pair of its own (10.233.1.1/24 on A, 10.233.2.1/24 on B), tunnel rules between the
 * networks, and NO route to the other side's network on either host. The agents add
 * `10.233.x.0/24 dev postern0 src 10.233.y.1 proto 116`, a ping between the inner
 * addresses goes through the tunnel, and the route goes when the rule is deleted (reload)
 * and when the agent stops; an administrator's own route to the network is left alone.
 * Plus the pure part (which routes, which are skipped) without root.
 */
import assert from "node:assert/strict";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { planRoutes, tunnelRoutesOf } from "../../src/agent/tunnel-routes.js";
import { requestControl } from "../../src/control/socket.js";
import { cli, needsRoot, uniqueName } from "../helpers/cli.js";
import { ADDR_A, ADDR_B, type Agent, createLab, type Lab } from "./lab.js";

const PSK = "tunnel routes secret";
const NET_A = "10.233.1.0/24";
const NET_B = "10.233.2.0/24";
const INNER_A = "10.233.1.1";
const INNER_B = "10.233.2.1";

function tunnelPolicy(local: string, remote: string, endpoint: string): string[][] {
  const [la, lm] = local.split("/");
  const [ra, rm] = remote.split("/");
  return [
    ["add", "policy", "name=Gw"],
    ["add", "filterlist", "name=Nets"],
    [
      "add",
      "filter",
      "filterlist=Nets",
      `srcaddr=${la}`,
      `srcmask=${lm}`,
      `dstaddr=${ra}`,
      `dstmask=${rm}`,
      "mirrored=no",
    ],
    ["add", "filteraction", "name=Tun", "action=negotiate", "qmsecmethods=ESP[AES128,SHA256]"],
    [
      "add",
      "rule",
      "name=Gw",
      "policy=Gw",
      "filterlist=Nets",
      "filteraction=Tun",
      `tunnel=${endpoint}`,
      "kerberos=no",
      `psk=${PSK}`,
    ],
    ["set", "policy", "name=Gw", "assign=yes"],
  ];
}

describe("tunnel routes: which routes a tunnel rule asks for", () => {
  it("the remote prefixes, with our address inside the local side as source", () => {
    assert.deepEqual(tunnelRoutesOf([NET_B], [NET_A], ["192.0.2.1", INNER_A], "192.0.2.1"), [
      { prefix: NET_B, src: INNER_A },
    ]);
  });
  it("no address of ours inside the local side: the tunnel endpoint is the source", () => {
    assert.deepEqual(tunnelRoutesOf([NET_B], [NET_A], ["192.0.2.1"], "192.0.2.1"), [
      { prefix: NET_B, src: "192.0.2.1" },
    ]);
  });
  it("an existing route to the network or inside it wins; a default route does not", () => {
    const want = [{ prefix: NET_B, src: INNER_A }];
    const def = [{ dst: "default", dev: "eth0", protocol: "static" }];
    assert.deepEqual(planRoutes(want, def).add, want);
    const same = planRoutes(want, [{ dst: NET_B, dev: "eth0", protocol: "static" }]);
    assert.deepEqual(same.add, []);
    assert.match(same.skipped[0]?.because ?? "", /10\.233\.2\.0\/24 dev eth0/);
    const host = planRoutes(want, [{ dst: "10.233.2.7", dev: "eth1", protocol: "boot" }]);
    assert.deepEqual(host.add, []);
    const wider = planRoutes(want, [{ dst: "10.233.0.0/16", dev: "eth1", protocol: "boot" }]);
    assert.deepEqual(wider.add, want);
  });
  it("our routes no rule wants any more are removed; the ones still wanted stay", () => {
    const ours = [
      { dst: NET_B, dev: "postern0", protocol: "116", prefsrc: INNER_A },
      { dst: "10.233.9.0/24", dev: "postern0", protocol: "116", prefsrc: INNER_A },
    ];
    const p = planRoutes([{ prefix: NET_B, src: INNER_A }], ours);
    assert.deepEqual(p.add, []);
    assert.deepEqual(p.del, ["10.233.9.0/24"]);
  });
});

describe(
  "tunnel routes: postern agents as gateways, no route to the remote network",
  needsRoot(),
  () => {
    let lab: Lab;
    const agents: Agent[] = [];
    let homeA = "";
    const routesOf = (ns: string) =>
      lab.exec(ns, ["ip", "-4", "route", "show", "table", "main"]).out;

    before(async () => {
      lab = createLab("ptr");
      // Each gateway's inner network: a veth pair inside its namespace (the agent takes
      // the addresses of non-loopback interfaces as its own).
      for (const [ns, addr] of [
        [lab.nsA, INNER_A],
        [lab.nsB, INNER_B],
      ] as const) {
        const [i0, i1] = [uniqueName("ptri"), uniqueName("ptrj")];
        for (const args of [
          ["ip", "link", "add", i0, "type", "veth", "peer", "name", i1],
          ["ip", "addr", "add", `${addr}/24`, "dev", i0],
          ["ip", "link", "set", i0, "up"],
          ["ip", "link", "set", i1, "up"],
        ])
          assert.equal(lab.exec(ns, args).code, 0, args.join(" "));
      }
      homeA = await lab.home("gw-a", tunnelPolicy(NET_A, NET_B, ADDR_B));
      const homeB = await lab.home("gw-b", tunnelPolicy(NET_B, NET_A, ADDR_A));
      assert.doesNotMatch(routesOf(lab.nsA), /10\.233\.2\./, "no route to B's network before");
      agents.push(await lab.startAgent(lab.nsA, homeA, ["--address", ADDR_A]));
      agents.push(await lab.startAgent(lab.nsB, homeB, ["--address", ADDR_B]));
    });
    after(async () => {
      for (const a of agents) await lab.stopAgent(a);
      lab?.destroy();
    });

    it("each agent routes the other network into its TUN, from its inner address", () => {
      assert.match(
        routesOf(lab.nsA),
        /10\.233\.2\.0\/24 dev postern0 proto 116 scope link src 10\.233\.1\.1/,
      );
      assert.match(
        routesOf(lab.nsB),
        /10\.233\.1\.0\/24 dev postern0 proto 116 scope link src 10\.233\.2\.1/,
      );
      assert.match(
        agents[0]?.out() ?? "",
        /tunnel route 10\.233\.2\.0\/24 dev postern0 src 10\.233\.1\.1 installed/,
      );
    });

    it("traffic flows between the inner networks, through the tunnel", async () => {
      const ping = lab.exec(lab.nsA, ["ping", "-c", "3", "-i", "0.3", "-W", "3", INNER_B], 30_000);
      assert.match(ping.out, /[23] received/, ping.out + ping.err + agents[0]?.out());
      const st = await cli(homeA, "--json", "agent", "stats");
      const sas = (
        JSON.parse(st.out) as { sas: { direction: string; mode: string; packets: number }[] }
      ).sas;
      const out = sas.find((s) => s.direction === "out");
      assert.equal(out?.mode, "tunnel");
      assert.ok((out?.packets ?? 0) >= 2, st.out);
    });

    it("the rule deleted (and the agent told), the route goes", async () => {
      const d = await cli(
        homeA,
        "netsh",
        "ipsec",
        "static",
        "delete",
        "rule",
        "name=Gw",
        "policy=Gw",
      );
      assert.equal(d.code, 0, d.err);
      const r = await requestControl(path.join(homeA, "agent", "agent.sock"), "reload", 15_000);
      assert.equal(r.reloaded, true);
      assert.doesNotMatch(routesOf(lab.nsA), /10\.233\.2\.0\/24/);
      assert.match(agents[0]?.out() ?? "", /tunnel route 10\.233\.2\.0\/24 removed/);
    });

    it("the agent stopped, its routes go; an administrator's route is never touched", async () => {
      assert.equal(
        lab.exec(lab.nsB, ["ip", "route", "add", "10.233.7.0/24", "via", ADDR_A]).code,
        0,
      );
      const b = agents.pop() as Agent;
      assert.equal(await lab.stopAgent(b), 0);
      const left = routesOf(lab.nsB);
      assert.doesNotMatch(left, /10\.233\.1\.0\/24/);
      assert.match(left, /10\.233\.7\.0\/24 via 192\.0\.2\.1/);
    });
  },
);
