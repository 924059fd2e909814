/**
 * The persistent store applied by the agent (issue 17 item 6), postern to postern in two
 * namespaces. A protects its traffic with B (PSK). B's *persistent* store holds the policy
 * that protects B <-> A; B's *local* store has another policy assigned, whose only rule
 * is for an address that is not there. B's agent applies the persistent rules first: A's
 * ping flows through an SA. Then B's local policy changes (unassigned: nothing local any
 * more) and the agent reloads: the persistent rules stay, the next SA comes up the same.
 */
import assert from "node:assert/strict";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { requestControl } from "../../src/control/socket.js";
import { cli, needsRoot } from "../helpers/cli.js";
import { ADDR_A, ADDR_B, createLab, established, type Lab, p2pPolicy } from "./lab.js";

const QM = "ESP[AES128,SHA256]";
const PSK = "boot secret";

/** B: the persistent store protects B <-> A; the local store protects B <-> 198.51.100.9. */
function persistentAndLocal(): string[][] {
  const local = p2pPolicy("198.51.100.9", QM, "other secret").map((l) =>
    l.map((w) => w.replace("P2P", "Local").replace("=Peer", "=Other").replace("Protect", "Guard")),
  );
  return [
    ["set", "store", "location=persistent"],
    ...p2pPolicy(ADDR_A, QM, PSK),
    ["set", "store", "location=local"],
    ...local,
  ];
}

describe("the persistent policy applied first and kept (two namespaces)", needsRoot(), () => {
  let lab: Lab;
  before(() => {
    lab = createLab("pps");
  });
  after(() => lab?.destroy());

  it("B's persistent rule protects A's traffic beside B's local policy, and after it changes", async () => {
    const homeA = await lab.home("a", p2pPolicy(ADDR_B, QM, PSK));
    const homeB = await lab.home("b", persistentAndLocal());
    const local = await cli(
      homeB,
      "--json",
      "netsh",
      "ipsec",
      "static",
      "show",
      "gpoassignedpolicy",
    );
    assert.equal(
      JSON.parse(local.out).assigned.name,
      "Local",
      "the local store assigns its own policy",
    );
    const a = await lab.startAgent(lab.nsA, homeA);
    const b = await lab.startAgent(lab.nsB, homeB);
    try {
      assert.match(b.out(), /policy "Local" from the local store/);
      assert.match(b.out(), /policy note: persistent policy "P2P": its rules apply first/);
      const ping = lab.exec(lab.nsA, ["ping", "-c", "3", "-i", "0.3", "-W", "3", ADDR_B], 30_000);
      assert.match(ping.out, /[1-3] received/, ping.out + a.out() + b.out());
      assert.equal(await established(b), 1, "B answered A's IKE with the persistent rule");

      // the local policy goes away; the agent reloads: the persistent rule is still there
      const un = await cli(
        homeB,
        "netsh",
        "ipsec",
        "static",
        "set",
        "policy",
        "name=Local",
        "assign=no",
      );
      assert.equal(un.code, 0, un.err);
      const r = await requestControl(path.join(homeB, "agent", "agent.sock"), "reload", 15_000);
      assert.equal(r.reloaded, true);
      assert.equal(r.policy, "P2P", "the persistent policy applies alone now");
      for (const h of [homeA, homeB]) {
        const d = await cli(h, "agent", "delete-sas");
        assert.equal(d.code, 0, d.err);
      }
      const again = lab.exec(lab.nsA, ["ping", "-c", "3", "-i", "0.3", "-W", "3", ADDR_B], 30_000);
      assert.match(again.out, /[1-3] received/, again.out + b.out());
      assert.equal(await established(b), 1, "a new SA with the persistent rule");
    } finally {
      assert.equal(await lab.stopAgent(a), 0);
      assert.equal(await lab.stopAgent(b), 0);
    }
  });
});
