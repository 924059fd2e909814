/**
 * `postern ike initiate|respond --config FILE`: one IKE peer on UDP 500/4500 of the
 * file's local address, printing one JSON line per event on stdout and the IKE log on
 * stderr. `initiate --once` exits 0 when the first child SA is up and 1 when the IKE SA
 * fails; otherwise it runs until SIGTERM/SIGINT.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { CliEnv } from "../cmdline/env.js";
import { defineCommand, type OptionSpec, type Parsed } from "../cmdline/grammar.js";
import { PosternError, UsageError } from "../errors.js";
import { parsePeerFile } from "./config.js";
import { selectorText } from "./selectors.js";
import type { IkeEngine } from "./engine.js";
import { type IkePeerRunner, startIkePeer } from "./runner.js";
import { startWatchdog } from "./watchdog.js";

/** How long closing the sockets may take once the command is over. */
const CLOSE_GRACE_MS = 2000;
/** The watchdog fires this long after --timeout if the process is somehow still there. */
const WATCHDOG_GRACE_MS = 5000;
import type { ChildSaRecord, IkeOptions } from "./types.js";

function childEvent(c: ChildSaRecord, keys: boolean): Record<string, unknown> {
  const hex = (n: number) => n.toString(16).padStart(8, "0");
  return {
    event: "child-sa",
    ikeSa: c.ikeSa,
    spiIn: hex(c.spiIn),
    spiOut: hex(c.spiOut),
    protocol: c.protocol,
    mode: c.mode,
    udpEncap: c.udpEncap,
    encrId: c.encrId,
    encrKeyBits: c.encrKeyBits,
    integId: c.integId,
    tsLocal: c.tsLocal.map(selectorText),
    tsRemote: c.tsRemote.map(selectorText),
    keyBytes: {
      encrIn: c.encrKeyIn.length,
      integIn: c.integKeyIn.length,
      encrOut: c.encrKeyOut.length,
      integOut: c.integKeyOut.length,
    },
    ...(keys
      ? {
          keys: {
            encrIn: c.encrKeyIn.toString("hex"),
            integIn: c.integKeyIn.toString("hex"),
            encrOut: c.encrKeyOut.toString("hex"),
            integOut: c.integKeyOut.toString("hex"),
          },
        }
      : {}),
  };
}

interface IkeArgs {
  verb: string;
  config: string;
  once: boolean;
  keys: boolean;
  timeoutSec: number;
  rekeyAfterMs: number | null;
  deleteAfterMs: number | null;
  rekeyIkeAfterMs: number | null;
  options: Partial<IkeOptions>;
}

function msArg(p: Parsed, name: string): number | null {
  const v = p.str(name);
  if (v === undefined) return null;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0)
    throw new UsageError(`ike: --${name} needs a number of milliseconds`);
  return n;
}

function ikeArgs(p: Parsed): IkeArgs {
  const timeoutSec = Number(p.str("timeout") ?? "30");
  if (!Number.isFinite(timeoutSec) || timeoutSec <= 0)
    throw new UsageError("ike: --timeout needs a positive number of seconds");
  return {
    verb: p.path.split(" ")[1] as string,
    config: p.str("config") as string,
    once: p.flag("once"),
    keys: p.flag("print-keys"),
    timeoutSec,
    rekeyAfterMs: msArg(p, "rekey-after-ms"),
    deleteAfterMs: msArg(p, "delete-after-ms"),
    rekeyIkeAfterMs: msArg(p, "rekey-ike-after-ms"),
    options: engineOptions(p),
  };
}

