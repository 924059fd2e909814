/**
 * IKE under load (issue 18 item 5): N concurrent IKE SAs (each with its child SA) set up by
 * one load generator against one responder, in one run, three responders in turn:
 *
 *   postern, Kerberos  postern's IKE engine and UDP transport as the agent runs them
 *                      (src/ike/runner.ts), authenticating each initiator by an AP-REQ
 *                      in IKE_AUTH: its own service ticket with a PAC of groups, checked
 *                      against the keytab and the replay cache (no KDC: the generator
 *                      issues the tickets itself, as tickets.ts does for the IKE tests)
 *   postern, PSK       the same responder with a preshared key (the like-for-like row)
 *   charon, PSK        strongSwan's charon 5.9, the peer the issue names; swanctl's
 *                      connection accepts any initiator of 10.78/16. It runs kernel-libipsec
 *                      (this kernel has no XFRM SAs) and installs each child SA there, while
 *                      postern's responder here hands its child SAs to nothing: charon does
 *                      a little more per setup, said beside the figures.
 *
 * Two network namespaces made for the run, joined by a veth, no route out: the responder on
 * 10.77.0.1, initiator i on 10.78.x.y in the generator's namespace (10.78/16 is local there
 * by a `local` route; its own UDP sockets, its own ID and client principal, so no two SAs
 * are the same peer). The generator keeps INFLIGHT setups running, each timed from
 * initiate() to its child SA, and keeps every SA up: at the end the responder holds N IKE
 * SAs at once, and its RSS is read from /proc. Every IKE proposal is AES-GCM-16-128 /
 * PRF-HMAC-SHA2-256 / Curve25519, ESP AES-GCM-16-128 in tunnel mode
 * between inner addresses (10.79.0.1 and 10.80.x.y), no PFS.
 *
 *   node dist/bench/ike-load.js [--sas 1000] [--inflight 50] [--only KIND]
 *                                                       (root; --smoke: 20 SAs, 5 in flight)
 *
 * Diagnostics by environment: IKE_LOAD_CPU_PROF=DIR (the postern responder writes KIND.cpuprofile
 * there), IKE_LOAD_CHARON_LOGLEVEL=N and IKE_LOAD_KEEP=DIR (charon's log at level N kept in
 * DIR). A setup that fails prints its initiator's log on stderr.
 *
 * Internal modes (spawned in the namespace by the run): `responder KIND WORLD`,
 * `generate KIND WORLD N INFLIGHT`. Without arguments other than the options above it runs
 * the whole bench; every process stops itself after HARD_STOP_MS.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { performance } from "node:perf_hooks";
import * as readline from "node:readline";
import { fileURLToPath } from "node:url";
import { randomBytes } from "../src/crypto/primitives.js";
import { createPskAuth } from "../src/ike/auth.js";
import { createKerberosAuth } from "../src/ike/kerberos-auth.js";
import { type IkePeerRunner, startIkePeer } from "../src/ike/runner.js";
import { selectorFromCidr } from "../src/ike/selectors.js";
import type { PeerConfig } from "../src/ike/types.js";
import { createReplayCache } from "../src/kerberos/acceptor/index.js";
import { getEnctype } from "../src/kerberos/crypto/index.js";
import { NAME_TYPE, parsePrincipal } from "../src/kerberos/principal.js";
import { peer } from "../test/ike/helpers.js";
import { CHARON, waitFor } from "../test/ike/lab.js";
import { makeServiceTicket } from "../test/ike-kerberos/tickets.js";
import { uniqueName } from "../test/helpers/cli.js";
import { SMOKE } from "./smoke.js";

const here = fileURLToPath(import.meta.url);
const RESPONDER = "10.77.0.1";
/** The generator's end of the veth. */
const GENERATOR = "10.77.0.2";
/** The initiators' addresses: local to the generator's namespace (AnyIP), routed by the veth. */
const INITIATORS = "10.78.0.0/16";
/**
 * Tunnel mode between inner addresses (charon's kernel-libipsec cannot protect its own IKE
 * addresses host to host): the responder's 10.79.0.1, initiator i's 10.80.x.y.
 */
