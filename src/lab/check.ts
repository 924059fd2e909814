/**
 * `postern lab check`: the article's access matrix, observed. Each cell is a real HTTP GET
 * from a client's namespace to server1:80; the reason is read from server1 (its agent's
 * IKE SAs and bypass decisions over the control socket, its IPsec guard's drop counter,
 * pfirewall.log) and from a capture of xpclient's wire. A cell that differs from the
 * article's expectation makes the check fail (exit 1).
 *
 *   1. xpclient -> served     Kerberos SA, PAC holds `trusted`, address in the bypass set;
 *                              the capture shows AH (IP protocol 51; ESP in UDP 4500
 *                              with `up --sign esp-null`) and no unprotected TCP 80
 *   2. client2  -> blocked    SA up (same domain), not in `trusted`: the firewall drops
 *   3. outsider -> blocked    no Kerberos identity, no SA: its cleartext is dropped
 *   4. xpclient removed from `trusted` -> still served (its ticket still says trusted)
 *   5. `klist --machine purge` on xpclient -> blocked (new TGT, new groups)
 *   6. (postern DC) server1's agent with `--revocation immediate`, xpclient removed from
 *      `trusted` -> blocked with no purge; the cell's ms is the time from the change on the
 *      DC to server1's revocation (its bypass entry `revoked`), measured
 * Before the cells the lab is reset to the article's start (xpclient$ in `trusted`, the
 * members' tickets and SAs purged) and after them it is put back, so check can be re-run.
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import type { BypassEntry } from "../control/protocol.js";
import { requestControl } from "../control/socket.js";
import type { CliEnv } from "../cmdline/env.js";
import type { IkeSaInfo } from "../ike/engine.js";
import { PosternError } from "../errors.js";
import { mustAsync, posternArgv, posternHere, run } from "./run.js";
import { hostHome, type LabState, loadLabState, saveLabState } from "./state.js";
import { startAgent } from "./up.js";
import { BYPASS_GROUP, dc2HasMember, labSambaDc, startSamba, waitForDc2 } from "./up-samba.js";
import { host, type HostName, namespaceOf, WEB_PORT } from "./topology.js";
import type { FetchOutcome } from "./web.js";

export type Outcome = "served" | "blocked";

export interface Cell {
  from: HostName;
  when: string;
  expected: Outcome;
  actual: Outcome;
  why: string;
  ms: number;
}

type IkeSaView = IkeSaInfo;

const SERVED_TIMEOUT_MS = 10_000;
const BLOCKED_TIMEOUT_MS = 3_000;

async function fetchFrom(s: LabState, from: HostName, expected: Outcome): Promise<FetchOutcome> {
  const url = `http://${host("server1").address}:${WEB_PORT}/`;
  const timeout = expected === "served" ? SERVED_TIMEOUT_MS : BLOCKED_TIMEOUT_MS;
  const out = await mustAsync(
    namespaceOf(s.id, from),
    [...posternArgv(), "lab", "fetch", url, "--timeout-ms", `${timeout}`],
    // the margin is node's start, which takes more than 10 s at a load average of 20+
    timeout + 60_000,
  );
  try {
    return JSON.parse(out) as FetchOutcome;
  } catch {
    throw new PosternError("lab", `lab fetch in ${from} printed no outcome: ${out.trim()}`);
  }
}

async function server1(s: LabState) {
  const sock = path.join(hostHome(s, "server1"), "agent", "agent.sock");
  const bypass = await requestControl(sock, "bypass");
  const stats = await requestControl(sock, "stats");
  return { bypass: bypass.peers, sas: stats.ike?.sas ?? [] };
}

/** Packets dropped so far by server1's IPsec guard (cleartext of protected flows). */
function guardDrops(s: LabState): number {
  const r = run(namespaceOf(s.id, "server1"), [
    "nft",
    "-j",
    "list",
    "chain",
    "inet",
    "postern",
    "ipsec_in",
  ]);
  let n = 0;
  for (const m of r.out.matchAll(/"counter":\s*\{\s*"packets":\s*(\d+)/g)) n += Number(m[1]);
  return n;
}

/** pfirewall.log DROP lines for TCP from `address` to port 80. */
function firewallDrops(s: LabState, address: string): number {
  const file = path.join(hostHome(s, "server1"), "firewall", "pfirewall.log");
  let text = "";
  try {
    text = fs.readFileSync(file, "utf8");
  } catch {
    return 0;
  }
  const dst = host("server1").address;
  return text
    .split("\n")
    .filter((l) => l.includes(" DROP TCP ") && l.includes(` ${address} ${dst} `) && / 80 /.test(l))
    .length;
}

function entryFor(
  peers: BypassEntry[],
  sas: IkeSaView[],
  address: string,
): BypassEntry | undefined {
  const live = new Set(sas.filter((x) => x.state === "established").map((x) => x.spis));
  const mine = peers.filter((p) => p.address === address && live.has(p.spis));
  return mine.find((p) => p.authorizedBy !== null) ?? mine.slice(-1)[0];
}

/** What xpclient's wire carried during the first cell. */
interface Wire {
  /** IP protocol 51 (AH): the article's "sign". */
  ah: number;
  /** ESP in UDP 4500 (the esp-null variant). */
  esp: number;
  /** TCP 80 to or from server1 with neither around it. */
  clear: number;
}

/** Starts tcpdump on xpclient's eth0; stop() counts the packets of the first cell. */
async function capture(s: LabState): Promise<{ stop(): Promise<Wire> }> {
  const file = path.join(s.dir, "xpclient-wire.pcap");
  const ns = namespaceOf(s.id, "xpclient");
  const p = spawn(
    "ip",
    [
      "netns",
      "exec",
      ns,
      "tcpdump",
      "-i",
      "eth0",
      "-n",
      "-U",
      "--immediate-mode",
      "-Z",
      "root",
      "-w",
      file,
    ],
    {
      stdio: ["ignore", "ignore", "pipe"],
    },
  );
  await new Promise<void>((resolve) => {
    const t = setTimeout(resolve, 3000);
    p.stderr.on("data", (d: Buffer) => {
      if (/listening on/.test(d.toString())) {
        clearTimeout(t);
        resolve();
      }
    });
  });
  return {
    async stop() {
      p.kill("SIGINT");
      await new Promise((r) => {
        const t = setTimeout(() => {
          p.kill("SIGKILL");
          r(null);
        }, 3000);
        p.once("exit", () => {
          clearTimeout(t);
          r(null);
        });
      });
      const text = run(null, ["tcpdump", "-n", "-r", file]).out;
      const lines = text.split("\n");
      const esp = lines.filter((l) => /UDP-encap: ESP\(spi=/.test(l)).length;
      // tcpdump decodes past AH (it signs, it does not hide), so a signed segment also
      // shows its TCP ports: it is cleartext on the wire but not unprotected.
      const isAh = (l: string) => /: AH\(spi=/.test(l);
      const ah = lines.filter(isAh).length;
      const srv = host("server1").address.replace(/\./g, "\\.");
      const clear = lines.filter(
        (l) => !isAh(l) && new RegExp(`${srv}\\.80[: ].*Flags|> ${srv}\\.80: Flags`).test(l),
      ).length;
      return { ah, esp, clear };
    },
  };
}

async function setTrusted(env: CliEnv, s: LabState, member: boolean): Promise<void> {
  if (s.dc === "samba") {
    await setTrustedInAd(s, member);
    return;
  }
  try {
    await posternHere(env, hostHome(s, "dc1"), [
      "net",
      "group",
      "trusted",
      "xpclient$",
      member ? "/add" : "/delete",
      "/domain",
    ]);
  } catch (e) {
    if (!/already|not a member/i.test((e as Error).message)) throw e;
  }
}

async function purge(env: CliEnv, s: LabState, who: HostName): Promise<void> {
  await posternHere(env, hostHome(s, who), ["klist", "--machine", "purge"]);
}

const outcome = (f: FetchOutcome): Outcome => (f.served ? "served" : "blocked");

export async function labCheck(env: CliEnv, progress: (l: string) => void): Promise<Cell[]> {
  const s = loadLabState(env.home);
  if (s === null) throw new PosternError("lab", "no lab is up in this home (postern lab up)");
  await setTrusted(env, s, true);
  for (const c of ["xpclient", "client2"] as const) await purge(env, s, c);
  await new Promise((r) => setTimeout(r, 300)); // the deletes reach server1
  const cells: Cell[] = [];
  const add = (c: Cell) => {
    cells.push(c);
    progress(
      `lab: ${c.from} (${c.when}): ${c.actual}${c.actual === c.expected ? "" : ` — EXPECTED ${c.expected}`}`,
    );
  };
  const addr = (h: HostName) => host(h).address;

  // 1. xpclient, with a capture of its wire
  const cap = await capture(s);
  const f1 = await fetchFrom(s, "xpclient", "served");
  const wire = await cap.stop();
  let v = await server1(s);
  let e = entryFor(v.bypass, v.sas, addr("xpclient"));
  add({
    from: "xpclient",
    when: "member of trusted",
    expected: "served",
    actual: outcome(f1),
    ms: f1.ms,
    why: `${e ? `Kerberos IKE SA as ${e.principal}; ${e.authorizedBy ? `bypass: ${e.why}` : `not admitted: ${e.why}`}` : "no IKE SA on server1"}; wire: ${wire.ah} AH (IP protocol 51), ${wire.esp} ESP-in-UDP packets, ${wire.clear} cleartext TCP 80`,
  });
  // The article signs with AH; `lab up --sign esp-null` with ESP[None,SHA1] in UDP 4500.
  const signed = s.sign === "esp-null" ? wire.esp : wire.ah;
  const other = s.sign === "esp-null" ? wire.ah : wire.esp;
  const want = s.sign === "esp-null" ? "ESP-in-UDP" : "AH (IP protocol 51)";
  if (signed === 0 || other > 0 || wire.clear > 0)
    cells.push({
      from: "xpclient",
      when: "capture of its wire",
      expected: "served",
      actual: "blocked",
      ms: 0,
      why: `expected ${want} only between xpclient and server1; saw ${wire.ah} AH, ${wire.esp} ESP, ${wire.clear} cleartext TCP 80 packets`,
    });

  // 2. client2 (authenticates, is not in trusted) and 3. outsider (no Kerberos identity),
  // at the same time: each waits out its deadline
  const drops0 = firewallDrops(s, addr("client2"));
  const g0 = guardDrops(s);
  const [f2, f3] = await Promise.all([
    fetchFrom(s, "client2", "blocked"),
    fetchFrom(s, "outsider", "blocked"),
  ]);
  v = await server1(s);
  e = entryFor(v.bypass, v.sas, addr("client2"));
  const drops = firewallDrops(s, addr("client2")) - drops0;
  add({
    from: "client2",
    when: "member, not in trusted",
    expected: "blocked",
    actual: outcome(f2),
    ms: f2.ms,
    why: `${e ? `Kerberos IKE SA as ${e.principal} is up; ${e.authorizedBy ? `admitted: ${e.why}` : e.why}` : "no IKE SA on server1"}; firewall: no exception for TCP 80, ${drops} drops in pfirewall.log`,
  });

  const outsiderSa = v.sas.some((x) => x.remote.address === addr("outsider"));
  add({
    from: "outsider",
    when: "not a domain member",
    expected: "blocked",
    actual: outcome(f3),
    ms: f3.ms,
    why: `${outsiderSa ? "an IKE SA exists (unexpected)" : "no IKE SA (no Kerberos identity to offer)"}; server1's IPsec policy dropped ${guardDrops(s) - g0} cleartext packets (negotiate, no inpass)`,
  });

  // 4. xpclient removed from trusted: its SA and ticket still say trusted
  await setTrusted(env, s, false);
  const f4 = await fetchFrom(s, "xpclient", "served");
  v = await server1(s);
  e = entryFor(v.bypass, v.sas, addr("xpclient"));
  add({
    from: "xpclient",
    when: "after removal from trusted",
    expected: "served",
    actual: outcome(f4),
    ms: f4.ms,
    why: `${e ? `${e.authorizedBy ? "still admitted" : "not admitted"}: ${e.why}` : "no IKE SA on server1"}; its TGT was issued before the change`,
  });

  // 5. ... after klist --machine purge on xpclient
  await purge(env, s, "xpclient");
  await new Promise((r) => setTimeout(r, 300));
  const f5 = await fetchFrom(s, "xpclient", "blocked");
  v = await server1(s);
  e = entryFor(v.bypass, v.sas, addr("xpclient"));
  add({
    from: "xpclient",
    when: "after klist --machine purge",
    expected: "blocked",
    actual: outcome(f5),
    ms: f5.ms,
    why: `${e ? `new Kerberos IKE SA as ${e.principal}; ${e.authorizedBy ? `admitted: ${e.why}` : e.why}` : "no IKE SA on server1"} (new TGT, groups of now)`,
  });

  await setTrusted(env, s, true);
  await purge(env, s, "xpclient");
  if (s.dc === "samba") await failoverCells(env, s, add);
  else await immediateCell(env, s, add);
  return cells;
}

/**
 * server1's agent stopped (by its pid) and started again with `extra`; the clients' SAs
 * reset (also bench/revocation.ts).
 */
export async function restartServer1(
  env: Pick<CliEnv, "home">,
  s: LabState,
  extra: readonly string[],
): Promise<void> {
  await restartLabAgent(env, s, "server1", extra);
  // the clients' SAs died with the old agent: drop them so the next packet negotiates
  for (const c of ["xpclient", "client2"] as const)
    await requestControl(path.join(hostHome(s, c), "agent", "agent.sock"), "delete-sas");
}

/** The agent of lab host `name` stopped (by its pid) and started again with `extra`. */
export async function restartLabAgent(
  env: Pick<CliEnv, "home">,
  s: LabState,
  name: HostName,
  extra: readonly string[],
): Promise<void> {
  const i = s.processes.findIndex((p) => p.name === `${name}-agent`);
  const old = s.processes[i];
  if (old !== undefined) {
    const alive = () => {
      try {
        process.kill(old.pid, 0);
        return true;
      } catch {
        return false;
      }
    };
    if (alive()) process.kill(old.pid, "SIGTERM");
    for (let n = 0; n < 100 && alive(); n++) await new Promise((r) => setTimeout(r, 50));
    if (alive()) process.kill(old.pid, "SIGKILL");
    s.processes.splice(i, 1);
    saveLabState(env.home, s);
  }
  await startAgent(env.home, s, name, extra);
}

/**
 * 6. Immediate revocation (issue 16): server1's agent watches the DC; xpclient, served,
 * is removed from `trusted` and is blocked within seconds, its tickets untouched. The
 * agent is put back as the article has it after, so check can be re-run.
 */
async function immediateCell(env: CliEnv, s: LabState, add: (c: Cell) => void): Promise<void> {
  const xp = host("xpclient").address;
  await restartServer1(env, s, ["--revocation", "immediate"]);
  try {
    const f0 = await fetchFrom(s, "xpclient", "served");
    let v = await server1(s);
    const admitted = entryFor(v.bypass, v.sas, xp);
    if (f0.served === false || admitted?.authorizedBy == null)
      throw new PosternError(
        "lab",
        `immediate revocation cell: xpclient not admitted to start with (${admitted?.why ?? "no SA"})`,
      );
    const t0 = Date.now();
    await setTrusted(env, s, false);
    let gone: BypassEntry | undefined;
    while (Date.now() - t0 < REVOKE_BOUND_MS) {
      v = await server1(s);
      gone = v.bypass.find((p) => p.spis === admitted.spis && p.code === "revoked");
      if (gone !== undefined || !v.sas.some((x) => x.spis === admitted.spis)) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    const ms = Date.now() - t0;
    const f6 = await fetchFrom(s, "xpclient", "blocked");
    v = await server1(s);
    const next = entryFor(v.bypass, v.sas, xp);
    const told = await toldByServer1(s);
    add({
      from: "xpclient",
      when: "removed from trusted, server1 with --revocation immediate (no purge)",
      expected: "blocked",
      actual: ms < REVOKE_BOUND_MS ? outcome(f6) : "served",
      ms,
      why: `revoked ${ms} ms after the change on the DC${gone ? `: ${gone.why}` : ""}; IKE SA deleted; ${next ? `its next SA (same ticket): ${next.authorizedBy ? `admitted: ${next.why}` : next.why}` : "no new SA on server1"}; xpclient was told: ${told ?? "nothing"}`,
    });
  } finally {
    await setTrusted(env, s, true);
    await restartServer1(env, s, []);
    await purge(env, s, "xpclient");
  }
}

/** What server1 told xpclient in their IKE SAs (POSTERN_NOT_ADMITTED), as its mmsas shows. */
async function toldByServer1(s: LabState): Promise<string | null> {
  const sock = path.join(hostHome(s, "xpclient"), "agent", "agent.sock");
  const mm = await requestControl(sock, "mmsas");
  const r = mm.find((x) => x.remote === host("server1").address && x.refusal)?.refusal;
  return r ? `${r.reason}${r.group ? ` (it requires ${r.group})` : ""}` : null;
}

/** The cell fails when server1 has not revoked xpclient within this long of the change. */
const REVOKE_BOUND_MS = 5_000;

/**
 * 6. (Samba lab) dc1 stopped: xpclient's agent is restarted (it forgets the peers' names
 * it had: server1's must come by PTR from dc2's DNS, the second of its DNS servers), purges
 * its tickets and gets new ones from dc2 (the agent located both KDCs through the SRV
 * records; dc1 refuses, dc2 answers) and is still served; client2 still blocked. First dc2
 * must hold what dc1 holds (xpclient$ back in trusted), read on dc2. dc1 is started again
 * after, so check can be re-run.
 */
async function failoverCells(env: CliEnv, s: LabState, add: (c: Cell) => void): Promise<void> {
  const repl = replicated(s);
  const dc1 = labSambaDc(s, "dc1");
  dc1.stop();
  try {
    // a fresh name cache: server1's name has to come by PTR
    await restartLabAgent(env, s, "xpclient", []);
    await purge(env, s, "xpclient");
    await new Promise((r) => setTimeout(r, 300));
    const f6 = await fetchFrom(s, "xpclient", "served");
    const v = await server1(s);
    const e = entryFor(v.bypass, v.sas, host("xpclient").address);
    const tgt = machineTgtIssuer(s, "xpclient");
    add({
      from: "xpclient",
      when: "dc1 stopped, after klist --machine purge",
      expected: "served",
      actual: outcome(f6),
      ms: f6.ms,
      why: `${repl}; dc1 stopped; agent restarted, server1's name from dc2's DNS; ${tgt}; ${e ? `Kerberos IKE SA as ${e.principal}; ${e.authorizedBy ? `bypass: ${e.why}` : `not admitted: ${e.why}`}` : "no IKE SA on server1"}`,
    });
    const f7 = await fetchFrom(s, "client2", "blocked");
    add({
      from: "client2",
      when: "dc1 stopped",
      expected: "blocked",
      actual: outcome(f7),
      ms: f7.ms,
      why: "not in trusted, whichever DC issued its ticket",
    });
  } finally {
    await startSamba(env.home, s, dc1, "dc1");
  }
}

/** "TGT issued at T" from the machine cache of `who` (after the purge: a new one). */
function machineTgtIssuer(s: LabState, who: HostName): string {
  const r = run(null, [
    ...posternArgv(),
    "--home",
    hostHome(s, who),
    "--json",
    "klist",
    "--machine",
  ]);
  try {
    const doc = JSON.parse(r.out) as { credentials?: { server: string; authtime?: string }[] };
    const tgt = doc.credentials?.find((t) => t.server.startsWith("krbtgt/"));
    return tgt
      ? `new TGT (authtime ${tgt.authtime ?? "?"}) from dc2, the one KDC left`
      : "no TGT in its cache";
  } catch {
    return "its cache unreadable";
  }
}

/**
 * xpclient$ in trusted on Samba's directory (dc1), then a bounded wait until dc2 reads the
 * same through Samba's replication: a client may ask either DC's KDC (SRV order).
 */
async function setTrustedInAd(s: LabState, member: boolean): Promise<void> {
  try {
    labSambaDc(s, "dc1").tool(
      "group",
      member ? "addmembers" : "removemembers",
      BYPASS_GROUP,
      "XPCLIENT$",
    );
  } catch (e) {
    if (!/already|not a member|is not/i.test((e as Error).message)) throw e;
  }
  await waitForDc2(
    s,
    `xpclient$ ${member ? "in" : "out of"} ${BYPASS_GROUP}`,
    (dc2) => dc2HasMember(dc2, BYPASS_GROUP, "XPCLIENT$") === member,
  );
}

/**
 * dc2 holds xpclient$ in trusted, as dc1 does (Samba's replication; setTrustedInAd waits); returns
 * what the check saw, for the cell's reason.
 */
function replicated(s: LabState): string {
  const members = labSambaDc(s, "dc2").tool("group", "listmembers", BYPASS_GROUP);
  if (!/^XPCLIENT\$$/im.test(members))
    throw new PosternError(
      "lab",
      "dc2 does not hold xpclient$'s membership of trusted (replication)",
    );
  return "dc2 holds xpclient$ in trusted (replicated)";
}

export function formatMatrix(cells: Cell[]): string {
  const rows = cells.map((c) => [
    `${c.from} (${c.when})`,
    c.actual === "served" ? "page served" : "blocked",
    c.actual === c.expected ? "as expected" : `EXPECTED ${c.expected.toUpperCase()}`,
    c.why,
  ]);
  const w0 = Math.max(4, ...rows.map((r) => (r[0] as string).length));
  const lines = [
    `${"from".padEnd(w0)}  ${"server1:80".padEnd(11)}  ${"verdict".padEnd(11)}  why`,
    `${"-".repeat(w0)}  ${"-".repeat(11)}  ${"-".repeat(11)}  ---`,
  ];
  for (const r of rows)
    lines.push(
      `${(r[0] as string).padEnd(w0)}  ${(r[1] as string).padEnd(11)}  ${(r[2] as string).padEnd(11)}  ${r[3]}`,
    );
  return lines.join("\n");
}