/** --liveness-ms, --retransmit MS,TRIES, --initial-contact yes|no: the engine's knobs. */
function engineOptions(p: Parsed): Partial<IkeOptions> {
  const o: Partial<IkeOptions> = {};
  const live = msArg(p, "liveness-ms");
  if (live !== null) o.livenessMs = live;
  const rt = p.str("retransmit");
  if (rt !== undefined) {
    const m = /^(\d+),(\d+)$/.exec(rt);
    if (!m) throw new UsageError("ike: --retransmit needs MS,TRIES (e.g. 500,3)");
    o.retransmitBaseMs = Number(m[1]);
    o.retransmitTries = Number(m[2]);
  }
  const ic = p.str("initial-contact");
  if (ic !== undefined) {
    if (ic !== "yes" && ic !== "no") throw new UsageError("ike: --initial-contact needs yes or no");
    o.initialContact = ic === "yes";
  }
  return o;
}

const CONFIG: OptionSpec = {
  name: "config",
  type: "string",
  value: "FILE",
  required: true,
  help: "the peer file (JSON, docs/ike.md)",
  complete: "file",
};
const PRINT_KEYS: OptionSpec = {
  name: "print-keys",
  type: "boolean",
  help: "add the child SA keys to the events (lab use only)",
};
const LAB_OPTIONS: readonly OptionSpec[] = [
  {
    name: "rekey-after-ms",
    type: "string",
    value: "N",
    help: "rekey the first child SA N ms after it is up",
  },
  {
    name: "rekey-ike-after-ms",
    type: "string",
    value: "N",
    help: "rekey the IKE SA N ms after the first child SA",
  },
  {
    name: "delete-after-ms",
    type: "string",
    value: "N",
    help: "delete the IKE SA N ms after the first child SA",
  },
  {
    name: "liveness-ms",
    type: "string",
    value: "N",
    help: "liveness check after N ms of silence (default 30000; 0 off)",
  },
  {
    name: "retransmit",
    type: "string",
    value: "MS,TRIES",
    help: "first retransmission delay and transmissions (default 1000,5)",
  },
  {
    name: "initial-contact",
    type: "string",
    value: "yes|no",
    help: "send INITIAL_CONTACT when no SA with the peer exists (default yes)",
  },
];

export const ikeCommand = defineCommand({
  name: "ike",
  summary: "run one IKEv2 peer (initiate or respond) from a peer file, printing SA events",
  help: `postern ike - run one IKEv2 peer (RFC 7296) on UDP 500 and 4500

SYNOPSIS
  postern ike initiate --config FILE [--once] [--timeout SEC] [--print-keys]
  postern ike respond  --config FILE [--print-keys]
  lab options: --rekey-after-ms N (rekey the first child SA N ms after it is up),
               --rekey-ike-after-ms N (rekey the IKE SA N ms after the first child SA),
               --delete-after-ms N (delete the IKE SA N ms after the first child SA),
               --liveness-ms N (liveness check after N ms of silence; default 30000, 0 off),
               --retransmit MS,TRIES (default 1000,5), --initial-contact yes|no (default yes)

The peer file is JSON (see docs/ike.md): local, remote, psk, ike/esp methods, traffic
selectors, mode. Events go to stdout as JSON lines (ike-sa, child-sa, child-sa-deleted);
the IKE log goes to stderr. --once exits 0 when the first child SA is up, 1 on failure
or after --timeout seconds (default 30). --print-keys adds the child SA keys (lab use only).
`,
  subcommands: [
    {
      name: "initiate",
      summary: "start the exchange with the peer file's remote",
      options: [
        CONFIG,
        { name: "once", type: "boolean", help: "exit 0 at the first child SA, 1 on failure" },
        {
          name: "timeout",
          type: "string",
          value: "SEC",
          help: "with --once: give up after SEC seconds (default 30)",
        },
        PRINT_KEYS,
        ...LAB_OPTIONS,
      ],
      run: (p, env) => runPeer(ikeArgs(p), env),
    },
    {
      name: "respond",
      summary: "wait for the peer file's remote",
      options: [CONFIG, PRINT_KEYS, ...LAB_OPTIONS],
      run: (p, env) => runPeer(ikeArgs(p), env),
    },
  ],
});

