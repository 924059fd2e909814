/**
 * The trace's pure core (src/explain/trace.ts) on the article's cells, with the agent's
 * answers written out as the agent gives them. The same cells run live in test/lab/
 * explain.test.ts; these cover the branches a lab cannot reach cheaply (no agent, psk,
 * "don't allow exceptions", a port opening, --peer, a blocking rule).
 */
import * as assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { BypassEntry, MmSaView } from "../../src/control/protocol.js";
import { defaultSettings, type FirewallSettings } from "../../src/firewall/model.js";
import type { Flow } from "../../src/explain/flow.js";
import type { PolicyStep } from "../../src/explain/policy-step.js";
import { type AgentView, buildTrace, type TraceInput } from "../../src/explain/trace.js";
import type { Action } from "../../src/policy/evaluate.js";

const ME = "198.18.0.20";
const TRUSTED = "S-1-5-21-1-2-3-1105";
const XP_SID = "S-1-5-21-1-2-3-1107";
const C2_SID = "S-1-5-21-1-2-3-1108";
const USERS = "S-1-5-21-1-2-3-515";

function policy(action: Action, inpass = false): PolicyStep {
  const named = action !== "none";
  return {
    explanation: {
      action,
      policy: "Secure website",
      rule: named ? "Web" : null,
      filterlist: named ? "Web from anyone" : null,
      filteraction: named ? "Sign" : null,
      filter: null,
      weight: named ? 517 : null,
      reason: named ? "the only matching filter" : "no filter matches",
      matches: [],
      notes: [],
    },
    source: "local",
    gpo: null,
    me: [ME],
    filterAction: named ? { inpass, soft: false } : null,
    auth: ["kerberos"],
    defaultResponse: { active: true, auth: ["kerberos"] },
  };
}

function sa(address: string, principal: string, sids: string[], initiator = false): MmSaView {
  return {
    spis: `${address}_spis`,
    cookies: { initiator: "a", responder: "b" },
    local: ME,
    remote: address,
    remotePort: 4500,
    natT: false,
    state: "established",
    initiator,
    peer: "rule",
    peerId: null,
    auth: "kerberos",
    identity: { method: "kerberos", principal, userSid: sids[0], groupSids: sids.slice(1) },
    encryption: null,
    integrity: "HMAC_SHA2_256_128",
    prf: null,
    dh: null,
    lifetimeSec: 28800,
    ageSec: 3,
    childSas: 1,
  };
}

function decision(address: string, principal: string, by: string | null, why: string) {
  const d: BypassEntry = {
    address,
    principal,
    authorizedBy: by,
    why,
    spis: `${address}_spis`,
    since: "2026-12-06T00:00:00.000Z",
  };
  return d;
}

function serverSettings(): FirewallSettings {
  const s = defaultSettings();
  s.bypass = [{ sid: TRUSTED, name: "trusted" }];
  return s;
}

const web = (src: string, dst = ME): Flow => ({
  src,
  dst,
  protocol: 6,
  srcPort: 40000,
  dstPort: 80,
});

function input(over: Partial<TraceInput>): TraceInput {
  return {
    flow: web("198.18.0.30"),
    peerMode: false,
    me: [ME],
    policy: policy("negotiate"),
    agent: { running: true, sas: [], bypass: [] },
    firewall: serverSettings(),
    localSubnets: ["198.18.0.0/24"],
    names: new Map([
      [TRUSTED, "trusted"],
      [USERS, "Domain Computers"],
    ]),
    domain: "BIGFIRM",
    domainDns: "bigfirm.com",
    peerName: null,
    self: "XPCLIENT$",
    ...over,
  };
}

const xpAgent: AgentView = {
  running: true,
  sas: [sa("198.18.0.30", "XPCLIENT$@BIGFIRM.COM", [XP_SID, USERS, TRUSTED])],
  bypass: [decision("198.18.0.30", "XPCLIENT$@BIGFIRM.COM", TRUSTED, "XPCLIENT$ is in trusted")],
};
const c2Agent: AgentView = {
  running: true,
  sas: [sa("198.18.0.31", "CLIENT2$@BIGFIRM.COM", [C2_SID, USERS])],
  bypass: [
    decision("198.18.0.31", "CLIENT2$@BIGFIRM.COM", null, "holds no SID of the bypass list"),
  ],
};