const INNER_RESPONDER = "10.79.0.1";
const INNER_INITIATORS = "10.80.0.0/16";
const PSK = "ike load bench shared secret";
const REALM = "BIGFIRM.TEST";
const DOMAIN_SID = "S-1-5-21-1004336348-1177238915-682003330";
/** Every process of this bench is gone after this long, whatever happens. */
const HARD_STOP_MS = 240_000;
/** A setup not done after this long counts as failed (IKE retransmits 1 + 2 + 4 + 8 s). */
const SETUP_TIMEOUT_MS = 20_000;

type Kind = "postern-kerberos" | "postern-psk" | "charon-psk";
const KINDS: Kind[] = ["postern-kerberos", "postern-psk", "charon-psk"];

/** What the generator and the responder share: the responder's service key. */
interface World {
  etype: number;
  keyHex: string;
  kdcKeyHex: string;
  kvno: number;
}

function option(name: string, fallback: number, max: number): number {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const v = Number(process.argv[i + 1]);
  if (!Number.isInteger(v) || v < 1 || v > max) throw new Error(`--${name} needs 1..${max}`);
  return v;
}

function hardStop(what: string): void {
  setTimeout(() => {
    process.stderr.write(`bench/ike-load ${what}: hard stop after ${HARD_STOP_MS} ms\n`);
    process.exit(3);
  }, HARD_STOP_MS).unref();
}

const SERVER = parsePrincipal(
  `host/server1.bigfirm.test@${REALM}`,
  undefined,
  NAME_TYPE.NT_SRV_HST,
);
const quiet = {
  log: () => undefined,
  onChildSa: () => undefined,
  onChildSaDeleted: () => undefined,
};
const mm = [{ conf: "aes128gcm", hash: "sha256", dhGroup: 31 }] as PeerConfig["mm"];

/** Initiator i's inner (tunnelled) address: 10.80.0.1, 10.80.0.2, ... */
function innerAddress(i: number): string {
  const n = i + 1;
  return `10.80.${n >> 8}.${n & 0xff}`;
}

/** Initiator i's address: 10.78.0.1, 10.78.0.2, ... */
function initiatorAddress(i: number): string {
  const n = i + 1;
  return `10.78.${n >> 8}.${n & 0xff}`;
}

// ---- the responder (postern kinds), in the namespace ----

async function responder(kind: Kind, world: World): Promise<void> {
  hardStop("responder");
  // An orderly exit on SIGTERM, so that --cpu-prof writes its profile.
  process.on("SIGTERM", () => process.exit(0));
  const key = { keytype: world.etype, keyvalue: Buffer.from(world.keyHex, "hex") };
  const auth =
    kind === "postern-kerberos"
      ? createKerberosAuth({
          responder: {
            keytab: { entries: [{ principal: SERVER, timestamp: 0, kvno: world.kvno, key }] },
            replayCache: createReplayCache({ now: Date.now }),
            now: Date.now,
            randomBytes,
          },
        })
      : createPskAuth(PSK);
  const config: PeerConfig = {
    ...peer({
      localAddress: RESPONDER,
      remoteAddress: "10.78.0.1",
      localId: kind === "postern-kerberos" ? "fqdn:server1.bigfirm.test" : RESPONDER,
      localTs: [selectorFromCidr(`${INNER_RESPONDER}/32`)],
      remoteTs: [selectorFromCidr(INNER_INITIATORS)],
      mm,
      auth,
    }),
    remoteAddress: "%any",
  };
  const r = await startIkePeer([config], RESPONDER, quiet);
  process.stdout.write("ready\n");
  for await (const line of readline.createInterface({ input: process.stdin })) {
    if (line.trim() !== "count") continue;
    const up = r.engine.sas().filter((s) => s.state === "established").length;
    process.stdout.write(`${up}\n`);
  }
  await r.close();
}

// ---- the load generator, in the namespace ----

