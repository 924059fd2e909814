/**
 * ipseccmd's dynamic mode applied by a real agent (issue 17 item 4), postern to postern in
 * two namespaces. A protects its traffic with B (PSK). B's local store has a policy
 * assigned whose only rule is for an address that is not there. With B's agent running,
 * `postern ipseccmd -f 0+A -n ... -a P:...` (no -w) puts the rule into B's running policy:
 * A's ping flows through an SA, and `ipseccmd show filters` lists `dynamic: ...`. B's agent
 * restarts: the dynamic rule is gone (removed at start, said in the log), no SA comes up.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import { after, before, describe, it } from "node:test";
import { dynamicStorePath } from "../../src/policy/store.js";
import { cli, needsRoot } from "../helpers/cli.js";
import { ADDR_A, ADDR_B, createLab, established, type Lab, p2pPolicy } from "./lab.js";

const QM = "ESP[AES128,SHA256]";
const PSK = "dynsecret";

/** B's local policy: protects B <-> 198.51.100.9 only (nothing about A). */
function otherOnly(): string[][] {
  return p2pPolicy("198.51.100.9", QM, "other secret").map((l) =>
    l.map((w) => w.replace("P2P", "Local").replace("=Peer", "=Other").replace("Protect", "Guard")),
  );
}

describe("ipseccmd dynamic mode in a running agent (two namespaces)", needsRoot(), () => {
  let lab: Lab;
  before(() => {
    lab = createLab("pdy");
  });
  after(() => lab?.destroy());

  it("a dynamic rule answers A's IKE at once; after B's agent restarts it is gone", async () => {
    const homeA = await lab.home("a", p2pPolicy(ADDR_B, QM, PSK));
    const homeB = await lab.home("b", otherOnly());
    const a = await lab.startAgent(lab.nsA, homeA);
    let b = await lab.startAgent(lab.nsB, homeB);
    try {
      const add = await cli(homeB, "ipseccmd", "-f", `0+${ADDR_A}`, "-n", QM, "-a", `P:${PSK}`);
      assert.equal(add.code, 0, add.err);
      assert.match(add.out, /dynamic rule "dynamic: ipseccmd rule 1" added; agent: now running/);
      const shown = await cli(homeB, "ipseccmd", "show", "filters");
      assert.equal(shown.code, 0, shown.err);
      assert.match(shown.out, /dynamic: ipseccmd rule 1/);
      const ping = lab.exec(lab.nsA, ["ping", "-c", "3", "-i", "0.3", "-W", "3", ADDR_B], 30_000);
      assert.match(ping.out, /[1-3] received/, ping.out + a.out() + b.out());
      assert.equal(await established(b), 1, "B answered A's IKE with the dynamic rule");

      // the agent stops and starts again: dynamic policy is lost, as Windows' is
      assert.equal(await lab.stopAgent(b), 0);
      assert.ok(fs.existsSync(dynamicStorePath(homeB)), "the file outlives the agent");
      b = await lab.startAgent(lab.nsB, homeB);
      assert.match(b.out(), /dynamic IPsec policy of the previous agent run removed/);
      assert.equal(fs.existsSync(dynamicStorePath(homeB)), false);
      const after = await cli(homeB, "ipseccmd", "show", "filters");
      assert.equal(after.code, 0, after.err);
      assert.doesNotMatch(after.out, /dynamic:/);
      const again = lab.exec(lab.nsA, ["ping", "-c", "2", "-i", "0.3", "-W", "2", ADDR_B], 30_000);
      assert.match(again.out, / 0 received/, again.out + b.out());
      assert.equal(await established(b), 0, "no rule of B's answers A any more");
    } finally {
      assert.equal(await lab.stopAgent(a), 0);
      assert.equal(await lab.stopAgent(b), 0);
    }
  });
});