const verdicts = (t: ReturnType<typeof buildTrace>) =>
  Object.fromEntries(t.steps.map((s) => [s.step, s.verdict]));

describe("postern explain: the trace", () => {
  it("xpclient in trusted: admitted by the entry trusted; flip: leave trusted, then purge", () => {
    const t = buildTrace(input({ agent: xpAgent }));
    assert.equal(t.schema, "postern.explain/1");
    assert.equal(t.direction, "inbound");
    assert.deepEqual(verdicts(t), {
      policy: "negotiate",
      sa: "established",
      groups: "verified",
      bypass: "admitted",
      guard: "pass",
      firewall: "accept",
    });
    assert.equal(t.verdict, "allowed");
    assert.deepEqual(
      t.identity?.sids.map((s) => s.name),
      [null, "Domain Computers", "trusted"],
    );
    assert.equal(t.flip?.change, "remove XPCLIENT$ from BIGFIRM\\trusted, then purge its tickets");
    assert.deepEqual(t.flip?.commands, [
      {
        host: "a domain controller",
        command: "postern net group trusted XPCLIENT$ /delete /domain",
      },
      { host: "xpclient", command: "postern klist --machine purge" },
    ]);
  });

  it("client2 not in trusted: the firewall drops; flip: join trusted, then purge", () => {
    const t = buildTrace(input({ flow: web("198.18.0.31"), agent: c2Agent }));
    assert.equal(t.verdict, "blocked");
    assert.equal(t.decidedBy, "firewall");
    assert.equal(verdicts(t).bypass, "not-admitted");
    assert.match(t.steps.find((s) => s.step === "bypass")?.source ?? "", /nearest entry trusted/);
    assert.match(
      t.steps.find((s) => s.step === "firewall")?.source ?? "",
      /no exception for TCP 80/,
    );
    assert.equal(t.flip?.change, "add CLIENT2$ to BIGFIRM\\trusted, then purge its tickets");
  });

  it("client2 with a port opening for its address: allowed by the opening; flip: delete it", () => {
    const fw = serverSettings();
    fw.profiles.standard.portOpenings.push({
      protocol: "tcp",
      port: 80,
      name: "Web-client2",
      enabled: true,
      scope: "custom",
      addresses: ["198.18.0.31"],
    });
    const t = buildTrace(input({ flow: web("198.18.0.31"), agent: c2Agent, firewall: fw }));
    assert.equal(t.verdict, "allowed");
    assert.match(
      t.steps.at(-1)?.source ?? "",
      /port opening TCP 80 "Web-client2" \(scope CUSTOM 198\.18\.0\.31\)/,
    );
    assert.equal(
      t.flip?.commands[0]?.command,
      "postern netsh firewall delete portopening protocol=TCP port=80",
    );
    // "Don't allow exceptions" closes it again
    fw.profiles.standard.exceptions = false;
    const closed = buildTrace(input({ flow: web("198.18.0.31"), agent: c2Agent, firewall: fw }));
    assert.equal(closed.verdict, "blocked");
    assert.match(closed.steps.at(-1)?.source ?? "", /Don't allow exceptions/);
  });

  it("outsider: no SA, cleartext dropped by the guard; with inpass the firewall decides", () => {
    const t = buildTrace(input({ flow: web("198.18.0.40") }));
    assert.equal(t.verdict, "blocked");
    assert.equal(t.decidedBy, "guard");
    assert.equal(verdicts(t).sa, "none");
    assert.match(t.flip?.change ?? "", /give 198\.18\.0\.40 a Kerberos identity in the domain/);
    const inpass = buildTrace(
      input({ flow: web("198.18.0.40"), policy: policy("negotiate", true) }),
    );
    assert.equal(verdicts(inpass).guard, "pass");
    assert.equal(inpass.decidedBy, "firewall");
    assert.equal(inpass.verdict, "blocked");
    assert.match(inpass.flip?.change ?? "", /open TCP 80 to 198\.18\.0\.40/);
  });

  it("a peer that authenticated with psk has no groups; a blocking rule decides before anything", () => {
    const psk = sa("198.18.0.31", "peer", []);
    psk.auth = "psk";
    psk.identity = { method: "psk", principal: "198.18.0.31" };
    const agent: AgentView = { running: true, sas: [psk], bypass: [] };
    const t = buildTrace(input({ flow: web("198.18.0.31"), agent }));
    assert.equal(verdicts(t).groups, "none");
    assert.match(t.steps.find((s) => s.step === "groups")?.detail ?? "", /authenticated by psk/);
    const blocked = buildTrace(input({ flow: web("198.18.0.31"), agent, policy: policy("block") }));
    assert.equal(blocked.verdict, "blocked");
    assert.equal(blocked.decidedBy, "policy");
    assert.match(blocked.flip?.change ?? "", /rule "Web" blocks this flow/);
  });

  it("no agent: the SA, groups and bypass steps say so; the stores still answer", () => {
    const agent: AgentView = { running: false, why: "no IPsec agent answers" };
    const t = buildTrace(input({ agent }));
    assert.equal(verdicts(t).sa, "unknown");
    assert.equal(verdicts(t).groups, "unknown");
    assert.equal(verdicts(t).guard, "drop");
  });

  it("--peer: an admitted peer reaches every port; another only its openings", () => {
    const any: Flow = { src: "198.18.0.30", dst: ME, protocol: 0, srcPort: 0, dstPort: 0 };
    const t = buildTrace(
      input({ flow: any, peerMode: true, agent: xpAgent, policy: policy("none") }),
    );
    assert.equal(t.verdict, "allowed");
    assert.match(t.steps.at(-1)?.detail ?? "", /every port/);
    const fw = serverSettings();
    fw.profiles.standard.portOpenings.push({
      protocol: "udp",
      port: 53,
      name: "DNS",
      enabled: true,
      scope: "subnet",
      addresses: [],
    });
    const c2: Flow = { ...any, src: "198.18.0.31" };
    const u = buildTrace(
      input({ flow: c2, peerMode: true, agent: c2Agent, policy: policy("none"), firewall: fw }),
    );
    assert.equal(u.verdict, "allowed");
    assert.equal(u.steps.at(-1)?.detail, "only UDP 53");
    assert.equal(u.flip?.change, "add CLIENT2$ to BIGFIRM\\trusted, then purge its tickets");
  });

  it("outbound from xpclient: sealed in the SA this host started, or IKE on the first packet", () => {
    const out = web(ME, "198.18.0.20");
    const flow: Flow = { ...out, src: "198.18.0.30" };
    const mine = sa("198.18.0.20", "host/server1.bigfirm.com@BIGFIRM.COM", [], true);
    const t = buildTrace(
      input({ flow, me: ["198.18.0.30"], agent: { running: true, sas: [mine], bypass: [] } }),
    );
    assert.equal(t.direction, "outbound");
    assert.equal(verdicts(t).steering, "secured");
    assert.match(t.steps.find((s) => s.step === "sa")?.source ?? "", /this host started it/);
    const none = buildTrace(input({ flow, me: ["198.18.0.30"] }));
    assert.equal(verdicts(none).steering, "acquire");
    // the server told us, inside the SA, why it does not admit us
    mine.refusal = { reason: "not-in-bypass-list", group: "trusted", at: "2026-12-06T15:40:00Z" };
    const told = buildTrace(
      input({ flow, me: ["198.18.0.30"], agent: { running: true, sas: [mine], bypass: [] } }),
    );
    assert.equal(told.verdict, "blocked");
    assert.equal(told.decidedBy, "peer");
    assert.match(
      told.steps.at(-1)?.detail ?? "",
      /does not admit us: not-in-bypass-list \(it requires trusted\)/,
    );
    assert.equal(
      told.flip?.change,
      "add XPCLIENT$ to BIGFIRM\\trusted, then purge this host's tickets",
    );
  });
});