async function generate(kind: Kind, world: World, n: number, inflight: number): Promise<void> {
  hardStop("generator");
  const serviceKey = {
    etype: world.etype,
    key: Buffer.from(world.keyHex, "hex"),
    kvno: world.kvno,
  };
  const kdcKey = { etype: world.etype, key: Buffer.from(world.kdcKeyHex, "hex"), kvno: 1 };
  const now = Date.now();
  const configOf = (i: number): PeerConfig => {
    const local = initiatorAddress(i);
    const base = { localAddress: local, remoteAddress: RESPONDER, mm };
    const inner = {
      localTs: [selectorFromCidr(`${innerAddress(i)}/32`)],
      remoteTs: [selectorFromCidr(`${INNER_RESPONDER}/32`)],
    };
    if (kind !== "postern-kerberos") return peer({ ...base, ...inner, auth: createPskAuth(PSK) });
    const client = parsePrincipal(
      `host/c${i}.bigfirm.test@${REALM}`,
      undefined,
      NAME_TYPE.NT_SRV_HST,
    );
    const ticket = makeServiceTicket({
      client,
      service: SERVER,
      serviceKey,
      pac: { kdcKey, domainSid: DOMAIN_SID, userRid: 5000 + i, groupRids: [515, 1104, 1105] },
      startMs: now - 60_000,
      endMs: now + 3600_000,
    });
    return peer({
      ...base,
      ...inner,
      localId: `fqdn:c${i}.bigfirm.test`,
      remoteId: "fqdn:server1.bigfirm.test",
      auth: createKerberosAuth({
        initiator: { getServiceTicket: () => ticket, now: Date.now, randomBytes },
      }),
    });
  };
  // Sockets and engines first, outside the timing.
  const runners: IkePeerRunner[] = [];
  const names: string[] = [];
  const done: Array<(() => void) | null> = [];
  // Each initiator's log, kept to name what went wrong with a setup that failed.
  const logs: string[][] = [];
  for (let i = 0; i < n; i++) {
    const at = i;
    const config = configOf(i);
    done.push(null);
    names.push(config.name);
    logs.push([]);
    runners.push(
      await startIkePeer([config], initiatorAddress(i), {
        ...quiet,
        log: (line: string) => logs[at]!.push(`${(performance.now() / 1000).toFixed(3)} ${line}`),
        onChildSa: () => done[at]?.(),
      }),
    );
  }
  const times: number[] = [];
  let failed = 0;
  let next = 0;
  const t0 = performance.now();
  const lane = async () => {
    while (next < n) {
      const i = next++;
      const start = performance.now();
      const ok = await new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(false), SETUP_TIMEOUT_MS);
        done[i] = () => {
          clearTimeout(timer);
          resolve(true);
        };
        runners[i]!.engine.initiate(names[i]!);
      });
      done[i] = null;
      if (ok) times.push(performance.now() - start);
      else {
        failed++;
        process.stderr.write(
          `bench/ike-load: ${kind} setup ${i} (${initiatorAddress(i)}) failed after ${SETUP_TIMEOUT_MS} ms; its log:\n${logs[i]!.map((l) => `  ${l}\n`).join("")}`,
        );
      }
      logs[i] = [];
    }
  };
  await Promise.all(Array.from({ length: Math.min(inflight, n) }, lane));
  const wallMs = performance.now() - t0;
  const s = [...times].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? Number.NaN;
  process.stdout.write(
    `${JSON.stringify({
      ok: times.length,
      failed,
      wallMs,
      perSecond: (times.length / wallMs) * 1000,
      p50: at(0.5),
      p99: at(0.99),
      max: s[s.length - 1] ?? Number.NaN,
      generatorRssMiB: process.memoryUsage().rss / 2 ** 20,
    })}\n`,
  );
  // Every SA stays up until the run has counted the responder's: EOF on stdin ends it.
  for await (const _ of readline.createInterface({ input: process.stdin })) {
    // nothing asked of the generator after its result
  }
  process.exit(0);
}

// ---- the run (parent, root) ----

function ns(name: string, ...args: string[]): string[] {
  return ["netns", "exec", name, ...args];
}

