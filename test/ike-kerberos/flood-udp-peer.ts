/**
 * The real-socket half of the IKE flood test, run inside a network namespace of its own
 * (flood-udp.test.ts makes it), where everything is on the namespace's loopback. Without
 * one of these arguments it does nothing (the test runner loads every file under test/):
 *
 *   node flood-udp-peer.js run      a Kerberos responder on 127.0.0.1:500/4500 and initiators
 *                                   on 127.0.0.2 (quiet baseline) and 127.0.0.3 (under flood);
 *                                   starts the flooder, prints one JSON line of figures
 *   node flood-udp-peer.js flood N S   N IKE_SA_INIT requests to 127.0.0.1:500 from S UDP
 *                                   sockets on 127.1+.x.y (sources that never answer a COOKIE,
 *                                   as spoofed ones cannot); at most FLOOD_MAX_MS long
 */
import { spawn } from "node:child_process";
import * as dgram from "node:dgram";
import { fileURLToPath } from "node:url";
import { randomBytes } from "../../src/crypto/primitives.js";
import { createKerberosAuth } from "../../src/ike/kerberos-auth.js";
import { type IkePeerRunner, startIkePeer } from "../../src/ike/runner.js";
import { selectorFromCidr } from "../../src/ike/selectors.js";
import type { PeerConfig } from "../../src/ike/types.js";
import { createReplayCache } from "../../src/kerberos/acceptor/index.js";
import { getEnctype } from "../../src/kerberos/crypto/index.js";
import { NAME_TYPE, parsePrincipal } from "../../src/kerberos/principal.js";
import { initRequest, initTemplate } from "../ike/flood.js";
import { peer } from "../ike/helpers.js";
import { CLIENT_ID, SERVER_ID } from "./setup.js";
import { makeServiceTicket } from "./tickets.js";

const RESPONDER = "127.0.0.1";
const FLOOD_MAX_MS = 20_000;
const COOKIE_THRESHOLD = 64;
/** Whatever happens, each process of this script is gone after this long. */
const HARD_STOP_MS = 60_000;

function hardStop(): void {
  setTimeout(() => {
    process.stderr.write(`${process.argv[2]}: hard stop after ${HARD_STOP_MS} ms\n`);
    process.exit(3);
  }, HARD_STOP_MS).unref();
}

async function flood(count: number, sources: number): Promise<void> {
  const socks = await Promise.all(
    Array.from(
      { length: sources },
      (_, i) =>
        new Promise<dgram.Socket>((resolve) => {
          const s = dgram.createSocket("udp4");
          s.on("message", () => undefined); // COOKIE answers, ignored
          s.on("error", (e) => {
            process.stderr.write(`flooder socket ${i}: ${e.message}\n`);
            process.exit(1);
          });
          s.bind(0, `127.1.${(i >> 8) + 1}.${i & 0xff}`, () => resolve(s));
        }),
    ),
  );
  const tpl = initTemplate();
  const end = Date.now() + FLOOD_MAX_MS;
  let sent = 0;
  while (sent < count && Date.now() < end) {
    await Promise.all(
      Array.from(
        { length: Math.min(200, count - sent) },
        (_, k) =>
          new Promise<void>((resolve) => {
            socks[(sent + k) % sources]!.send(initRequest(tpl), 500, RESPONDER, () => resolve());
          }),
      ),
    );
    sent += Math.min(200, count - sent);
    await new Promise((r) => setImmediate(r));
  }
  for (const s of socks) s.close();
  process.stdout.write(`${JSON.stringify({ sent })}\n`);
}

function world() {
  const T0 = Date.now();
  const server = parsePrincipal(
    "host/server1.bigfirm.test@BIGFIRM.TEST",
    undefined,
    NAME_TYPE.NT_SRV_HST,
  );
  const client = parsePrincipal(
    "host/xp.bigfirm.test@BIGFIRM.TEST",
    undefined,
    NAME_TYPE.NT_SRV_HST,
  );
  const svc = { etype: 18, key: getEnctype(18).generateKey(), kvno: 3 };
  const ticket = () =>
    makeServiceTicket({
      client,
      service: server,
      serviceKey: svc,
      startMs: T0 - 60_000,
      endMs: T0 + 3600_000,
    });
  const keytab = {
    entries: [
      {
        principal: server,
        timestamp: 0,
        kvno: svc.kvno,
        key: { keytype: svc.etype, keyvalue: svc.key },
      },
    ],
  };
  return { ticket, keytab };
}

