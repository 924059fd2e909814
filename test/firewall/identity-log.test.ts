/**
 * Drops with identity (src/firewall/identity-log.ts): a drop from an address with a live
 * SA names the peer's principal and the bypass entries it lacks; other drops stay
 * anonymous (pfirewall.log alone). The live check is in test/lab/explain.test.ts.
 */
import * as assert from "node:assert/strict";
import { describe, it } from "node:test";
import { identityLine, type PeerSa } from "../../src/firewall/identity-log.js";
import type { PacketFields } from "../../src/firewall/packet.js";

const syn = (src: string): PacketFields => ({
  protocol: 6,
  src,
  dst: "198.18.0.20",
  size: 60,
  sport: 40000,
  dport: 80,
  tcpFlags: "S",
});

const peers: PeerSa[] = [
  {
    address: "198.18.0.31",
    principal: "CLIENT2$@BIGFIRM.COM",
    authorizedBy: null,
    why: "CLIENT2$@BIGFIRM.COM (2 SIDs in its PAC) holds no SID of the bypass list",
    spis: "0x1_0x2",
  },
  {
    address: "198.18.0.50",
    principal: "NATXP$@BIGFIRM.COM",
    authorizedBy: "S-1-5-21-1-2-3-1105",
    why: "NATXP$ is in trusted",
    spis: "0x3_0x4",
  },
  {
    address: "198.18.0.50",
    principal: "NATC2$@BIGFIRM.COM",
    authorizedBy: null,
    why: "NATC2$ holds no SID of the bypass list",
    spis: "0x5_0x6",
  },
];

describe("firewall drops with identity", () => {
  const at = new Date("2026-12-06T15:40:12.345Z");
  it("a drop from a peer with a live SA names its principal and the entries it lacks", () => {
    const l = identityLine(at, syn("198.18.0.31"), "RECEIVE", peers, ["trusted"]);
    assert.deepEqual(l, {
      time: "2026-12-06T15:40:12.345Z",
      action: "DROP",
      protocol: "TCP",
      src: "198.18.0.31",
      dst: "198.18.0.20",
      sport: 40000,
      dport: 80,
      path: "RECEIVE",
      principal: "CLIENT2$@BIGFIRM.COM",
      sa: "0x1_0x2",
      admitted: false,
      lacks: ["trusted"],
      why: "CLIENT2$@BIGFIRM.COM (2 SIDs in its PAC) holds no SID of the bypass list",
    });
  });
  it("behind a NAT, the not-admitted SA of the address is the one named", () => {
    const l = identityLine(at, syn("198.18.0.50"), "RECEIVE", peers, ["trusted"]);
    assert.equal(l?.principal, "NATC2$@BIGFIRM.COM");
  });
  it("a drop from an address with no SA writes nothing", () => {
    assert.equal(identityLine(at, syn("198.18.0.40"), "RECEIVE", peers, ["trusted"]), null);
  });
});
