/**
 * The default response rule at run time (Windows Server 2003: "answers requests for secure
 * communication when no other rule applies"), postern to postern in two namespaces. A has
 * a rule protecting its traffic to B; B's assigned policy has NO rule, only its default
 * response rule (PSK, ESP[AES128,SHA256]). A's first packet starts IKE; B answers with the
 * default rule's methods, protects the flow A asked for (A <-> B), and steers its replies
 * into the SA for the SA's life. With the default rule deactivated B drops A's
 * IKE_SA_INIT (`no_peer_config`) and nothing flows.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { cli, needsRoot } from "../helpers/cli.js";
import { echoClientScript, echoServerScript, stopChild, waitOutput } from "../helpers/host-pair.js";
import { ADDR_A, ADDR_B, type Agent, createLab, type Lab, p2pPolicy } from "./lab.js";

const TCP_PORT = 7110;
const MARKER = "postern-default-response";

interface Stats {
  drops: { inbound: Record<string, number> };
  sas: { spi: string; direction: string; transform: string; mode: string; packets: number }[];
  ike: {
    drops: Record<string, number>;
    sas: { state: string; peer: string; initiator: boolean }[];
  };
}

async function stats(a: Agent): Promise<Stats> {
  const r = await cli(a.home, "--json", "agent", "stats");
  assert.equal(r.code, 0, r.err);
  return JSON.parse(r.out) as Stats;
}

/** B: a policy with no rule; its default response rule with a PSK and AES-CBC + SHA-256. */
function responderOnly(activate: boolean): string[][] {
  return [
    ["add", "policy", "name=Respond", `activatedefaultrule=${activate ? "yes" : "no"}`],
    [
      "set",
      "defaultrule",
      "policy=Respond",
      "kerberos=no",
      "psk=default secret",
      "qmsecmethods=ESP[AES128,SHA256]",
    ],
    ["set", "policy", "name=Respond", "assign=yes"],
  ];
}

describe(
  "the default response rule answers a peer that asks to negotiate (two namespaces)",
  needsRoot(),
  () => {
    let lab: Lab;
    before(() => {
      lab = createLab("pdr");
    });
    after(() => lab?.destroy());

    it("B has only its default response rule: A's traffic to B flows protected, both ways", async () => {
      // A offers GCM first: the SA's transform (AES-CBC + SHA-256) shows B used its default rule.
      const homeA = await lab.home(
        "a",
        p2pPolicy(ADDR_B, "ESP[AES128GCM,None] ESP[AES128,SHA256]", "default secret"),
      );
      const homeB = await lab.home("b", responderOnly(true));
      const shown = await cli(
        homeB,
        "netsh",
        "ipsec",
        "static",
        "show",
        "rule",
        "default",
        "policy=Respond",
      );
      assert.match(shown.out, /Activated\s+: YES/);
      assert.match(shown.out, /Security Methods\s+: ESP\[AES128,SHA256\]/);
      const a = await lab.startAgent(lab.nsA, homeA);
      const b = await lab.startAgent(lab.nsB, homeB);
      const server = lab.spawnIn(lab.nsB, [process.execPath, "-e", echoServerScript(TCP_PORT)]);
      try {
        assert.ok(await waitOutput(server, "listening", 10_000), "echo server started");
        const ping = lab.exec(lab.nsA, ["ping", "-c", "4", "-i", "0.3", "-W", "3", ADDR_B], 30_000);
        assert.match(ping.out, /[1-4] received/, ping.out + a.out() + b.out());
        const tcp = lab.exec(
          lab.nsA,
          [process.execPath, "-e", echoClientScript(TCP_PORT), MARKER, "50000"],
          30_000,
        );
        assert.equal(tcp.code, 0, tcp.out + tcp.err + b.out());
        assert.match(tcp.out, new RegExp(`^50000 ${MARKER.toUpperCase()}`));
        const sb = await stats(b);
        const ikeB = sb.ike.sas.find((s) => s.state === "established");
        assert.equal(ikeB?.peer, "default-response", JSON.stringify(sb.ike));
        assert.equal(ikeB?.initiator, false);
        const outB = sb.sas.find((s) => s.direction === "out");
        assert.equal(outB?.transform, "aes128-sha256", "the default rule's security method");
        assert.equal(outB?.mode, "transport");
        assert.ok(
          (outB?.packets ?? 0) > 10,
          `B's replies went through the SA: ${JSON.stringify(sb.sas)}`,
        );
        assert.match(
          b.out(),
          new RegExp(`default response rule: protecting ${ADDR_B}/32 <-> ${ADDR_A}/32`),
        );
        const sa = await stats(a);
        const inA = sa.sas.find((s) => s.direction === "in");
        assert.ok((inA?.packets ?? 0) > 10, "A opened B's replies");
        assert.equal(sa.drops.inbound.policy_mismatch ?? 0, 0);
      } finally {
        await stopChild(server);
        assert.equal(await lab.stopAgent(a), 0);
        assert.equal(await lab.stopAgent(b), 0);
      }
    });

    it("the default response rule deactivated: B drops A's IKE_SA_INIT, nothing flows", async () => {
      const homeA = await lab.home("a2", p2pPolicy(ADDR_B, "ESP[AES128,SHA256]", "default secret"));
      const homeB = await lab.home("b2", responderOnly(false));
      const a = await lab.startAgent(lab.nsA, homeA);
      const b = await lab.startAgent(lab.nsB, homeB);
      try {
        const ping = lab.exec(lab.nsA, ["ping", "-c", "2", "-i", "0.5", "-W", "1", ADDR_B], 20_000);
        assert.match(ping.out, / 0 received/, ping.out);
        const sb = await stats(b);
        assert.ok((sb.ike.drops.no_peer_config ?? 0) >= 1, JSON.stringify(sb.ike.drops));
        assert.equal(sb.ike.sas.length, 0);
      } finally {
        assert.equal(await lab.stopAgent(a), 0);
        assert.equal(await lab.stopAgent(b), 0);
      }
    });
  },
);