function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) / 1024 : Number.NaN;
}

async function stopChild(c: ChildProcess): Promise<void> {
  if (c.exitCode !== null || c.signalCode !== null) return;
  const gone = new Promise((r) => c.once("exit", r));
  c.stdin?.end();
  c.kill("SIGTERM");
  await Promise.race([gone, new Promise((r) => setTimeout(r, 3000))]);
  if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
}

interface ResponderHandle {
  pid: number;
  /** IKE SAs established at the responder. */
  count(): Promise<number>;
  stop(): Promise<void>;
}

async function startPosternResponder(
  netns: string,
  kind: Kind,
  worldFile: string,
): Promise<ResponderHandle> {
  // IKE_LOAD_CPU_PROF=DIR: the responder writes a V8 CPU profile there when it stops.
  const prof = process.env.IKE_LOAD_CPU_PROF;
  const flags = prof
    ? ["--cpu-prof", "--cpu-prof-dir", prof, "--cpu-prof-name", `${kind}.cpuprofile`]
    : [];
  const c = spawn("ip", ns(netns, process.execPath, ...flags, here, "responder", kind, worldFile), {
    stdio: ["pipe", "pipe", "inherit"],
  });
  const lines = readline.createInterface({ input: c.stdout! })[Symbol.asyncIterator]();
  const first = await Promise.race([
    lines.next(),
    new Promise<{ value: string }>((r) => setTimeout(() => r({ value: "timeout" }), 30_000)),
  ]);
  if (first.value !== "ready") {
    await stopChild(c);
    throw new Error(`postern responder did not start (${String(first.value)})`);
  }
  return {
    pid: c.pid!,
    async count() {
      c.stdin!.write("count\n");
      return Number((await lines.next()).value);
    },
    stop: () => stopChild(c),
  };
}

const CHARON_CONF = (dir: string) => `charon {
  port = 500
  port_nat_t = 4500
  install_routes = no
  load_modular = no
  load = random nonce openssl pem pkcs1 pkcs8 x509 pubkey constraints aes sha1 sha2 hmac kdf gcm gmp kernel-libipsec kernel-netlink socket-default vici
  filelog {
    main {
      path = ${dir}/charon.log
      default = ${process.env.IKE_LOAD_CHARON_LOGLEVEL ?? "0"}
    }
  }
  plugins {
    vici {
      socket = unix://${dir}/charon.vici
    }
  }
}
`;

const SWANCTL_CONF = `connections {
  load {
    version = 2
    local_addrs = ${RESPONDER}
    remote_addrs = ${INITIATORS}
    proposals = aes128gcm16-prfsha256-curve25519
    rekey_time = 0
    local {
      auth = psk
      id = ${RESPONDER}
    }
    remote {
      auth = psk
      id = %any
    }
    children {
      load {
        local_ts = ${INNER_RESPONDER}/32
        remote_ts = ${INNER_INITIATORS}
        esp_proposals = aes128gcm16
        mode = tunnel
        rekey_time = 0
        start_action = none
      }
    }
  }
}
secrets {
  ike-any {
    secret = "${PSK}"
  }
}
`;

