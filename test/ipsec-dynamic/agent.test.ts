/**
 * REAL: two namespaces, two `postern agent`s configured only with `postern netsh ipsec
 * static` (PSK, ESP AES-GCM-128), a ping brings up the SA (ACQUIRE, RFC 4301 §5.2), then
 * `postern netsh ipsec dynamic show ...` reads the running agent: the quick mode SA with
 * its transform and bytes > 0 both ways, the main mode SA with its peer and PSK auth
 * (RFC 7296 §2.15), the counters, the SPD's filters, and the one-line error once the
 * agent is gone.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { MmSaView, QmSaView, StatsView } from "../../src/agent/monitor.js";
import { IKE_DROP_REASONS } from "../../src/ike/drops.js";
import { ADDR_A, ADDR_B, type Agent, createLab, type Lab, p2pPolicy } from "../agent/lab.js";
import { cli, needsRoot, runBin } from "../helpers/cli.js";

const received = (out: string): number => Number(/(\d+) received/.exec(out)?.[1] ?? -1);
const esc = (s: string) => s.replaceAll(".", "\\.");

/** Polls `get` until `ok` holds (every 100 ms, at most 5 s); returns the last value. */
async function until<T>(get: () => T | Promise<T>, ok: (v: T) => boolean): Promise<T> {
  let v = await get();
  for (let i = 0; i < 50 && !ok(v); i++) {
    await new Promise((r) => setTimeout(r, 100));
    v = await get();
  }
  assert.ok(ok(v), `not reached in 5 s: ${JSON.stringify(v).slice(0, 400)}`);
  return v;
}

async function dyn(home: string, ...args: string[]) {
  const r = await cli(home, "netsh", "ipsec", "dynamic", ...args);
  assert.equal(r.code, 0, r.err);
  return r.out;
}

