/**
 * ipseccmd's dynamic mode (no -w) without root, against a fake agent (the request function
 * createIpseccmd takes): the rule goes into `<home>/ipsec/dynamic-store.json` and the agent
 * is asked to reload; the effective store has the dynamic rules first (ahead of the
 * persistent ones), or alone; -u deletes them; no agent: refused, nothing written.
 * A real agent answering IKE with a dynamic rule: test/agent/dynamic-store.test.ts.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import { after, describe, it } from "node:test";
import type { CliEnv } from "../../src/cmdline/env.js";
import type { ControlReplies } from "../../src/control/protocol.js";
import { randomBytes } from "../../src/crypto/primitives.js";
import { PosternError } from "../../src/errors.js";
import type { AgentRequest } from "../../src/netsh/ipsec-dynamic/index.js";
import { createIpseccmd } from "../../src/netsh/ipseccmd/index.js";
import { loadEffectiveStore } from "../../src/policy/effective.js";
import {
  dynamicStorePath,
  loadDynamicStore,
  localStorePath,
  persistentStorePath,
} from "../../src/policy/store.js";
import { tempHome } from "../helpers/cli.js";
import { run as netsh, SERVER_SETUP } from "../ipsec-static/helpers.js";

/** A fake agent: records what it was asked; `running` false answers as no agent does. */
function agent(state: { running: boolean; asked: string[] }): AgentRequest {
  return (async (_home: string, command: keyof ControlReplies) => {
    if (!state.running) throw new PosternError("agent-not-running", "no IPsec agent is running");
    state.asked.push(command);
    if (command === "reload") return { reloaded: true, policy: "Secure web", source: "local" };
    return { time: "t", ike: { sas: {}, drops: {} }, datapath: { info: {}, drops: {} } };
  }) as AgentRequest;
}

function ipseccmd(home: string, state: { running: boolean; asked: string[] }) {
  const cmd = createIpseccmd({
    now: () => new Date(0),
    random: randomBytes,
    request: agent(state),
  });
  const lines: string[] = [];
  const env = {
    home,
    json: false,
    out: (t: string) => lines.push(t),
    err: (t: string) => lines.push(t),
    vars: {},
    isRoot: false,
    cwd: "/",
  } as CliEnv;
  return { run: (...argv: string[]) => cmd(argv, env), lines };
}

const effectiveRules = (home: string) =>
  loadEffectiveStore(home)
    .store.policies.find((p) => p.assigned)
    ?.rules.map((r) => r.name);

describe("ipseccmd dynamic mode (no -w)", () => {
  const t = tempHome("icmd-dyn");
  after(t.cleanup);
  const state = { running: false, asked: [] as string[] };

  it("no agent running: refused in one line, nothing written", async () => {
    const c = ipseccmd(t.dir, state);
    await assert.rejects(
      c.run("-f", "0+198.51.100.8", "-n", "ESP[AES128,SHA256]", "-a", "P:secret"),
      /^PosternError: no IPsec agent is running: dynamic mode needs one \(use -w REG to store the policy\)$/,
    );
    assert.equal(fs.existsSync(dynamicStorePath(t.dir)), false);
  });

  it("alone (nothing else assigned): the dynamic policy is the effective one; the agent reloads", async () => {
    state.running = true;
    const c = ipseccmd(t.dir, state);
    assert.equal(
      await c.run("-f", "0+198.51.100.8", "-n", "ESP[AES128,SHA256]", "-a", "P:secret"),
      0,
    );
    assert.deepEqual(state.asked, ["dstats", "reload"], "asked to reload after the write");
    assert.match(c.lines.join("\n"), /dynamic rule "dynamic: ipseccmd rule 1" added; agent: now/);
    assert.equal(fs.existsSync(localStorePath(t.dir)), false, "never in the local store");
    const eff = loadEffectiveStore(t.dir);
    assert.equal(eff.source, "dynamic");
    assert.equal(eff.dynamic, 1);
    const rule = eff.store.policies[0]?.rules[0];
    assert.equal(rule?.auth[0]?.kind, "psk");
    const fa = eff.store.filterActions.find((a) => a.guid === rule?.filterAction);
    assert.equal(fa?.action, "negotiate");
  });

  it("with local and persistent policies: dynamic rules first, then persistent, then local", async () => {
    await netsh(t.dir, ...SERVER_SETUP, ["set", "policy", "name=Secure web", "assign=yes"]);
    await netsh(
      t.dir,
      ["set", "store", "location=persistent"],
      ["add", "filterlist", "name=Admin"],
      ["add", "filter", "filterlist=Admin", "srcaddr=me", "dstaddr=198.51.100.7"],
      ["add", "filteraction", "name=Protect", "action=negotiate"],
      ["add", "policy", "name=Boot"],
      [
        "add",
        "rule",
        "name=Admin",
        "policy=Boot",
        "filterlist=Admin",
        "filteraction=Protect",
        "kerberos=no",
        "psk=boot",
      ],
      ["set", "policy", "name=Boot", "assign=yes"],
      ["set", "store", "location=local"],
    );
    const local = fs.readFileSync(localStorePath(t.dir));
    const persistent = fs.readFileSync(persistentStorePath(t.dir));
    const c = ipseccmd(t.dir, state);
    assert.equal(await c.run("-f", "[0+198.51.100.9]"), 0, "a blocking filter");
    const eff = loadEffectiveStore(t.dir);
    assert.equal(eff.source, "local");
    assert.equal(eff.dynamic, 2);
    assert.deepEqual(effectiveRules(t.dir), [
      "dynamic: ipseccmd rule 1",
      "dynamic: ipseccmd rule 2",
      "persistent: Admin",
      "Web",
    ]);
    const r2 = eff.store.policies.find((p) => p.assigned)?.rules[1];
    assert.equal(eff.store.filterActions.find((a) => a.guid === r2?.filterAction)?.action, "block");
    assert.deepEqual(fs.readFileSync(localStorePath(t.dir)), local, "local store unchanged");
    assert.deepEqual(fs.readFileSync(persistentStorePath(t.dir)), persistent);
  });

  it("a bad rule: one line naming the switch, the dynamic store as it was, no reload", async () => {
    const before = fs.readFileSync(dynamicStorePath(t.dir));
    state.asked = [];
    const c = ipseccmd(t.dir, state);
    await assert.rejects(
      c.run("-f", "0+198.51.100.8:80"),
      /^UsageError: -f: filter '0\+198\.51\.100\.8:80': a port needs protocol TCP or UDP/,
    );
    await assert.rejects(
      c.run("-f", "0+198.51.100.8", "0+198.51.100.8"),
      /^UsageError: -f: the same filter is given twice$/,
    );
    assert.deepEqual(state.asked, ["dstats"], "the agent was not asked to reload");
    assert.deepEqual(fs.readFileSync(dynamicStorePath(t.dir)), before);
  });

  it("-u -confirm: every dynamic policy deleted, the agent reloads; the stored ones apply again", async () => {
    state.asked = [];
    const c = ipseccmd(t.dir, state);
    assert.equal(await c.run("-u", "-confirm"), 0);
    assert.deepEqual(state.asked, ["dstats", "reload"]);
    assert.match(c.lines.join("\n"), /dynamic policies deleted; agent: now running/);
    assert.equal(fs.existsSync(dynamicStorePath(t.dir)), false);
    assert.equal(loadDynamicStore(t.dir).policies.length, 0);
    assert.deepEqual(effectiveRules(t.dir), ["persistent: Admin", "Web"]);
    assert.equal(loadEffectiveStore(t.dir).dynamic, 0);
  });
});