async function startCharonResponder(netns: string): Promise<ResponderHandle> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ikeload-charon-"));
  fs.mkdirSync(path.join(dir, "run"));
  fs.writeFileSync(path.join(dir, "strongswan.conf"), CHARON_CONF(dir));
  fs.writeFileSync(path.join(dir, "swanctl.conf"), SWANCTL_CONF);
  const uri = `unix://${dir}/charon.vici`;
  // charon writes its pid file and socket under /run: a mount namespace of its own keeps
  // them apart from any charon of the host.
  const c = spawn(
    "ip",
    ns(netns, "unshare", "-m", "sh", "-c", `mount --bind ${dir}/run /run && exec ${CHARON}`),
    {
      env: { ...process.env, STRONGSWAN_CONF: path.join(dir, "strongswan.conf") },
      stdio: "ignore",
    },
  );
  const stop = async () => {
    await stopChild(c);
    // IKE_LOAD_KEEP=DIR keeps charon's log (IKE_LOAD_CHARON_LOGLEVEL=1 makes it useful)
    const keep = process.env.IKE_LOAD_KEEP;
    if (keep && fs.existsSync(`${dir}/charon.log`))
      fs.copyFileSync(`${dir}/charon.log`, path.join(keep, "charon.log"));
    fs.rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitFor("charon's vici socket", () => fs.existsSync(`${dir}/charon.vici`));
    const r = spawnSync(
      "swanctl",
      ["--load-all", "--file", path.join(dir, "swanctl.conf"), "--uri", uri],
      {
        encoding: "utf8",
      },
    );
    if (r.status !== 0) throw new Error(`swanctl --load-all: ${r.stderr || r.stdout}`);
  } catch (e) {
    await stop();
    throw e;
  }
  return {
    pid: c.pid!,
    async count() {
      const r = spawnSync("swanctl", ["--stats", "--uri", uri], { encoding: "utf8" });
      const m = /IKE_SAs: (\d+) total/.exec(r.stdout);
      return m ? Number(m[1]) : Number.NaN;
    },
    stop,
  };
}

interface Row {
  kind: Kind;
  ok: number;
  failed: number;
  perSecond: number;
  p50: number;
  p99: number;
  max: number;
  up: number;
  rssBefore: number;
  rssAfter: number;
}

interface Net {
  responder: string;
  generator: string;
}

