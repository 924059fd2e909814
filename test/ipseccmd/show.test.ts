/**
 * `ipseccmd show ...` against a fake monitor (the request function createIpseccmd takes):
 * each word asks the agent the commands docs/ipseccmd.md names and prints their sections.
 * No agent at all is covered through the real binary in article.test.ts.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { CliEnv } from "../../src/cmdline/env.js";
import type { ControlReplies, FilterView, MmFilterView } from "../../src/control/protocol.js";
import type { AgentRequest } from "../../src/netsh/ipsec-dynamic/index.js";
import { createIpseccmd } from "../../src/netsh/ipseccmd/index.js";

const QM: FilterView = {
  rule: "Secure web",
  filterlist: "Secure website (server1): Secure web",
  src: "198.18.0.30",
  dst: "198.18.0.20",
  protocol: 6,
  srcPort: 0,
  dstPort: 80,
  mirrored: true,
  direction: "outbound",
  action: "negotiate",
  filteraction: "Secure website (server1): Secure web",
  weight: 1,
};
const MM: MmFilterView = {
  rule: "Secure web",
  src: "198.18.0.30",
  dst: "198.18.0.20",
  auth: ["kerberos"],
  weight: 1,
};

function fake(asked: string[]): AgentRequest {
  const replies: Partial<ControlReplies> = {
    qmfilter: [QM],
    mmfilter: [MM],
    mmsas: [],
    qmsas: [],
    dstats: {
      time: "t",
      ike: { sas: {}, drops: {} },
      datapath: { info: {}, drops: {} },
      acquire: {},
    },
  };
  return (async (_home: string, command: keyof ControlReplies) => {
    asked.push(command);
    return replies[command];
  }) as AgentRequest;
}

function env(json = false): CliEnv & { text: () => string } {
  let out = "";
  return {
    home: "/nonexistent",
    json,
    out: (t: string) => {
      out += `${t}\n`;
    },
    err: () => undefined,
    vars: {},
    isRoot: false,
    cwd: "/",
    text: () => out,
  } as CliEnv & { text: () => string };
}

async function show(words: string[], json = false) {
  const asked: string[] = [];
  const e = env(json);
  const run = createIpseccmd({
    now: () => new Date(0),
    random: (n) => new Uint8Array(n),
    request: fake(asked),
  });
  const code = await run(["show", ...words], e);
  return { code, asked, out: e.text() };
}

describe("ipseccmd show: query mode on the agent's monitor", () => {
  it("filters: main mode and quick mode filters", async () => {
    const r = await show(["filters"]);
    assert.equal(r.code, 0);
    assert.deepEqual(r.asked, ["mmfilter", "qmfilter"]);
    assert.match(r.out, /198\.18\.0\.20/);
  });

  it("policies: each rule's quick mode policy, its filter action and action", async () => {
    const r = await show(["policies"]);
    assert.deepEqual(r.asked, ["qmfilter"]);
    assert.match(r.out, /Quick Mode Policies/);
    assert.match(r.out, /Secure web\s+: Secure website \(server1\): Secure web \(NEGOTIATE\)/);
  });

  it("auth: the main mode filters' authentication methods", async () => {
    const r = await show(["auth"]);
    assert.deepEqual(r.asked, ["mmfilter"]);
    assert.match(r.out, /Secure web 198\.18\.0\.30 <-> 198\.18\.0\.20\s*: Kerberos/);
  });

  it("stats and sas ask dstats, mmsas and qmsas; all asks everything once per section", async () => {
    assert.deepEqual((await show(["stats"])).asked, ["dstats"]);
    assert.deepEqual((await show(["sas"])).asked, ["mmsas", "qmsas"]);
    const all = await show(["all"]);
    assert.deepEqual(all.asked, [
      "mmfilter",
      "qmfilter",
      "qmfilter",
      "mmfilter",
      "dstats",
      "mmsas",
      "qmsas",
    ]);
    assert.match(all.out, /Main Mode SAs/);
  });

  it("--json: one document keyed by the words asked", async () => {
    const r = await show(["sas", "policy"], true);
    const doc = JSON.parse(r.out) as Record<string, unknown>;
    assert.deepEqual(Object.keys(doc), ["sas", "policies"]);
    assert.deepEqual(doc.policies, [QM]);
  });
});
