/**
 * `postern agent` (policy from `netsh ipsec static`, PSK, tunnel rule) against strongSwan
 * 5.9 charon with kernel-libipsec (tunnel mode only, always ESP in UDP 4500, RFC 3948),
 * one per namespace. Inner addresses 10.232.1.1 (postern) and 10.232.2.1 (charon) on lo;
 * ping and TCP between them go through the child SA. postern initiates on the first
 * packet (ACQUIRE) with AES-GCM-16-128, and answers charon's IKE with AES-CBC/SHA-256.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import { after, afterEach, before, describe, it } from "node:test";
import { cli, needsRoot } from "../helpers/cli.js";
import { type Charon, startCharon, waitFor } from "../ike/lab.js";
import { ADDR_A, ADDR_B, type Agent, createLab, type Lab } from "./lab.js";

const PSK = "agent interop secret";
const INNER_A = "10.232.1.1";
const INNER_B = "10.232.2.1";
const PORT = 7200;
const ECHO = `const s=require("net").createServer(c=>c.on("data",d=>c.write(d.toString().toUpperCase())));s.listen(${PORT},"${INNER_B}",()=>console.log("listening"));setTimeout(()=>process.exit(0),60000)`;
const CLIENT = `const total=100000;let got=0;const c=require("net").connect({port:${PORT},host:"${INNER_B}",localAddress:"${INNER_A}"},()=>c.write(Buffer.alloc(total,"tunnel-data ")));let first="";c.on("data",d=>{if(!first)first=d.toString().slice(0,11);got+=d.length;if(got>=total){console.log("ok "+got+" "+first);process.exit(0)}});c.on("error",e=>{console.log("error "+e.message);process.exit(2)});setTimeout(()=>{console.log("timeout "+got);process.exit(3)},15000)`;

async function waitAsync(what: string, cond: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

const SUITES = {
  gcm: {
    mm: "AES128GCM-SHA256-31",
    qm: "ESP[AES128GCM,None]",
    ike: "aes128gcm16-prfsha256-x25519",
    esp: "aes128gcm16",
    want: "AES_GCM_16-128",
  },
  cbc: {
    mm: "AES256-SHA256-14",
    qm: "ESP[AES128,SHA256]",
    ike: "aes256-sha256-modp2048",
    esp: "aes128-sha256",
    want: "AES_CBC-128/HMAC_SHA2_256_128",
  },
  // "Sign" (integrity only, RFC 2410 NULL encryption), the article's ESP-NULL.
  null: {
    mm: "AES256-SHA256-14",
    qm: "ESP[None,SHA256]",
    ike: "aes256-sha256-modp2048",
    esp: "null-sha256",
    want: "NULL/HMAC_SHA2_256_128",
  },
} as const;

function tunnelPolicy(s: (typeof SUITES)[keyof typeof SUITES]): string[][] {
  return [
    ["add", "policy", "name=Tun", `mmsecmethods=${s.mm}`],
    ["add", "filterlist", "name=Inner"],
    [
      "add",
      "filter",
      "filterlist=Inner",
      "srcaddr=10.232.1.0",
      "srcmask=24",
      "dstaddr=10.232.2.0",
      "dstmask=24",
      "mirrored=no",
    ],
    ["add", "filteraction", "name=Tun", "action=negotiate", `qmsecmethods=${s.qm}`],
    [
      "add",
      "rule",
      "name=Tun",
      "policy=Tun",
      "filterlist=Inner",
      "filteraction=Tun",
      `tunnel=${ADDR_B}`,
      "kerberos=no",
      `psk=${PSK}`,
    ],
    ["set", "policy", "name=Tun", "assign=yes"],
  ];
}

describe(
  "postern agent <-> strongSwan 5.9 kernel-libipsec, tunnel mode, ping and TCP",
  needsRoot(),
  () => {
    let lab: Lab;
    let charon: Charon | null = null;
    let agent: Agent | null = null;
    before(() => {
      lab = createLab();
      for (const [ns, addr] of [
        [lab.nsA, INNER_A],
        [lab.nsB, INNER_B],
      ] as const)
        assert.equal(lab.exec(ns, ["ip", "addr", "add", `${addr}/32`, "dev", "lo"]).code, 0);
      // Any route will do: the agent's mark sends the flow to its TUN after the lookup.
      lab.exec(lab.nsA, ["ip", "route", "add", "10.232.2.0/24", "via", ADDR_B, "src", INNER_A]);
    });
    afterEach(async () => {
      if (agent) assert.equal(await lab.stopAgent(agent), 0);
      await charon?.stop();
      agent = null;
      charon = null;
    });
    after(() => lab?.destroy());

    async function charonRoute(c: Charon): Promise<void> {
      // kernel-libipsec reads ipsec0; install_routes is off in the lab's config.
      await waitFor("ipsec0", () => lab.exec(lab.nsB, ["ip", "link", "show", "ipsec0"]).code === 0);
      lab.exec(lab.nsB, ["ip", "link", "set", "ipsec0", "up"]);
      const r = lab.exec(lab.nsB, [
        "ip",
        "route",
        "replace",
        "10.232.1.0/24",
        "dev",
        "ipsec0",
        "src",
        INNER_B,
      ]);
      assert.equal(r.code, 0, r.err + c.log().slice(-2000));
    }

    function traffic(): void {
      const server = lab.spawnIn(lab.nsB, [process.execPath, "-e", ECHO]);
      try {
        const ping = lab.exec(
          lab.nsA,
          ["ping", "-c", "4", "-i", "0.3", "-W", "3", "-I", INNER_A, INNER_B],
          30_000,
        );
        assert.match(
          ping.out,
          /[34] received/,
          ping.out + ping.err + (agent?.out() ?? "") + (charon?.log().slice(-3000) ?? ""),
        );
        const tcp = lab.exec(lab.nsA, [process.execPath, "-e", CLIENT], 30_000);
        assert.match(tcp.out, /^ok 100000 TUNNEL-DATA/, tcp.out + tcp.err);
      } finally {
        server.kill("SIGKILL");
      }
    }

    async function agentStats(a: Agent) {
      const r = await cli(a.home, "--json", "agent", "stats");
      assert.equal(r.code, 0, r.err);
      return JSON.parse(r.out) as {
        sas: { spi: string; direction: string; mode: string; transform: string; packets: number }[];
        acquire: Record<string, number>;
        info: Record<string, number>;
      };
    }

    for (const [suite, role] of [
      ["gcm", "initiator"],
      ["cbc", "responder"],
      ["cbc", "initiator"],
      ["gcm", "responder"],
      ["null", "responder"],
    ] as const) {
      it(`postern as ${role}, ${SUITES[suite].want}: ping and TCP through the tunnel`, async () => {
        const s = SUITES[suite];
        const home = await lab.home(`sw-${suite}-${role}`, tunnelPolicy(s));
        agent = await lab.startAgent(lab.nsA, home, ["--address", ADDR_A]);
        charon = await startCharon(lab.nsB, {
          local: ADDR_B,
          remote: ADDR_A,
          psk: PSK,
          ikeProposal: s.ike,
          espProposal: s.esp,
          localTs: "10.232.2.0/24",
          remoteTs: "10.232.1.0/24",
          startAction: role === "responder" ? "start" : "none",
        });
        await charonRoute(charon);
        const c = charon;
        if (role === "responder")
          await waitFor("charon's child SA", () => /INSTALLED/.test(c.swanctl("--list-sas")));
        traffic();
        const sas = c.swanctl("--list-sas");
        assert.match(sas, /ESTABLISHED/);
        assert.match(sas, /INSTALLED, TUNNEL-in-UDP/);
        assert.match(sas, new RegExp(s.want.replace(/\//g, "\\/")));
        const st = await agentStats(agent);
        const out = st.sas.find((x) => x.direction === "out");
        assert.equal(out?.mode, "tunnel");
        assert.ok((out?.packets ?? 0) > 10, JSON.stringify(st.sas));
        // The 100 kB left in runs of ESP datagrams sent as one UDP GSO message each, and
        // charon (a plain UDP socket) read them as the separate datagrams they are.
        assert.ok((st.info.udp_gso_sends ?? 0) > 0, JSON.stringify(st.info));
        if (role === "initiator") assert.ok((st.acquire.acquire_started ?? 0) >= 1);
        if (suite === "gcm" && role === "responder") {
          // charon rekeys the child SA (RFC 7296 §2.8): the new pair replaces the old one.
          const before = out as { spi: string };
          c.swanctl("--rekey", "--child", "pik");
          await waitAsync("the agent installs the rekeyed SA", async () => {
            const now = await agentStats(agent as Agent);
            const outs = now.sas.filter((x) => x.direction === "out");
            return outs.length === 1 && (outs[0] as { spi: string }).spi !== before.spi;
          });
          traffic();
          const after = await agentStats(agent);
          assert.equal(after.sas.length, 2, "one pair left after the rekey");
          c.swanctl("--terminate", "--child", "pik");
          await waitAsync(
            "charon's delete removes the pair",
            async () => (await agentStats(agent as Agent)).sas.length === 0,
          );
        }
        assert.ok(fs.existsSync(c.dir));
      });
    }
  },
);