async function oneRun(
  net: Net,
  kind: Kind,
  worldFile: string,
  n: number,
  inflight: number,
): Promise<Row> {
  const resp =
    kind === "charon-psk"
      ? await startCharonResponder(net.responder)
      : await startPosternResponder(net.responder, kind, worldFile);
  let gen: ChildProcess | null = null;
  try {
    const rssBefore = rssMiB(resp.pid);
    gen = spawn(
      "ip",
      ns(
        net.generator,
        process.execPath,
        here,
        "generate",
        kind,
        worldFile,
        String(n),
        String(inflight),
      ),
      { stdio: ["pipe", "pipe", "inherit"] },
    );
    const lines = readline.createInterface({ input: gen.stdout! })[Symbol.asyncIterator]();
    const line = String((await lines.next()).value);
    let res: Omit<Row, "kind" | "up" | "rssBefore" | "rssAfter">;
    try {
      res = JSON.parse(line);
    } catch {
      throw new Error(`${kind}: the generator said ${JSON.stringify(line)}`);
    }
    // The responder may still be finishing the last exchanges' bookkeeping.
    await new Promise((r) => setTimeout(r, 500));
    const up = await resp.count();
    const rssAfter = rssMiB(resp.pid);
    return { kind, ...res, up, rssBefore, rssAfter };
  } finally {
    if (gen) await stopChild(gen);
    await resp.stop();
  }
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error("needs root (a network namespace)");
  const n = SMOKE ? 20 : option("sas", 1000, 5000);
  const inflight = SMOKE ? 5 : option("inflight", 50, 1000);
  const net: Net = { responder: uniqueName("iklr"), generator: uniqueName("iklg") };
  const [vr, vg] = [uniqueName("iklvr"), uniqueName("iklvg")];
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ikeload-"));
  const worldFile = path.join(dir, "world.json");
  const enc = getEnctype(18);
  const world: World = {
    etype: 18,
    keyHex: Buffer.from(enc.generateKey()).toString("hex"),
    kdcKeyHex: Buffer.from(enc.generateKey()).toString("hex"),
    kvno: 2,
  };
  fs.writeFileSync(worldFile, JSON.stringify(world), { mode: 0o600 });
  const rows: Row[] = [];
  try {
    for (const cmd of [
      `netns add ${net.responder}`,
      `netns add ${net.generator}`,
      `link add ${vr} netns ${net.responder} type veth peer name ${vg} netns ${net.generator}`,
      `-n ${net.responder} addr add ${RESPONDER}/24 dev ${vr}`,
      `-n ${net.generator} addr add ${GENERATOR}/24 dev ${vg}`,
      `-n ${net.responder} link set ${vr} up`,
      `-n ${net.generator} link set ${vg} up`,
      `-n ${net.responder} link set lo up`,
      `-n ${net.generator} link set lo up`,
      `-n ${net.generator} route add local ${INITIATORS} dev lo`,
      `-n ${net.responder} route add ${INITIATORS} via ${GENERATOR}`,
      // kernel-libipsec routes each child SA's remote selector through its TUN with the
      // local selector's address as the source: that address must be the responder's.
      `-n ${net.responder} addr add ${INNER_RESPONDER}/32 dev lo`,
    ]) {
      const r = spawnSync("ip", cmd.split(" "), { encoding: "utf8" });
      if (r.status !== 0) throw new Error(`ip ${cmd}: ${r.stderr.trim()}`);
    }
    const load0 = os.loadavg()[0]!;
    const only = process.argv.indexOf("--only");
    const kinds = only >= 0 ? KINDS.filter((k) => k === process.argv[only + 1]) : KINDS;
    for (const kind of kinds) {
      process.stderr.write(`bench/ike-load: ${kind}, ${n} SAs, ${inflight} in flight...\n`);
      rows.push(await oneRun(net, kind, worldFile, n, inflight));
    }
    const f = (x: number | null, d = 1) => (x === null || !Number.isFinite(x) ? "-" : x.toFixed(d));
    console.log(
      `IKE under load: ${n} concurrent IKE SAs (+ child SA each), ${inflight} setups in flight, one generator, one responder, two namespaces and a veth; load average ${f(load0)} -> ${f(os.loadavg()[0]!)} on ${os.cpus().length} CPUs`,
    );
    console.log(
      "| responder | auth | set up (failed) | SAs at responder | setups/s | p50 ms | p99 ms | max ms | responder RSS MiB before -> after | KiB per SA |",
    );
    console.log("|---|---|---|---|---|---|---|---|---|---|");
    for (const r of rows) {
      const [who, auth] = r.kind.split("-") as [string, string];
      const perSa = ((r.rssAfter - r.rssBefore) * 1024) / Math.max(1, r.up);
      console.log(
        `| ${who} | ${auth} | ${r.ok} (${r.failed}) | ${r.up} | ${f(r.perSecond)} | ${f(r.p50)} | ${f(r.p99)} | ${f(r.max)} | ${f(r.rssBefore)} -> ${f(r.rssAfter)} | ${f(perSa)} |`,
      );
    }
    // The ratios need charon's row (absent with --only a postern kind).
    const charon = rows.find((r) => r.kind === "charon-psk");
    for (const r of rows) {
      if (!charon || r === charon) continue;
      const who = r.kind === "postern-kerberos" ? "postern Kerberos" : "postern PSK";
      console.log(
        `ratio setups/s ${who} / charon PSK: ${f(r.perSecond / charon.perSecond, 2)}; p99: ${f(r.p99 / charon.p99, 2)}`,
      );
    }
    // postern's rows must be whole; charon's failures are its own and are shown in the table
    const bad = rows.filter((r) =>
      r.kind === "charon-psk" ? r.ok === 0 : r.failed > 0 || r.up !== n,
    );
    if (bad.length > 0)
      throw new Error(
        `not every SA came up: ${bad.map((r) => `${r.kind} ${r.ok}/${n}, ${r.up} at the responder`).join("; ")}`,
      );
  } finally {
    spawnSync("ip", ["netns", "del", net.responder]);
    spawnSync("ip", ["netns", "del", net.generator]);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const mode = process.argv[2];
if (mode === "responder") {
  await responder(process.argv[3] as Kind, JSON.parse(fs.readFileSync(process.argv[4]!, "utf8")));
} else if (mode === "generate") {
  await generate(
    process.argv[3] as Kind,
    JSON.parse(fs.readFileSync(process.argv[4]!, "utf8")),
    Number(process.argv[5]),
    Number(process.argv[6]),
  );
} else {
  main().catch((e: Error) => {
    console.error(`bench/ike-load: ${e.message}`);
    process.exit(1);
  });
}
