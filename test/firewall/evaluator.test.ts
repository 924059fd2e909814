/** The shared cases (cases.ts) against the in-memory evaluator. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { evaluateInbound, evaluateOutboundIcmp } from "../../src/firewall/evaluate.js";
import { ADDR, CASES, type FwCase, LOCAL_SUBNETS, settingsFor } from "./cases.js";

function decide(c: FwCase): "accept" | "drop" {
  const s = settingsFor(c);
  const ctx = { localSubnets: LOCAL_SUBNETS };
  const p = c.probe;
  switch (p.kind) {
    case "tcp":
    case "udp": {
      const src = ADDR[p.from];
      const family = src.includes(":") ? 6 : 4;
      const iface = p.via === "tun" ? "postern0" : p.via === "bypass" ? "postern-bp" : "vethA";
      return evaluateInbound(s, { family, protocol: p.kind, src, dport: p.port, iface }, ctx)
        .verdict;
    }
    case "ping": {
      const family = p.from === "peer6" ? 6 : 4;
      const icmpType = family === 4 ? 8 : 128;
      const pkt = {
        family,
        protocol: "icmp",
        src: ADDR[p.from],
        icmpType,
        iface: "vethA",
      } as const;
      return evaluateInbound(s, pkt, ctx).verdict;
    }
    case "outbound": {
      const pkt = {
        family: 4,
        protocol: p.proto,
        src: ADDR.peer,
        dport: 40000,
        iface: "vethA",
        established: true,
      } as const;
      return evaluateInbound(s, pkt, ctx).verdict;
    }
    case "udp-closed": {
      const inbound = evaluateInbound(
        s,
        { family: 4, protocol: "udp", src: ADDR.peer, dport: 9, iface: "vethA" },
        ctx,
      );
      if (inbound.verdict === "drop") return "drop";
      return evaluateOutboundIcmp(s, 4, 3).verdict;
    }
  }
}

describe("firewall cases: in-memory evaluator", () => {
  for (const c of CASES) {
    it(c.name, () => {
      assert.equal(decide(c), c.expect);
    });
  }
  it("loopback is always admitted", () => {
    const s = settingsFor({ name: "", probe: { kind: "ping", from: "peer" }, expect: "drop" });
    const d = evaluateInbound(
      s,
      { family: 4, protocol: "tcp", src: "127.0.0.1", dport: 1, iface: "lo" },
      { localSubnets: [] },
    );
    assert.deepEqual(d, { verdict: "accept", reason: "loopback" });
  });
});