const quietLog = () => undefined;
const hooks = { log: quietLog, onChildSa: () => undefined, onChildSaDeleted: () => undefined };

function initiatorPeer(local: string, w: ReturnType<typeof world>): PeerConfig {
  return peer({
    localAddress: local,
    remoteAddress: RESPONDER,
    localId: CLIENT_ID,
    remoteId: SERVER_ID,
    auth: createKerberosAuth({
      initiator: { getServiceTicket: w.ticket, now: Date.now, randomBytes },
    }),
  });
}

/** Initiates from `local` and resolves with the ms to an established IKE SA (or throws). */
async function timeToSa(local: string, w: ReturnType<typeof world>): Promise<number> {
  let established = 0;
  const p = initiatorPeer(local, w);
  const r = await startIkePeer([p], local, {
    ...hooks,
    onIkeSaState: (_n, _s, st) => {
      if (st === "established") established = performance.now();
    },
  });
  const t0 = performance.now();
  r.engine.initiate(p.name);
  // Beyond the retransmission schedule (1 + 2 + 4 + 8 s): a lost datagram is sent again.
  while (!established && performance.now() - t0 < 30_000) await sleep(5);
  await r.close();
  if (!established) throw new Error(`no IKE SA from ${local} within 30 s`);
  return established - t0;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function run(): Promise<void> {
  const w = world();
  const responderPeer: PeerConfig = {
    ...peer({
      localAddress: RESPONDER,
      remoteAddress: "127.0.0.2",
      localId: SERVER_ID,
      remoteTs: [selectorFromCidr("127.0.0.0/8")],
      auth: createKerberosAuth({
        responder: {
          keytab: w.keytab,
          replayCache: createReplayCache({ now: Date.now }),
          now: Date.now,
          randomBytes,
        },
      }),
    }),
    remoteAddress: "%any",
  };
  const responder: IkePeerRunner = await startIkePeer([responderPeer], RESPONDER, {
    ...hooks,
    options: { cookieThreshold: COOKIE_THRESHOLD },
  });
  const quietMs = await timeToSa("127.0.0.2", w);
  const rss0 = process.memoryUsage().rss;
  const [count, sources] = [process.argv[3] ?? "40000", process.argv[4] ?? "1000"];
  const flooder = spawn(
    process.execPath,
    [fileURLToPath(import.meta.url), "flood", count, sources],
    {
      stdio: ["ignore", "pipe", "inherit"],
    },
  );
  let flooderOut = "";
  flooder.stdout.on("data", (b) => {
    flooderOut += b;
  });
  const flooderDone = new Promise<void>((r) => flooder.on("exit", () => r()));
  process.on("exit", () => flooder.kill());
  let maxHalfOpen = 0;
  let rssPeak = rss0;
  const sampler = setInterval(() => {
    maxHalfOpen = Math.max(maxHalfOpen, responder.engine.halfOpen());
    rssPeak = Math.max(rssPeak, process.memoryUsage().rss);
  }, 10);
  const t0 = Date.now();
  while (responder.engine.stats().cookie_required < 1000 && Date.now() - t0 < 10_000)
    await sleep(10);
  const cookiesBefore = responder.engine.stats().cookie_required;
  const floodMs = await timeToSa("127.0.0.3", w);
  const cookiesDuring = responder.engine.stats().cookie_required - cookiesBefore;
  await flooderDone;
  clearInterval(sampler);
  const stats = responder.engine.stats();
  await responder.close();
  process.stdout.write(
    `${JSON.stringify({
      quietMs: +quietMs.toFixed(1),
      floodMs: +floodMs.toFixed(1),
      cookiesBefore,
      cookiesDuring,
      maxHalfOpen,
      rssGrowthMiB: +((rssPeak - rss0) / 2 ** 20).toFixed(1),
      flooder: JSON.parse(flooderOut.trim() || "{}"),
      cookieRequired: stats.cookie_required,
      halfOpenLimitDrops: stats.half_open_limit,
      established: responder.engine.sas().filter((s) => s.state === "established").length,
    })}\n`,
  );
}

// Only when asked: `node --test dist/test/` also loads this file, with no arguments.
const mode = process.argv[2];
if (mode === "flood") {
  hardStop();
  await flood(Number(process.argv[3]), Number(process.argv[4]));
} else if (mode === "run") {
  hardStop();
  await run();
}
