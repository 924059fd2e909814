/**
 * `postern agent` from the local policy store, postern to postern in two namespaces: each
 * host configured ONLY with `postern netsh ipsec static` commands (PSK). The first packet
 * of a protected flow starts IKEv2 (ACQUIRE, RFC 4301 §5.2), the child SA keys the ESP
 * data path, and the wire carries ESP in UDP 4500 (RFC 3948) — checked on a capture.
 * Also: a wrong PSK (no SA, protected traffic dropped and counted, one clear log line) and
 * a `soft` filter action falling back to cleartext when the peer runs no agent.
 */
import assert from "node:assert/strict";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import * as fs from "node:fs";
import { readPcap } from "../datapath/pcap.js";
import { makeTestPki } from "../ike/certs.js";
import { cli, needsRoot } from "../helpers/cli.js";
import {
  captureOnB,
  echoClientScript,
  echoServerScript,
  stopChild,
  waitOutput,
} from "../helpers/host-pair.js";
import { ADDR_A, ADDR_B, type Agent, createLab, type Lab, p2pPolicy } from "./lab.js";

const MARKER = "postern-agent-cleartext-marker";
const TCP_PORT = 7100;
const ECHO_SERVER = echoServerScript(TCP_PORT);
const CLIENT = echoClientScript(TCP_PORT);

interface Stats {
  drops: { inbound: Record<string, number>; outbound: Record<string, number> };
  sas: { spi: string; direction: string; transform: string; mode: string; packets: number }[];
  acquire: Record<string, number>;
  peers: Record<string, string>;
  ike: { sas: { state: string; natT: boolean }[] };
}

async function stats(a: Agent): Promise<Stats> {
  const r = await cli(a.home, "--json", "agent", "stats");
  assert.equal(r.code, 0, r.err);
  return JSON.parse(r.out) as Stats;
}

const received = (out: string): number => Number(/(\d+) received/.exec(out)?.[1] ?? -1);

