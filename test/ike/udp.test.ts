/**
 * postern to postern over real UDP sockets in two namespaces (`postern ike` in each):
 * transport mode, and NAT-T forced so IKE floats to 4500 with the non-ESP marker.
 */
import assert from "node:assert/strict";
import { after, afterEach, before, describe, it } from "node:test";
import { needsRoot } from "../helpers/cli.js";
import { createNsPair, type NsPair, type PosternPeer, startPostern, waitFor } from "./lab.js";

describe("postern <-> postern over UDP 500/4500 (RFC 7296, RFC 3948)", needsRoot(), () => {
  let pair: NsPair;
  const peers: PosternPeer[] = [];
  before(() => {
    pair = createNsPair();
  });
  afterEach(async () => {
    for (const p of peers.splice(0)) await p.stop();
  });
  after(() => pair?.destroy());

  for (const forceEncap of [false, true]) {
    it(`transport mode child SA${forceEncap ? " with NAT-T forced (UDP 4500, non-ESP marker)" : ""}: both sides get mirrored keys`, async () => {
      const base = {
        psk: "p2p secret",
        mode: "transport",
        ike: ["aes256gcm-sha384-19"],
        esp: ["aes128-sha256"],
      };
      const b = startPostern(pair.nsB, "respond", {
        ...base,
        local: pair.addrB,
        remote: pair.addrA,
      });
      peers.push(b);
      await waitFor("responder listening", () => b.events.some((e) => e.event === "listening"));
      const a = startPostern(
        pair.nsA,
        "initiate",
        { ...base, local: pair.addrA, remote: pair.addrB, forceEncap },
        ["--once", "--timeout", "15"],
      );
      peers.push(a);
      assert.equal(await a.exited, 0, a.stderr());
      await waitFor("responder child SA", () => b.events.some((e) => e.event === "child-sa"));
      const ca = a.events.find((e) => e.event === "child-sa") as Record<string, unknown> & {
        keys: Record<string, string>;
      };
      const cb = b.events.find((e) => e.event === "child-sa") as Record<string, unknown> & {
        keys: Record<string, string>;
      };
      assert.equal(ca.mode, "transport");
      assert.equal(cb.mode, "transport");
      assert.equal(ca.udpEncap, forceEncap);
      assert.equal(cb.udpEncap, forceEncap);
      assert.equal(ca.spiOut, cb.spiIn);
      assert.equal(ca.keys.encrOut, cb.keys.encrIn);
      assert.equal(ca.keys.integOut, cb.keys.integIn);
      assert.equal(ca.keys.integOut?.length, 64, "HMAC-SHA2-256 key, 32 bytes");
      assert.deepEqual(ca.tsLocal, [`${pair.addrA}/32`]);
      if (forceEncap) assert.match(a.stderr(), /NAT-T on UDP 4500/);
    });
  }
});