async function runPeer(a: IkeArgs, env: CliEnv): Promise<number> {
  const file = path.resolve(env.cwd, a.config);
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (e) {
    throw new PosternError(
      "config",
      `cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
    );
  }
  const peer = parsePeerFile(text, a.config, {
    readFile: (p) => fs.readFileSync(path.resolve(path.dirname(file), p), "utf8"),
    now: () => Date.now(),
  });
  const emit = (o: Record<string, unknown>) => env.out(JSON.stringify(o));
  return new Promise<number>((resolve, reject) => {
    // --once is bounded from the start (binding included): the timer ends the command,
    // closing is given CLOSE_GRACE_MS, and the watchdog kills the process if even that
    // does not happen (a main thread that never returns to its event loop).
    const deadlineMs = a.timeoutSec * 1000;
    const watchdog = a.once ? startWatchdog(deadlineMs + WATCHDOG_GRACE_MS) : null;
    let runner: IkePeerRunner | null = null;
    let done = false;
    let first = true;
    const later: NodeJS.Timeout[] = [];
    const stop = () => finish(0);
    const finish = (code: number) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      for (const t of later) clearTimeout(t);
      process.off("SIGTERM", stop);
      process.off("SIGINT", stop);
      const settle = () => {
        watchdog?.disarm();
        resolve(code);
      };
      if (runner === null) return settle();
      runner.transport.unref?.();
      const grace = new Promise<void>((r) => setTimeout(r, CLOSE_GRACE_MS).unref());
      Promise.race([runner.close(), grace]).then(settle, (e) => {
        watchdog?.disarm();
        reject(e);
      });
    };
    const timer = setTimeout(() => {
      if (a.once) env.err(`ike: no child SA within ${a.timeoutSec} s: giving up`);
      finish(1);
    }, deadlineMs);
    if (!a.once) clearTimeout(timer);
    process.once("SIGTERM", stop);
    process.once("SIGINT", stop);
    let engine: IkeEngine | null = null;
    const current = (): string => engine?.sas().find((x) => x.state === "established")?.spis ?? "";
    startIkePeer([peer], peer.localAddress, {
      options: a.options,
      log: (l) => env.err(l),
      onChildSa: (c) => {
        emit(childEvent(c, a.keys));
        if (a.once) finish(0);
        if (!first) return;
        first = false;
        if (a.rekeyAfterMs !== null)
          later.push(setTimeout(() => engine?.rekeyChild(c.spiIn), a.rekeyAfterMs));
        if (a.rekeyIkeAfterMs !== null)
          later.push(setTimeout(() => engine?.rekeyIkeSa(current()), a.rekeyIkeAfterMs));
        if (a.deleteAfterMs !== null)
          later.push(setTimeout(() => engine?.deleteIkeSa(current()), a.deleteAfterMs));
      },
      onChildSaDeleted: (spi) =>
        emit({ event: "child-sa-deleted", spiIn: spi.toString(16).padStart(8, "0") }),
      onIkeSaState: (_p, spis, state) => {
        emit({ event: "ike-sa", spis, state });
        if (a.once && state === "closed") finish(1);
      },
    })
      .then((r) => {
        runner = r;
        engine = r.engine;
        if (done) {
          // The deadline or a signal came while binding: close now, within the grace.
          r.transport.unref?.();
          void r.close();
          return;
        }
        emit({ event: "listening", address: peer.localAddress });
        if (a.verb === "initiate") r.engine.initiate(peer.name);
      })
      .catch((e: NodeJS.ErrnoException) => {
        done = true;
        clearTimeout(timer);
        watchdog?.disarm();
        process.off("SIGTERM", stop);
        process.off("SIGINT", stop);
        reject(
          new PosternError(
            "config",
            `cannot bind UDP 500/4500 on ${peer.localAddress}: ${e.code ?? e.message}`,
          ),
        );
      });
  });
}