describe("netsh ipsec dynamic against two running postern agents (PSK)", needsRoot(), () => {
  let lab: Lab;
  let a: Agent;
  let b: Agent;
  before(async () => {
    lab = createLab("pdy");
    const homeA = await lab.home("a", p2pPolicy(ADDR_B, "ESP[AES128GCM,None]", "monitor psk"));
    const homeB = await lab.home("b", p2pPolicy(ADDR_A, "ESP[AES128GCM,None]", "monitor psk"));
    a = await lab.startAgent(lab.nsA, homeA);
    b = await lab.startAgent(lab.nsB, homeB);
    const ping = lab.exec(lab.nsA, ["ping", "-c", "4", "-i", "0.3", "-W", "3", ADDR_B], 30_000);
    assert.ok(received(ping.out) >= 3, ping.out + ping.err + a.out());
  });
  after(() => lab?.destroy());

  it("show qmsas --json: the child SA with transform aes128gcm16 and bytes > 0 each way", () => {
    const r = runBin(["--home", a.home, "netsh", "ipsec", "dynamic", "show", "qmsas", "--json"]);
    assert.equal(r.code, 0, r.err);
    const sas = JSON.parse(r.out) as QmSaView[];
    // Both hosts may initiate at once (each with its own first packet): take the busiest SA.
    const sa = sas.filter((s) => s.remote === ADDR_B).sort((x, y) => y.bytesOut - x.bytesOut)[0];
    assert.ok(sa, r.out);
    assert.equal(sa.transform, "aes128gcm16");
    assert.equal(sa.protocol, "esp");
    assert.equal(sa.mode, "transport");
    assert.ok(sa.bytesOut > 0 && sa.bytesIn > 0, r.out);
    assert.ok(sa.packetsOut >= 3, r.out);
    assert.match(sa.spiIn, /^0x[0-9a-f]{8}$/);
    assert.deepEqual(sa.remoteSelectors, [ADDR_B]);
  });

  it("show qmsas (text) on the responder shows the same SA from the other side", async () => {
    const text = await dyn(b.home, "show", "qmsas");
    assert.match(text, /Quick Mode SAs/);
    assert.match(text, /ESP\s+: aes128gcm16/);
    assert.match(text, new RegExp(`Peer\\s+: ${ADDR_A.replaceAll(".", "\\.")}`));
  });

  it("show mmsas: the peer, auth mode psk, algorithms, state established", async () => {
    const text = await dyn(a.home, "show", "mmsas");
    assert.match(text, /Auth Mode\s+: Preshared key/);
    assert.match(text, new RegExp(`Destination\\s+: ${ADDR_B.replaceAll(".", "\\.")}, port`));
    assert.match(text, /State\s+: established/);
    const list = JSON.parse(await dyn(a.home, "--json", "show", "mmsas")) as MmSaView[];
    const mm = list.find((s) => s.state === "established" && s.childSas > 0);
    assert.ok(mm, JSON.stringify(list));
    assert.equal(mm.auth, "psk");
    assert.equal(mm.remote, ADDR_B);
    assert.equal(mm.peerId, ADDR_B, "the peer's IKE ID (its address with PSK)");
    assert.ok(mm.encryption !== null && mm.prf !== null && mm.dh !== null, JSON.stringify(mm));
    assert.ok((mm.ageSec ?? -1) >= 0);
    assert.ok(mm.childSas >= 1);
  });

  it("show stats: IKE SA count, acquire and data path counters", async () => {
    const s = JSON.parse(await dyn(a.home, "--json", "show", "stats")) as StatsView;
    assert.ok((s.ike.sas.established ?? 0) >= 1, JSON.stringify(s.ike));
    assert.ok((s.acquire.acquire_started ?? 0) >= 1, JSON.stringify(s.acquire));
    const n = s.datapath.info.sas ?? 0;
    assert.ok(n >= 2 && n % 2 === 0, `SAs come in pairs: ${n}`);
    assert.ok("inbound" in s.datapath.drops && "outbound" in s.datapath.drops);
    assert.deepEqual(Object.keys(s.ike.drops).sort(), [...IKE_DROP_REASONS].sort());
    const text = await dyn(a.home, "show", "stats");
    assert.match(text, /IKE Main Mode Statistics\n-+\nestablished\s+: [1-9]/);
  });

  it("show qmfilter / mmfilter: the compiled mirrored filter with action negotiate", async () => {
    const text = await dyn(a.home, "show", "qmfilter");
    assert.match(
      text,
      new RegExp(
        `Peer\\s+${ADDR_A.replaceAll(".", "\\.")}\\s+${ADDR_B.replaceAll(".", "\\.")}\\s+ANY.*negotiate`,
      ),
    );
    assert.match(text, /mirror/);
    const mm = await dyn(a.home, "show", "mmfilter");
    assert.match(mm, /Preshared key/);
  });

  it("set config ikelogging=1: the running agent logs each IKE message; 0 stops it; stored", async () => {
    const r = await cli(
      a.home,
      "netsh",
      "ipsec",
      "dynamic",
      "set",
      "config",
      "property=ikelogging",
      "value=1",
    );
    assert.equal(r.code, 0, r.err);
    assert.equal(r.err, "", "an agent answered: no note");
    assert.match(a.out(), /IKE detail logging on \(ikelogging=1, asked by netsh/);
    // An INFORMATIONAL exchange (the agent's liveness or a Delete) is enough to show it: ask for one.
    const before = a.out().length;
    await dyn(a.home, "delete", "qmsas");
    const after = await until(
      () => a.out().slice(before),
      (t) => /IKE detail: received INFORMATIONAL response/.test(t),
    );
    assert.match(
      after,
      new RegExp(
        `IKE detail: sent INFORMATIONAL request #\\d+ to ${esc(ADDR_B)}:\\d+, SPIs [0-9a-f]{16}_[0-9a-f]{16}, \\d+ bytes`,
      ),
    );
    assert.match(
      JSON.parse(await dyn(a.home, "--json", "show", "config")).ikelogging.toString(),
      /^1$/,
    );
    await dyn(a.home, "set", "config", "ikelogging", "0");
    assert.match(a.out(), /IKE detail logging off \(ikelogging=0/);
    const quiet = a.out().length;
    lab.exec(lab.nsA, ["ping", "-c", "2", "-i", "0.3", "-W", "3", ADDR_B], 15_000);
    assert.doesNotMatch(a.out().slice(quiet), /IKE detail:/);
  });

  it("delete qmsas dstaddr=B: the child SAs go on both hosts (Delete sent), IKE SA stays; traffic renegotiates", async () => {
    lab.exec(lab.nsA, ["ping", "-c", "2", "-i", "0.3", "-W", "3", ADDR_B], 15_000);
    const qm = async (h: string) =>
      JSON.parse(await dyn(h, "--json", "show", "qmsas")) as QmSaView[];
    const old = (await qm(a.home)).map((x) => x.spiIn);
    assert.ok(old.length > 0);
    const none = JSON.parse(await dyn(a.home, "--json", "delete", "qmsas", "dstaddr=192.0.2.99"));
    assert.deepEqual(none.deletedChildSas, [], "another peer's address picks nothing");
    const r = JSON.parse(await dyn(a.home, "--json", "delete", "qmsas", `dst=${ADDR_B}`));
    assert.deepEqual([...r.deletedChildSas].sort(), [...old].sort());
    // B learns it from the Delete: its SAs paired with A's old ones are gone.
    const gone = new Set(old);
    await until(
      () => qm(b.home),
      (l) => l.every((x) => !gone.has(x.spiOut)),
    );
    const mm = JSON.parse(await dyn(a.home, "--json", "show", "mmsas")) as MmSaView[];
    assert.ok(
      mm.some((x) => x.state === "established"),
      "the main mode SA stays",
    );
    const ping = lab.exec(lab.nsA, ["ping", "-c", "3", "-i", "0.3", "-W", "3", ADDR_B], 15_000);
    assert.ok(received(ping.out) >= 2, ping.out);
    assert.ok(
      (await qm(a.home)).some((x) => !old.includes(x.spiIn)),
      "a new child SA",
    );
  });

  it("delete mmsas: every IKE SA goes on both hosts; delete all after a ping does it again", async () => {
    const mm = async (h: string) =>
      JSON.parse(await dyn(h, "--json", "show", "mmsas")) as MmSaView[];
    const old = (await mm(a.home)).map((x) => x.spis);
    assert.ok(old.length > 0);
    const r = JSON.parse(await dyn(a.home, "--json", "delete", "mmsas", "all"));
    assert.deepEqual([...r.deletedIkeSas].sort(), [...old].sort());
    await until(
      () => mm(b.home),
      (l) => l.every((x) => !old.includes(x.spis)),
    );
    await until(
      () => mm(a.home),
      (l) => l.every((x) => !old.includes(x.spis)),
    );
    const ping = lab.exec(lab.nsA, ["ping", "-c", "3", "-i", "0.3", "-W", "3", ADDR_B], 15_000);
    assert.ok(received(ping.out) >= 2, ping.out);
    const text = await dyn(a.home, "delete", "all");
    assert.match(text, /^Deleted [1-9]\d* main mode SAs and their quick mode SAs\.$/m);
    await until(
      () => mm(b.home),
      (l) => l.length === 0,
    );
  });

  it("with no agent running: one line naming the socket, exit 1", async () => {
    await lab.stopAgent(a);
    const r = runBin(["--home", a.home, "netsh", "ipsec", "dynamic", "show", "mmsas"]);
    assert.equal(r.code, 1);
    assert.equal(r.out, "");
    assert.match(r.err, /^postern: no IPsec agent is running \(.*\/agent\/agent\.sock\)\n$/);
  });
});
