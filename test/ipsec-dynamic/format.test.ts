/**
 * `netsh ipsec dynamic show ...` against fake agent answers: the 2003-shaped text, the
 * netsh tags (all, srcaddr=, format=table, type=), --json records, and the one-line error
 * when no agent answers. Also the monitor core (src/agent/monitor.ts) on fake sources.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { after, describe, it } from "node:test";
import { tempHome } from "../helpers/cli.js";
import {
  createMonitor,
  type MmSaView,
  type QmSaView,
  type StatsView,
} from "../../src/agent/monitor.js";
import type { CliEnv } from "../../src/cmdline/env.js";
import { PosternError } from "../../src/errors.js";
import type { ControlReplies } from "../../src/control/protocol.js";
import type { MonitorCommand } from "../../src/agent/monitor.js";
import { type AgentRequest, createIpsecDynamic } from "../../src/netsh/ipsec-dynamic/index.js";

const MM: MmSaView = {
  spis: "0011223344556677_8899aabbccddeeff",
  cookies: { initiator: "0011223344556677", responder: "8899aabbccddeeff" },
  local: "192.0.2.1",
  remote: "192.0.2.2",
  remotePort: 4500,
  natT: true,
  state: "established",
  initiator: true,
  peer: "Peer#1",
  peerId: "host/xp.bigfirm.test@BIGFIRM.TEST",
  auth: "kerberos",
  identity: {
    method: "kerberos",
    principal: "host/xp.bigfirm.test@BIGFIRM.TEST",
    userSid: "S-1-5-21-1-2-3-1104",
    groupSids: ["S-1-5-21-1-2-3-515"],
  },
  encryption: "AES_GCM_16_256",
  integrity: "NONE",
  prf: "PRF_HMAC_SHA2_256",
  dh: "ECP_256",
  lifetimeSec: 28800,
  ageSec: 12,
  childSas: 1,
};
const QM: QmSaView = {
  ikeSa: MM.spis,
  peer: "Peer#1",
  local: "192.0.2.1",
  remote: "192.0.2.2",
  protocol: "esp",
  mode: "transport",
  udpEncap: true,
  spiIn: "0xc0000001",
  spiOut: "0xc0000002",
  transform: "aes128gcm16",
  localSelectors: ["192.0.2.1"],
  remoteSelectors: ["192.0.2.2"],
  bytesIn: 1234,
  packetsIn: 10,
  bytesOut: 4321,
  packetsOut: 11,
  lifetimeSec: 3600,
  lifetimeKb: 100000,
  ageSec: 5,
};
const STATS: StatsView = {
  time: "2026-11-27T09:00:00.000Z",
  ike: { sas: { established: 1 }, drops: { bad_auth: 2, no_proposal: 0 } },
  datapath: {
    info: { packets_in: 10, packets_out: 11, sas: 2 },
    drops: { inbound: { replay: 3, bad_icv: 0 }, outbound: { no_sa: 1 } },
  },
  acquire: { acquire_started: 1, acquire_flushed: 1 },
};

const ANSWERS: Partial<ControlReplies> & { [C in MonitorCommand]: ControlReplies[C] } = {
  mmsas: [MM],
  qmsas: [QM],
  dstats: STATS,
  mmfilter: [
    { rule: "Peer", src: "192.0.2.1", dst: "192.0.2.2", auth: ["kerberos", "psk"], weight: 3 },
  ],
  qmfilter: [
    {
      rule: "Peer",
      filterlist: "Peer",
      src: "192.0.2.1",
      dst: "192.0.2.2",
      protocol: 6,
      srcPort: 0,
      dstPort: 80,
      mirrored: true,
      direction: "as-written",
      action: "negotiate",
      filteraction: "Protect",
      weight: 7,
    },
  ],
};

async function run(
  args: string[],
  json = false,
  answers: Partial<ControlReplies> = ANSWERS,
  home = "/nonexistent",
) {
  const out: string[] = [];
  const err: string[] = [];
  const asked: string[] = [];
  const sent: unknown[] = [];
  const env: CliEnv = {
    home,
    json,
    out: (t) => out.push(t),
    err: (t) => err.push(t),
    vars: {},
    isRoot: false,
    cwd: "/",
  };
  const request: AgentRequest = async (_home, cmd, a) => {
    asked.push(cmd);
    sent.push(a);
    // A fake agent's canned answers; the real one is checked by decodeReply.
    return answers[cmd] as ControlReplies[typeof cmd];
  };
  const handler = createIpsecDynamic(request);
  await handler(args, env);
  return { text: out.join("\n"), err: err.join("\n"), asked, sent };
}

describe("netsh ipsec dynamic show (formatting, fake agent)", () => {
  it("show mmsas lists cookies, sec methods, auth mode, peer identity and SIDs", async () => {
    const { text, asked } = await run(["show", "mmsas"]);
    assert.deepEqual(asked, ["mmsas"]);
    assert.match(text, /^Main Mode SAs\n-{78}\n/);
    assert.match(text, /Cookie Pair\s+: 0011223344556677:8899aabbccddeeff/);
    assert.match(text, /Sec Methods\s+: AES_GCM_16_256\/NONE\/PRF_HMAC_SHA2_256\/ECP_256\/28800/);
    assert.match(text, /Auth Mode\s+: Kerberos/);
    assert.match(text, /Destination\s+: 192\.0\.2\.2, port 4500/);
    assert.match(text, /User SID\s+: S-1-5-21-1-2-3-1104/);
    assert.match(text, /Group SIDs\s+: S-1-5-21-1-2-3-515/);
    assert.match(text, /1 Main Mode SA\(s\)\./);
  });

  it("show qmsas: transform, SPIs, bytes each way; format=table is one row per SA", async () => {
    const list = await run(["sh", "qms", "all"]);
    assert.match(list.text, /Transport Filter/);
    assert.match(list.text, /ESP\s+: aes128gcm16/);
    assert.match(list.text, /Bytes in \/ out\s+: 1234 \/ 4321/);
    const t = await run(["show", "qmsas", "format=table"]);
    const lines = t.text.split("\n");
    assert.match(lines[2] ?? "", /^Me\s+Peer\s+Mode\s+Offer Used/);
    assert.match(
      lines[4] ?? "",
      /^192\.0\.2\.1\s+192\.0\.2\.2\s+transport\s+ESP aes128gcm16\s+0xc0000001\/0xc0000002\s+1234\s+4321$/,
    );
  });

  it("srcaddr=/dstaddr= filter the SAs; no match prints 'No ... SA(s).'", async () => {
    const { text } = await run(["show", "mmsas", "dstaddr=198.51.100.9"]);
    assert.match(text, /No Main Mode SA\(s\)\./);
  });

  it("show stats: counters and non-zero drops by reason; type=ike leaves IPsec out", async () => {
    const all = await run(["show", "stats"]);
    assert.match(all.text, /IKE Main Mode Statistics/);
    assert.match(all.text, /bad_auth\s+: 2/);
    assert.doesNotMatch(all.text, /no_proposal/);
    assert.match(all.text, /IPSec drops by reason \(inbound\)\n-+\nreplay\s+: 3/);
    assert.match(all.text, /acquire_started\s+: 1/);
    const ike = await run(["show", "stats", "type=ike"]);
    assert.doesNotMatch(ike.text, /IPSec/);
  });

  it("show qmfilter / mmfilter: src/dst/protocol/ports/mirrored/action/weight; name= selects", async () => {
    const q = await run(["show", "qmfilter"]);
    assert.match(
      q.text,
      /Peer\s+192\.0\.2\.1\s+192\.0\.2\.2\s+TCP\s+\*\s+80\s+yes\s+negotiate\s+7/,
    );
    const none = await run(["show", "qmfilter", "name=Other"]);
    assert.match(none.text, /No Quick Mode Filter\(s\)\./);
    const m = await run(["show", "mmfilter"]);
    assert.match(m.text, /Kerberos, Preshared key/);
  });

  it("--json prints the records as the agent gave them; show all asks for everything", async () => {
    const { text } = await run(["show", "qmsas"], true);
    assert.deepEqual(JSON.parse(text), [QM]);
    const all = await run(["show", "all"], true);
    assert.deepEqual(Object.keys(JSON.parse(all.text)), [
      "mmfilter",
      "qmfilter",
      "mmsas",
      "qmsas",
      "stats",
    ]);
  });

  it("bad input: unknown object, bad format=, unknown tag are usage errors (exit 2)", async () => {
    for (const args of [
      ["show", "sas"],
      ["show", "mmsas", "format=wide"],
      ["show", "qmsas", "bogus=1"],
      ["add", "rule"],
    ]) {
      await assert.rejects(
        run(args),
        (e: unknown) => e instanceof PosternError && e.exitCode === 2,
        args.join(" "),
      );
    }
  });

  it("the agent's unavailability propagates as the request's one-line error", async () => {
    const handler = createIpsecDynamic(async () => {
      throw new PosternError(
        "agent-not-running",
        "no IPsec agent is running (/x/agent/agent.sock)",
      );
    });
    const env = {
      home: "/x",
      json: false,
      out: () => undefined,
      err: () => undefined,
      vars: {},
      isRoot: false,
      cwd: "/",
    };
    await assert.rejects(
      async () => handler(["show", "mmsas"], env),
      /^PosternError: no IPsec agent is running/,
    );
  });
});

describe("netsh ipsec dynamic set|show config, delete, help (fake agent)", () => {
  const home = tempHome("pdyncfg");
  after(() => home.cleanup());
  const CONFIG = {
    ipsecdiagnostics: 0,
    ikelogging: 1,
    strongcrlcheck: 1,
    ipsecloginterval: 3600,
    ipsecexempt: 3,
  };

  it("show config without a file: Windows Server 2003's defaults, in its layout", async () => {
    const { text, asked } = await run(["show", "config"], false, {}, home.dir);
    assert.deepEqual(asked, [], "read from the store, no agent needed");
    assert.match(text, /^IPsec Configuration Parameters\n-+\n/);
    assert.match(text, /IKE Logging\s+: 0\n/);
    assert.match(text, /StrongCRLCheck\s+: 1\n/);
    assert.match(text, /IPsec Log Interval\s+: 3600\n/);
    assert.match(text, /IPsec Exempt\s+: 3$/);
  });

  it("set config stores the value (tag prefixes, positional) and asks the agent to re-read", async () => {
    const r = await run(
      ["set", "config", "prop=IKELogging", "value=1"],
      false,
      { config: CONFIG },
      home.dir,
    );
    assert.deepEqual(r.asked, ["config"]);
    const j = await run(["sh", "conf"], true, {}, home.dir);
    assert.equal(JSON.parse(j.text).ikelogging, 1);
    await run(["set", "config", "ipsecloginterval", "600"], false, { config: CONFIG }, home.dir);
    const t = await run(["show", "config"], false, {}, home.dir);
    assert.match(t.text, /IPsec Log Interval\s+: 600\n/);
    assert.match(t.text, /IKE Logging\s+: 1\n/);
  });

  it("ranges as Windows checks them; unsupported values say what postern does; nothing stored", async () => {
    const file = path.join(home.dir, "ipsec", "dynamic-config.json");
    const before = fs.readFileSync(file, "utf8");
    const cases: [string[], RegExp][] = [
      [["ikelogging", "2"], /^set config: ikelogging takes an integer 0-1, not '2'$/],
      [["ipsecloginterval", "59"], /takes an integer 60-86400, not '59'/],
      [["strongcrlcheck", "x"], /strongcrlcheck takes an integer 0-2, not 'x'/],
      [
        ["ipsecexempt", "0"],
        /ipsecexempt=0 is not supported \(only 3\): postern exempts IKE alone/,
      ],
      [["ipsecdiagnostics", "7"], /ipsecdiagnostics=7 is not supported \(only 0\)/],
      [["bootmode", "1"], /property bootmode: postern has no boot-time driver mode/],
      [["loglevel", "1"], /property 'loglevel' is not one of ipsecdiagnostics\|ikelogging/],
    ];
    for (const [[p, v], want] of cases) {
      await assert.rejects(
        run(["set", "config", `property=${p}`, `value=${v}`], false, { config: CONFIG }, home.dir),
        (e: unknown) =>
          e instanceof PosternError &&
          e.exitCode === 2 &&
          want.test(e.message) &&
          !e.message.includes("\n"),
        `${p}=${v}`,
      );
    }
    assert.equal(fs.readFileSync(file, "utf8"), before);
  });

  it("delete mmsas|qmsas|all pass kind and addresses to the agent's delete-sas", async () => {
    const answers = { "delete-sas": { deletedIkeSas: ["a_b"], deletedChildSas: ["0x1", "0x2"] } };
    const mm = await run(["delete", "mmsas", "dst=192.0.2.2"], false, answers);
    assert.deepEqual(mm.sent, [{ kind: "mm", dst: "192.0.2.2" }]);
    assert.equal(mm.text, "Deleted 1 main mode SAs.");
    const qm = await run(["del", "qm", "all"], false, answers);
    assert.deepEqual(qm.sent, [{ kind: "qm" }]);
    assert.equal(qm.text, "Deleted 2 quick mode SAs.");
    const all = await run(["delete", "all"], true, answers);
    assert.deepEqual(all.sent, [{ kind: "mm" }]);
    assert.deepEqual(JSON.parse(all.text).deletedIkeSas, ["a_b"]);
  });

  it("help and ? at the context, verb and command levels", async () => {
    for (const args of [["help"], ["?"], ["/?"]]) {
      const { text, asked } = await run(args);
      assert.match(text, /^The following commands are available:/);
      assert.match(text, /set config \[property=\]ipsecdiagnostics\|ikelogging/);
      assert.deepEqual(asked, []);
    }
    const verb = await run(["delete", "?"]);
    assert.match(verb.text, /^Usage: delete mmsas/);
    assert.match(verb.text, /Usage: delete all/);
    assert.doesNotMatch(verb.text, /show stats/);
    const cmd = await run(["set", "config", "?"]);
    assert.match(cmd.text, /^Usage: set config \[property=\]/);
    const h = await run(["help", "show", "qmsas"]);
    assert.match(h.text, /^Usage: show qmsas \[all\]/);
    assert.deepEqual(h.asked, []);
  });
});

describe("agent monitor core (fake sources)", () => {
  it("joins child SAs with the data path's per-SA counters and ages them by the clock", () => {
    const sel = (a: number[]) => ({
      tsType: 7,
      ipProtocol: 0,
      startPort: 0,
      endPort: 65535,
      startAddr: Buffer.from(a),
      endAddr: Buffer.from(a),
    });
    const m = createMonitor({
      now: () => 10_000,
      localAddress: "192.0.2.1",
      ikeSas: () => [],
      ikeDrops: () => ({}),
      establishedAtMs: () => undefined,
      children: () => [
        {
          installedAtMs: 4_000,
          record: {
            ikeSa: "a_b",
            peerName: "p",
            local: { address: "192.0.2.1", port: 4500 },
            remote: { address: "192.0.2.2", port: 4500 },
            protocol: "esp",
            mode: "transport",
            udpEncap: true,
            spiIn: 0xc1,
            spiOut: 0xc2,
            tsLocal: [sel([192, 0, 2, 1])],
            tsRemote: [sel([192, 0, 2, 2])],
            lifetimeSec: 3600,
            lifetimeKb: 0,
          } as never,
        },
      ],
      data: () =>
        ({
          drops: {},
          info: {},
          sas: [
            {
              spi: "0x000000c1",
              direction: "in",
              transform: "aes128gcm16",
              bytes: 100,
              packets: 2,
            },
            {
              spi: "0x000000c2",
              direction: "out",
              transform: "aes128gcm16",
              bytes: 300,
              packets: 3,
            },
          ],
        }) as never,
      acquire: () => ({}),
      spd: { filters: () => [] } as never,
      ruleAuth: () => [],
    });
    const [q] = m.qmsas();
    assert.equal(q?.bytesIn, 100);
    assert.equal(q?.bytesOut, 300);
    assert.equal(q?.ageSec, 6);
    assert.deepEqual(q?.localSelectors, ["192.0.2.1"]);
  });
});