describe(
  "postern agent <-> postern agent from netsh policy, IKE on demand (two namespaces)",
  needsRoot(),
  () => {
    let lab: Lab;
    before(() => {
      lab = createLab();
    });
    after(() => lab?.destroy());

    for (const [name, qmsec, transform] of [
      ["encrypt", "ESP[AES128GCM,None]", "aes128gcm16"],
      ["sign", "ESP[None,SHA256]", "null-sha256"],
    ] as const) {
      it(`"${name}" (${qmsec}): ping and TCP start IKE (ACQUIRE) and flow as ESP in UDP 4500`, async () => {
        const homeA = await lab.home(`${name}-a`, p2pPolicy(ADDR_B, qmsec, "shared secret"));
        const homeB = await lab.home(`${name}-b`, p2pPolicy(ADDR_A, qmsec, "shared secret"));
        const a = await lab.startAgent(lab.nsA, homeA);
        const b = await lab.startAgent(lab.nsB, homeB);
        const pcap = path.join(lab.dir, `${name}.pcap`);
        const dump = captureOnB(lab, pcap);
        const server = lab.spawnIn(lab.nsB, [process.execPath, "-e", ECHO_SERVER]);
        try {
          assert.ok(await waitOutput(dump, "listening on", 10_000), "tcpdump started");
          assert.ok(await waitOutput(server, "listening", 10_000), "echo server started");
          const ping = lab.exec(
            lab.nsA,
            ["ping", "-c", "4", "-i", "0.3", "-W", "3", ADDR_B],
            30_000,
          );
          assert.ok(received(ping.out) >= 3, ping.out + ping.err + a.out());
          const tcp = lab.exec(lab.nsA, [process.execPath, "-e", CLIENT, MARKER, "200000"], 30_000);
          assert.equal(tcp.code, 0, tcp.out + tcp.err);
          assert.match(tcp.out, new RegExp(`^200000 ${MARKER.toUpperCase()}`));

          // A's last segments (FIN, ACK) may still be on their way to B: read both sides
          // again until B has opened what A sealed (bounded: 20 reads, 100 ms apart).
          let sa = await stats(a);
          let sb = await stats(b);
          for (let i = 0; i < 20; i++) {
            const o = sa.sas.find((s) => s.direction === "out");
            const inB = sb.sas.find((s) => s.direction === "in" && s.spi === o?.spi);
            if (o !== undefined && inB?.packets === o.packets) break;
            await new Promise((r) => setTimeout(r, 100));
            sa = await stats(a);
            sb = await stats(b);
          }
          assert.ok((sa.acquire.acquire_started ?? 0) >= 1, JSON.stringify(sa.acquire));
          assert.ok(
            (sa.acquire.acquire_flushed ?? 0) >= 1,
            "the first ping waited for the SA and went out",
          );
          assert.equal(sa.acquire.acquire_queue_full, 0);
          assert.ok(
            sa.ike.sas.some((s) => s.state === "established" && s.natT),
            JSON.stringify(sa.ike),
          );
          const out = sa.sas.find((s) => s.direction === "out");
          assert.equal(out?.transform, transform);
          assert.equal(out?.mode, "transport");
          assert.ok((out?.packets ?? 0) > 100, JSON.stringify(sa.sas));
          const inB = sb.sas.find((s) => s.direction === "in" && s.spi === out?.spi);
          assert.equal(
            inB?.packets,
            out?.packets,
            `every packet A sealed was opened by B (B's inbound drops: ${JSON.stringify(sb.drops.inbound)}, A's outbound drops: ${JSON.stringify(sa.drops.outbound)})`,
          );
          for (const reason of ["auth_failed", "replay", "malformed", "policy_mismatch", "no_sa"])
            assert.equal(sb.drops.inbound[reason], 0, `B drops ${reason}`);
          assert.match(
            a.out(),
            /acquire: first packet to protect for rule1>192\.0\.2\.2; starting IKE/,
          );
        } finally {
          await stopChild(server);
          await stopChild(dump);
          assert.equal(await lab.stopAgent(a), 0);
          assert.equal(await lab.stopAgent(b), 0);
        }
        const frames = readPcap(pcap).filter(
          (f) => [f.src, f.dst].sort().join() === [ADDR_A, ADDR_B].sort().join(),
        );
        const udp4500 = frames.filter(
          (f) => f.protocol === 17 && f.srcPort === 4500 && f.dstPort === 4500,
        );
        const ike500 = frames.filter(
          (f) => f.protocol === 17 && f.srcPort === 500 && f.dstPort === 500,
        );
        const clear = frames.filter((f) => f.protocol === 1 || f.protocol === 6);
        assert.ok(ike500.length >= 2, `IKE_SA_INIT on UDP 500: ${ike500.length}`);
        // In bytes, not frames: runs of ESP datagrams leave as one UDP GSO send and cross the
        // veth as one super-frame (test/datapath/agent.test.ts has the same check).
        const espBytes = udp4500.reduce((n, f) => n + f.ipPayload.length - 8, 0);
        assert.ok(espBytes > 100_000, `ESP-in-UDP bytes: ${espBytes} in ${udp4500.length} frames`);
        assert.equal(clear.length, 0, "no ICMP or TCP in clear on the wire");
        const withMarker = frames.filter((f) => f.raw.includes(MARKER)).length;
        if (name === "encrypt") assert.equal(withMarker, 0, "the payload never appears in clear");
        else assert.ok(withMarker > 0, "NULL encryption: readable inside authenticated ESP");
      });
    }

    it('"sign" with AH[SHA256] (RFC 4302): IKE on UDP 500 only, AH over the raw socket, ping and TCP', async () => {
      const homeA = await lab.home("ah-a", p2pPolicy(ADDR_B, "AH[SHA256]", "shared secret"));
      const homeB = await lab.home("ah-b", p2pPolicy(ADDR_A, "AH[SHA256]", "shared secret"));
      const a = await lab.startAgent(lab.nsA, homeA);
      const b = await lab.startAgent(lab.nsB, homeB);
      const pcap = path.join(lab.dir, "ah.pcap");
      const dump = captureOnB(lab, pcap, ["--immediate-mode"]);
      const server = lab.spawnIn(lab.nsB, [process.execPath, "-e", ECHO_SERVER]);
      try {
        assert.ok(await waitOutput(dump, "listening on", 10_000), "tcpdump started");
        assert.ok(await waitOutput(server, "listening", 10_000), "echo server started");
        const ping = lab.exec(lab.nsA, ["ping", "-c", "4", "-i", "0.3", "-W", "3", ADDR_B], 30_000);
        assert.ok(received(ping.out) >= 3, ping.out + ping.err + a.out());
        const tcp = lab.exec(lab.nsA, [process.execPath, "-e", CLIENT, MARKER, "50000"], 30_000);
        assert.equal(tcp.code, 0, tcp.out + tcp.err);
        assert.match(tcp.out, new RegExp(`^50000 ${MARKER.toUpperCase()}`));
        const sa = await stats(a);
        const out = sa.sas.find((x) => x.direction === "out");
        assert.equal(out?.transform, "null-sha256");
        assert.ok(
          sa.ike.sas.some((x) => x.state === "established" && !x.natT),
          JSON.stringify(sa.ike),
        );
        const sb = await stats(b);
        for (const reason of ["auth_failed", "replay", "malformed", "policy_mismatch"])
          assert.equal(sb.drops.inbound[reason], 0, `B drops ${reason}`);
      } finally {
        await stopChild(server);
        await stopChild(dump);
        assert.equal(await lab.stopAgent(a), 0);
        assert.equal(await lab.stopAgent(b), 0);
      }
      const frames = readPcap(pcap).filter(
        (f) => [f.src, f.dst].sort().join() === [ADDR_A, ADDR_B].sort().join(),
      );
      const ah = frames.filter((f) => f.protocol === 51);
      const udp4500 = frames.filter((f) => f.protocol === 17 && f.dstPort === 4500);
      const clear = frames.filter((f) => f.protocol === 1 || f.protocol === 6);
      const byProto = JSON.stringify(
        frames.reduce<Record<number, number>>((m, f) => {
          m[f.protocol] = (m[f.protocol] ?? 0) + 1;
          return m;
        }, {}),
      );
      assert.ok(ah.length > 20, `AH frames: ${ah.length} (frames by IP protocol: ${byProto})`);
      assert.equal(udp4500.length, 0, "no UDP 4500: AH is never encapsulated");
      assert.equal(clear.length, 0, "no ICMP or TCP outside AH on the wire");
    });

    it("a wrong PSK: AUTHENTICATION_FAILED, no SA, protected traffic dropped and counted", async () => {
      const homeA = await lab.home("psk-a", p2pPolicy(ADDR_B, "ESP[AES128GCM,None]", "right key"));
      const homeB = await lab.home("psk-b", p2pPolicy(ADDR_A, "ESP[AES128GCM,None]", "wrong key"));
      const a = await lab.startAgent(lab.nsA, homeA);
      const b = await lab.startAgent(lab.nsB, homeB);
      try {
        const ping = lab.exec(lab.nsA, ["ping", "-c", "4", "-i", "0.5", "-W", "1", ADDR_B], 30_000);
        assert.equal(received(ping.out), 0, ping.out);
        const sa = await stats(a);
        assert.equal(sa.sas.length, 0, "no SA installed");
        assert.ok((sa.acquire.ike_failed ?? 0) >= 1, JSON.stringify(sa.acquire));
        assert.equal(sa.peers["rule1>192.0.2.2"], "failed");
        assert.match(b.out(), /AUTHENTICATION_FAILED/);
        assert.match(
          a.out(),
          /acquire: IKE with rule1>192\.0\.2\.2 failed; protected traffic to it is dropped/,
        );
        assert.doesNotMatch(a.out() + b.out(), /\n\s+at /, "no stack trace");
      } finally {
        assert.equal(await lab.stopAgent(a), 0);
        assert.equal(await lab.stopAgent(b), 0);
      }
    });

    it("soft: no agent on the peer -> after IKE's retransmissions, cleartext (soft=yes)", async () => {
      const homeA = await lab.home(
        "soft-a",
        p2pPolicy(ADDR_B, "ESP[AES128GCM,None]", "k", ["soft=yes"]),
      );
      // 200 ms, 400 ms, 800 ms: IKE gives the silent peer up 1.4 s after the first packet.
      const a = await lab.startAgent(lab.nsA, homeA, ["--ike-retransmit", "200,3"]);
      try {
        const ping = lab.exec(
          lab.nsA,
          ["ping", "-c", "10", "-i", "0.5", "-W", "1", ADDR_B],
          30_000,
        );
        const n = received(ping.out);
        assert.ok(n >= 3 && n < 10, `some pings lost while IKE tried, then cleartext: ${ping.out}`);
        const sa = await stats(a);
        assert.equal(sa.peers["rule1>192.0.2.2"], "cleartext");
        assert.ok((sa.acquire.soft_fallback ?? 0) >= 1, JSON.stringify(sa.acquire));
        assert.match(a.out(), /the filter action is soft: cleartext from now on/);
      } finally {
        assert.equal(await lab.stopAgent(a), 0);
      }
    });
    for (const inpass of [false, true]) {
      it(`inpass=${inpass ? "yes" : "no"}: cleartext inbound from a protected peer is ${inpass ? "accepted and answered secured (ACQUIRE)" : "dropped by the guard"}`, async () => {
        const home = await lab.home(
          `inpass-${inpass}`,
          p2pPolicy(ADDR_B, "ESP[AES128GCM,None]", "k", [`inpass=${inpass ? "yes" : "no"}`]),
        );
        const a = await lab.startAgent(lab.nsA, home, ["--ike-retransmit", "200,3"]);
        try {
          // B runs no agent: its echo requests reach A in clear.
          const ping = lab.exec(
            lab.nsB,
            ["ping", "-c", "3", "-i", "0.3", "-W", "1", ADDR_A],
            30_000,
          );
          assert.equal(received(ping.out), 0, "A never answers in clear");
          const sa = await stats(a);
          const guard = lab.exec(lab.nsA, ["nft", "list", "chain", "inet", "postern", "ipsec_in"]);
          const dropped = Number(/counter packets (\d+)/.exec(guard.out)?.[1] ?? -1);
          if (inpass) {
            assert.equal(
              guard.out.includes("192.0.2.2"),
              false,
              "no guard rule for an inpass action",
            );
            assert.ok((sa.acquire.acquire_started ?? 0) >= 1, "the answer waited for IKE");
            assert.match(a.out(), /acquire: first packet to protect for rule1>192\.0\.2\.2/);
          } else {
            assert.ok(dropped >= 3, guard.out);
            assert.equal(sa.acquire.acquire_started ?? 0, 0, "nothing to answer");
          }
        } finally {
          assert.equal(await lab.stopAgent(a), 0);
        }
        const gone = lab.exec(lab.nsA, ["nft", "list", "chain", "inet", "postern", "ipsec_in"]);
        assert.notEqual(gone.code, 0, "the guard chain is removed when the agent stops");
      });
    }
    it("certificates (rootca= a trusted root, RFC 7427 signatures): RSA <-> ECDSA, ping through the SA", async () => {
      const pki = makeTestPki([ADDR_A], [ADDR_B]);
      const certPolicy = (peer: string) =>
        p2pPolicy(peer, "ESP[AES128GCM,None]", "unused").map((l) =>
          l[0] === "add" && l[1] === "rule"
            ? l.filter((t) => !t.startsWith("psk=")).concat(`rootca=${pki.root}`)
            : l,
        );
      const a = await lab.startAgent(lab.nsA, await lab.home("cert-a", certPolicy(ADDR_B)), [
        "--cert",
        pki.rsa.cert,
        "--key",
        pki.rsa.key,
      ]);
      const b = await lab.startAgent(lab.nsB, await lab.home("cert-b", certPolicy(ADDR_A)), [
        "--cert",
        pki.ecdsa.cert,
        "--key",
        pki.ecdsa.key,
      ]);
      try {
        const ping = lab.exec(lab.nsA, ["ping", "-c", "3", "-i", "0.3", "-W", "3", ADDR_B], 30_000);
        assert.ok(received(ping.out) >= 2, ping.out + a.out() + b.out());
        const sa = await stats(a);
        assert.ok(
          sa.sas.some((x) => x.direction === "out" && x.packets >= 2),
          JSON.stringify(sa.sas),
        );
      } finally {
        assert.equal(await lab.stopAgent(a), 0);
        assert.equal(await lab.stopAgent(b), 0);
        fs.rmSync(pki.dir, { recursive: true, force: true });
      }
    });
  },
);
