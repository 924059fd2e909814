/**
 * Restarts and dead peers against strongSwan 5.9.8 (charon with kernel-libipsec, tunnel
 * mode, UDP 4500; the lab of ./lab.ts): INITIAL_CONTACT both ways (RFC 7296 §2.4) and dead
 * peer detection both ways (liveness INFORMATIONALs, §1.4). A crash is SIGKILL for charon
 * and SIGTERM for `postern ike` (which sends no Delete when it stops).
 */
import assert from "node:assert/strict";
import { after, afterEach, before, describe, it } from "node:test";
import { needsRoot } from "../helpers/cli.js";
import {
  type Charon,
  type CharonConn,
  createNsPair,
  type NsPair,
  type PosternPeer,
  startCharon,
  startPostern,
  waitFor,
} from "./lab.js";

const PSK = "restart shared secret";

describe("restarts and dead peers with strongSwan 5.9 (RFC 7296 §2.4, §1.4)", needsRoot(), () => {
  let pair: NsPair;
  let charon: Charon | null = null;
  let ours: PosternPeer | null = null;

  before(() => {
    pair = createNsPair();
  });
  afterEach(async () => {
    await ours?.stop();
    await charon?.stop();
    ours = null;
    charon = null;
  });
  after(async () => {
    await ours?.stop();
    await charon?.stop();
    pair?.destroy();
  });

  const conn = (startAction: CharonConn["startAction"], dpdDelay?: string): CharonConn => ({
    local: pair.addrB,
    remote: pair.addrA,
    psk: PSK,
    ikeProposal: "aes128gcm16-prfsha256-x25519",
    espProposal: "aes128gcm16",
    localTs: "10.232.2.0/24",
    remoteTs: "10.232.1.0/24",
    startAction,
    ...(dpdDelay ? { dpdDelay } : {}),
  });
  const peerConfig = () => ({
    local: pair.addrA,
    remote: pair.addrB,
    psk: PSK,
    ike: ["aes128gcm-sha256-31"],
    esp: ["aes128gcm-none"],
    localTs: ["10.232.1.0/24"],
    remoteTs: ["10.232.2.0/24"],
  });
  const events = (p: PosternPeer, name: string) => p.events.filter((e) => e.event === name);
  const ikeSas = (c: Charon) =>
    (c.swanctl("--list-sas").match(/pik: #\d+, ESTABLISHED/g) ?? []).length;

  it("charon crashes and starts again: postern honours its INITIAL_CONTACT, the old SAs go at once", async (t) => {
    ours = startPostern(pair.nsA, "respond", peerConfig());
    const peer = ours;
    await waitFor("postern listening", () => events(peer, "listening").length > 0);
    charon = await startCharon(pair.nsB, conn("start"));
    await waitFor("the first child SA", () => events(peer, "child-sa").length === 1);
    const first = events(peer, "child-sa")[0]!;
    await charon.crash();
    await charon.stop();
    const restarted = Date.now();
    charon = await startCharon(pair.nsB, conn("start"));
    await waitFor("the new child SA", () => events(peer, "child-sa").length === 2);
    t.diagnostic(`charon restarted: new child SA at postern after ${Date.now() - restarted} ms`);
    assert.match(peer.stderr(), /INITIAL_CONTACT from 10\.231\.0\.2: closing its 1 older IKE SA/);
    assert.deepEqual(
      events(peer, "child-sa-deleted").map((e) => e.spiIn),
      [first.spiIn],
      "the old child SA went with its IKE SA",
    );
    assert.equal(events(peer, "ike-sa").filter((e) => e.state === "closed").length, 1);
    assert.match(charon.log(), /IKE_AUTH request 1 \[[^\]]*N\(INIT_CONTACT\)/, "charon sent it");
  });

  for (const ic of ["yes", "no"] as const) {
    it(`postern restarts with --initial-contact ${ic}: charon keeps ${ic === "yes" ? "one IKE SA (it honours INITIAL_CONTACT)" : "the dead IKE SA too (two)"}`, async () => {
      charon = await startCharon(pair.nsB, conn("none"));
      ours = startPostern(pair.nsA, "initiate", peerConfig());
      const p1 = ours;
      await waitFor("the first child SA", () => events(p1, "child-sa").length === 1);
      await ours.stop();
      ours = startPostern(pair.nsA, "initiate", peerConfig(), ["--initial-contact", ic]);
      const p2 = ours;
      await waitFor("the second child SA", () => events(p2, "child-sa").length === 1);
      const c = charon;
      const [spiI] = String(
        events(p2, "ike-sa").find((e) => e.state === "established")?.spis,
      ).split("_");
      if (ic === "yes") {
        await waitFor("charon's old IKE SA gone", () => ikeSas(c) === 1);
        assert.ok(c.swanctl("--list-sas").includes(`${spiI}_i`), "the one left is the new one");
      } else {
        await new Promise((r) => setTimeout(r, 1000));
        assert.equal(ikeSas(c), 2, c.swanctl("--list-sas"));
      }
    });
  }

  it("dead peer detection: postern answers charon's liveness checks, and closes the SA when charon dies", async () => {
    ours = startPostern(pair.nsA, "respond", peerConfig(), [
      "--liveness-ms",
      "1000",
      "--retransmit",
      "300,3",
    ]);
    const peer = ours;
    await waitFor("postern listening", () => events(peer, "listening").length > 0);
    charon = await startCharon(pair.nsB, conn("start", "1s"));
    await waitFor("child SA", () => events(peer, "child-sa").length === 1);
    await new Promise((r) => setTimeout(r, 3500));
    const c = charon;
    assert.match(c.log(), /sending DPD request/, "charon checks liveness");
    assert.equal(ikeSas(c), 1, "... and postern answers");
    assert.doesNotMatch(peer.stderr(), /did not answer/, "charon answers ours");
    await charon.crash();
    await waitFor(
      "postern closes the IKE SA",
      () => events(peer, "ike-sa").some((e) => e.state === "closed"),
      15_000,
    );
    assert.match(peer.stderr(), /did not answer INFORMATIONAL after 3 transmissions/);
    assert.equal(events(peer, "child-sa-deleted").length, 1);
  });

  it("dead peer detection: charon closes the SA when postern dies", async () => {
    charon = await startCharon(pair.nsB, conn("none", "1s"));
    ours = startPostern(pair.nsA, "initiate", peerConfig());
    const p = ours;
    await waitFor("child SA", () => events(p, "child-sa").length === 1);
    const c = charon;
    assert.equal(ikeSas(c), 1);
    await ours.stop();
    await waitFor("charon gives postern up", () => ikeSas(c) === 0, 30_000);
    assert.match(c.log(), /giving up after \d+ retransmits/);
  });
});
