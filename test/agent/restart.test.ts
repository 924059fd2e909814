/**
 * A peer's agent restarts (two namespaces, postern to postern, netsh PSK policy on both):
 * A and B have SAs; B's agent is stopped and started again (its SAs are gone, A's are not)
 * and B pings A at once, once a second with a 1 s wait, until a reply comes back.
 *   - B sends INITIAL_CONTACT (the default): A closes its old SAs with B when B's new IKE SA
 *     comes up, its replies go by the new SA: traffic is back in one exchange;
 *   - `--ike-initial-contact no` on B: A keeps answering into the dead SA (the first
 *     installed of two with equal selectors); B receives ESP for an SPI it does not know
 *     and tells A so (INVALID_SPI, RFC 7296 §1.5) inside its new IKE SA: A drops the dead
 *     child SA at once and answers by the new one;
 *   - neither (`--ike-invalid-spi no` on both too, the old behaviour): A answers into the
 *     dead SA until its liveness check (`--ike-liveness 10`, retransmissions 500 ms x 3)
 *     closes it.
 * The times are reported as diagnostics (docs/ike.md "Restarts" records them).
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { cli, needsRoot } from "../helpers/cli.js";
import { ADDR_A, ADDR_B, type Agent, createLab, type Lab, p2pPolicy } from "./lab.js";

// A's liveness check: 10 s of silence, then 0.5 + 1 + 2 s of retransmissions; B's restart
// (stop, start) takes a few seconds, well inside that.
interface Stats {
  sas: { spi: string; direction: string }[];
  ike: { sas: { state: string; spis: string }[] };
}

async function stats(a: Agent): Promise<Stats> {
  const r = await cli(a.home, "--json", "agent", "stats");
  assert.equal(r.code, 0, r.err);
  return JSON.parse(r.out) as Stats;
}

const A_OPTS = ["--ike-liveness", "10", "--ike-retransmit", "500,3"];

describe("the restart options refuse bad values", () => {
  for (const flag of ["--ike-initial-contact", "--ike-invalid-spi"]) {
    it(`${flag} maybe: one line naming the switch, exit 2`, async () => {
      const home = fs.mkdtempSync(path.join(os.tmpdir(), "postern-restart-opt-"));
      try {
        const r = await cli(home, "agent", flag, "maybe");
        assert.equal(r.code, 2);
        assert.equal(r.err.trim(), `postern: ${flag} needs yes or no`);
      } finally {
        fs.rmSync(home, { recursive: true, force: true });
      }
    });
  }
});

describe(
  "restarts with INITIAL_CONTACT and simultaneous starts (two namespaces)",
  needsRoot(),
  () => {
    let lab: Lab;
    before(() => {
      lab = createLab("prs");
    });
    after(() => lab?.destroy());

    /** B pings A once a second (1 s wait each) until one is answered: the seconds it took. */
    function timeToTraffic(): { ms: number; tries: number } {
      const start = Date.now();
      for (let tries = 1; tries <= 40; tries++) {
        const r = lab.exec(lab.nsB, ["ping", "-c", "1", "-W", "1", ADDR_A], 5_000);
        if (/ 1 received/.test(r.out)) return { ms: Date.now() - start, tries };
      }
      return { ms: Number.POSITIVE_INFINITY, tries: 40 };
    }

    // yes: INITIAL_CONTACT; invalid-spi: B restarts without it, A keeps the dead SA and
    // answers into it, B's INVALID_SPI makes A drop it; old: neither (the old behaviour).
    const variants = [
      { name: "yes", b: ["--ike-initial-contact", "yes"], a: [] },
      { name: "invalid-spi", b: ["--ike-initial-contact", "no"], a: [] },
      {
        name: "old",
        b: ["--ike-initial-contact", "no", "--ike-invalid-spi", "no"],
        a: ["--ike-invalid-spi", "no"],
      },
    ] as const;
    for (const v of variants) {
      it(`B restarts: ${v.name === "yes" ? "with INITIAL_CONTACT" : v.name === "invalid-spi" ? "without INITIAL_CONTACT, A recovers by B's INVALID_SPI" : "with neither INITIAL_CONTACT nor INVALID_SPI (the old behaviour)"}`, async (t) => {
        const homeA = await lab.home(
          `a-${v.name}`,
          p2pPolicy(ADDR_B, "ESP[AES128GCM,None]", "restart"),
        );
        const homeB = await lab.home(
          `b-${v.name}`,
          p2pPolicy(ADDR_A, "ESP[AES128GCM,None]", "restart"),
        );
        const a = await lab.startAgent(lab.nsA, homeA, [...A_OPTS, ...v.a]);
        let b: Agent = await lab.startAgent(lab.nsB, homeB, [...v.b]);
        try {
          const first = lab.exec(lab.nsA, ["ping", "-c", "2", "-W", "3", ADDR_B], 20_000);
          assert.match(first.out, / [12] received/, first.out + a.out());
          assert.equal(await lab.stopAgent(b), 0);
          b = await lab.startAgent(lab.nsB, homeB, [...v.b]);
          const back = timeToTraffic();
          t.diagnostic(`time to traffic after B's restart: ${back.ms} ms (${back.tries} pings)`);
          // The pings ran synchronously: let A's log lines reach us.
          await new Promise((r) => setTimeout(r, 300));
          assert.ok(Number.isFinite(back.ms), `B never reached A again:\n${a.out()}`);
          if (v.name === "yes") {
            assert.match(a.out(), /INITIAL_CONTACT from 192\.0\.2\.2: closing its 1 older IKE SA/);
            assert.doesNotMatch(
              a.out(),
              /did not answer INFORMATIONAL/,
              "no liveness check needed",
            );
            assert.equal(back.tries, 1, "the first ping after the restart is answered");
          } else if (v.name === "invalid-spi") {
            assert.doesNotMatch(a.out(), /INITIAL_CONTACT/);
            assert.match(b.out(), /has no SA here: telling the peer \(INVALID_SPI\)/);
            assert.match(a.out(), /INVALID_SPI: the peer has no SA for our outbound SPI/);
            assert.ok(
              back.tries <= 2,
              `A stopped using the dead SA on the notify (${back.tries} pings)`,
            );
            const sa = await stats(a);
            assert.equal(
              sa.sas.length,
              2,
              `one child SA pair left on A: ${JSON.stringify(sa.sas)}`,
            );
          } else {
            assert.doesNotMatch(a.out(), /INITIAL_CONTACT|INVALID_SPI/);
            assert.match(
              a.out(),
              /did not answer INFORMATIONAL/,
              "A's liveness check closed the dead SA",
            );
            assert.ok(back.tries > 1, "the first pings went into the dead SA");
          }
        } finally {
          assert.equal(await lab.stopAgent(b), 0);
          assert.equal(await lab.stopAgent(a), 0);
        }
      });
    }
    it("both agents start IKE at the same moment: one IKE SA and one child SA pair remain", async (t) => {
      const homeA = await lab.home(
        "a-sim",
        p2pPolicy(ADDR_B, "ESP[AES128GCM,None]", "simultaneous"),
      );
      const homeB = await lab.home(
        "b-sim",
        p2pPolicy(ADDR_A, "ESP[AES128GCM,None]", "simultaneous"),
      );
      const a = await lab.startAgent(lab.nsA, homeA);
      const b = await lab.startAgent(lab.nsB, homeB);
      try {
        // Both pings start together: each agent's ACQUIRE starts IKE with the other.
        const pa = lab.spawnIn(lab.nsA, ["ping", "-c", "3", "-W", "3", ADDR_B]);
        const pb = lab.spawnIn(lab.nsB, ["ping", "-c", "3", "-W", "3", ADDR_A]);
        await Promise.all([pa, pb].map((p) => new Promise((r) => p.once("exit", r))));
        await new Promise((r) => setTimeout(r, 1000));
        const sa = await stats(a);
        const sb = await stats(b);
        const up = (s: Stats) => s.ike.sas.filter((x) => x.state === "established");
        const why = `A: ${JSON.stringify(sa.ike.sas)}\nB: ${JSON.stringify(sb.ike.sas)}\n${a.out()}\n${b.out()}`;
        assert.equal(up(sa).length, 1, why);
        assert.equal(up(sb).length, 1, why);
        assert.equal(up(sa)[0]?.spis, up(sb)[0]?.spis, `the same IKE SA on both\n${why}`);
        assert.equal(sa.sas.length, 2, `one pair on A: ${JSON.stringify(sa.sas)}`);
        assert.equal(sb.sas.length, 2, `one pair on B: ${JSON.stringify(sb.sas)}`);
        const collided = `${a.out()}${b.out()}`.includes("holds the lowest nonce");
        t.diagnostic(
          collided
            ? "the two IKE SAs collided; the redundant one was deleted"
            : "no collision this run: one side's IKE SA was up first",
        );
      } finally {
        assert.equal(await lab.stopAgent(b), 0);
        assert.equal(await lab.stopAgent(a), 0);
      }
    });
  },
);
