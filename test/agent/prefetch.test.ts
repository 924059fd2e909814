/**
 * The peers whose names and tickets the agent fetches as the policy loads (agent/prefetch.ts):
 * from the article's own scripts, written by `postern netsh -f` as an administrator would.
 */
import assert from "node:assert/strict";
import * as path from "node:path";
import { after, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { knownKerberosPeers } from "../../src/agent/prefetch.js";
import { loadEffectiveStore } from "../../src/policy/effective.js";
import { cli, tempHome } from "../helpers/cli.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");

describe("prefetch: the peers the assigned policy names outright", () => {
  const client = tempHome("pf-cli");
  const server = tempHome("pf-srv");
  after(() => {
    client.cleanup();
    server.cleanup();
  });

  it("xpclient's policy (me -> server1 TCP 80, Kerberos): server1; server1's (any -> me): none", async () => {
    for (const [h, script] of [
      [client, "article-client.netsh"],
      [server, "article-server.netsh"],
    ] as const) {
      const r = await cli(h.dir, "netsh", "-f", path.join(ROOT, "examples", script));
      assert.equal(r.code, 0, r.err);
    }
    const ours = ["198.18.0.30"];
    assert.deepEqual(knownKerberosPeers(loadEffectiveStore(client.dir).store, ours), [
      "198.18.0.20",
    ]);
    // "any": no one to ask for in advance
    assert.deepEqual(knownKerberosPeers(loadEffectiveStore(server.dir).store, ["198.18.0.20"]), []);
  });

  it("nothing without an assigned policy, without Kerberos, or for our own address", async () => {
    const r = await cli(
      client.dir,
      "netsh",
      "ipsec",
      "static",
      "set",
      "policy",
      "name=Secure website (xpclient)",
      "assign=no",
    );
    assert.equal(r.code, 0, r.err);
    assert.deepEqual(knownKerberosPeers(loadEffectiveStore(client.dir).store, []), []);
    const store = loadEffectiveStore(server.dir).store;
    const policy = store.policies[0]!;
    policy.assigned = true;
    for (const rule of policy.rules) rule.auth = [{ kind: "psk", key: "k" }];
    assert.deepEqual(knownKerberosPeers(store, []), []);
  });
});
