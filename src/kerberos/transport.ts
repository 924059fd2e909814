/**
 * Talking to a realm's KDCs (RFC 4120 §7.2.1, §7.2.2):
 *
 *   1. pick UDP unless the request is larger than `udpPreferenceLimit` bytes (MIT's
 *      udp_preference_limit, default 1465; 1 means always TCP);
 *   2. send to each KDC of the realm in order; UDP is one datagram each way, TCP is one
 *      record each way with a 4-byte big-endian length prefix; a KDC whose `protocol` is
 *      given (found through DNS SRV) is asked over that one, and when the request is too
 *      large for UDP the KDCs that say "tcp" come first (stable order otherwise);
 *   3. a KRB-ERROR KRB_ERR_RESPONSE_TOO_BIG (52) over UDP -> the same KDC again over TCP;
 *   4. a timeout or a refused connection -> the next KDC; at most `maxRounds` passes over
 *      the list, each attempt bounded by `timeoutMs`;
 *   5. nothing answered -> TransportError "kdc-unreachable" naming the realm and addresses.
 *
 * The sockets live behind `KdcIo` (real: `createNodeKdcIo`; tests: a fake), so the retry
 * logic is tested without a network.
 */
import * as dgram from "node:dgram";
import * as net from "node:net";
import { PosternError } from "../errors.js";
import type { KdcAddress } from "./config.js";
import { KRB_ERROR_CODE } from "./messages/error-codes.js";
import { decodeKrbError } from "./messages/krb-error.js";

export type Protocol = "udp" | "tcp";

export class TransportError extends PosternError {
  constructor(code: "kdc-unreachable" | "kdc-io", message: string) {
    super(code, message);
    this.name = "TransportError";
  }
}

/** One request/reply exchange with one KDC; rejects on timeout or socket error. */
export interface KdcIo {
  exchange(
    proto: Protocol,
    kdc: KdcAddress,
    request: Uint8Array,
    timeoutMs: number,
  ): Promise<Uint8Array>;
}

/** What the client sees: send a message to a realm's KDCs, get the reply bytes. */
export interface KdcTransport {
  send(realm: string, request: Uint8Array): Promise<Uint8Array>;
}

export interface TransportOptions {
  io: KdcIo;
  /** The KDCs of a realm (from krb5.conf); throws when the realm has none. */
  kdcsOf(realm: string): KdcAddress[];
  udpPreferenceLimit?: number;
  timeoutMs?: number;
  maxRounds?: number;
  /** Called for each attempt (logging, tests). */
  onAttempt?(proto: Protocol, kdc: KdcAddress, outcome: string): void;
}

export const DEFAULT_UDP_PREFERENCE_LIMIT = 1465;
export const DEFAULT_KDC_TIMEOUT_MS = 3000;
export const DEFAULT_MAX_ROUNDS = 2;
/** Largest TCP record we accept (MIT's KDC allows 1 MiB). */
export const MAX_TCP_RECORD = 1 << 20;

/** A KRB-ERROR (APPLICATION 30) whose error-code is 52. */
export function isResponseTooBig(reply: Uint8Array): boolean {
  if (reply[0] !== 0x7e) return false;
  try {
    return decodeKrbError(reply).errorCode === KRB_ERROR_CODE.KRB_ERR_RESPONSE_TOO_BIG;
  } catch {
    return false;
  }
}

export function createKdcTransport(opts: TransportOptions): KdcTransport {
  const limit = opts.udpPreferenceLimit ?? DEFAULT_UDP_PREFERENCE_LIMIT;
  const timeoutMs = opts.timeoutMs ?? DEFAULT_KDC_TIMEOUT_MS;
  const rounds = Math.max(1, Math.min(opts.maxRounds ?? DEFAULT_MAX_ROUNDS, 10));
  const note = opts.onAttempt ?? (() => {});
  return {
    async send(realm, request) {
      const first: Protocol = request.length > limit ? "tcp" : "udp";
      const kdcs = tryOrder(opts.kdcsOf(realm), first);
      const failures: string[] = [];
      for (let round = 0; round < rounds; round++) {
        for (const { kdc, proto } of kdcs) {
          try {
            const reply = await opts.io.exchange(proto, kdc, request, timeoutMs);
            if (proto === "udp" && isResponseTooBig(reply)) {
              note("udp", kdc, "KRB_ERR_RESPONSE_TOO_BIG");
              const big = await opts.io.exchange("tcp", kdc, request, timeoutMs);
              note("tcp", kdc, "reply");
              return big;
            }
            note(proto, kdc, "reply");
            return reply;
          } catch (e) {
            const why = (e as Error).message;
            note(proto, kdc, why);
            failures.push(`${kdc.host}:${kdc.port}: ${why}`);
          }
        }
      }
      const last = failures[failures.length - 1] ?? "no attempt";
      throw new TransportError(
        "kdc-unreachable",
        `cannot reach any KDC for realm ${realm} (${kdcs.map(({ kdc: k }) => `${k.host}:${k.port}`).join(", ")}; ${failures.length} attempts, last: ${last})`,
      );
    },
  };
}

/** Each KDC with the protocol it is asked over, in the order of step 2. */
function tryOrder(kdcs: KdcAddress[], first: Protocol): { kdc: KdcAddress; proto: Protocol }[] {
  const all = kdcs.map((kdc) => ({ kdc, proto: kdc.protocol ?? first }));
  if (first === "udp") return all;
  return [...all.filter((k) => k.proto === "tcp"), ...all.filter((k) => k.proto !== "tcp")];
}

function udpExchange(kdc: KdcAddress, request: Uint8Array, timeoutMs: number): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const s = dgram.createSocket(net.isIPv6(kdc.host) ? "udp6" : "udp4");
    const done = (err: Error | undefined, v?: Uint8Array) => {
      clearTimeout(timer);
      s.close();
      if (err) reject(err);
      else resolve(v!);
    };
    const timer = setTimeout(() => done(new Error(`no UDP reply in ${timeoutMs} ms`)), timeoutMs);
    s.once("error", (e) => done(e));
    s.once("message", (m) => done(undefined, new Uint8Array(m)));
    s.send(request, kdc.port, kdc.host, (e) => {
      if (e) done(e);
    });
  });
}

function tcpExchange(kdc: KdcAddress, request: Uint8Array, timeoutMs: number): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0);
    let settled = false;
    const s = net.connect(kdc.port, kdc.host);
    const done = (err: Error | undefined, v?: Uint8Array) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      s.destroy();
      if (err) reject(err);
      else resolve(v!);
    };
    const timer = setTimeout(() => done(new Error(`no TCP reply in ${timeoutMs} ms`)), timeoutMs);
    s.once("connect", () => {
      const frame = Buffer.alloc(4 + request.length);
      frame.writeUInt32BE(request.length, 0);
      frame.set(request, 4);
      s.write(frame);
    });
    s.on("data", (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      if (buf.length < 4) return;
      const len = buf.readUInt32BE(0);
      if (len > MAX_TCP_RECORD) return done(new Error(`TCP record of ${len} bytes is too large`));
      if (buf.length >= 4 + len) done(undefined, new Uint8Array(buf.subarray(4, 4 + len)));
    });
    s.once("error", (e) => done(e));
    s.once("end", () => done(new Error("TCP connection closed before a whole reply")));
  });
}

/** Real sockets: one UDP socket or TCP connection per exchange. */
export function createNodeKdcIo(): KdcIo {
  return {
    exchange(proto, kdc, request, timeoutMs) {
      return proto === "udp"
        ? udpExchange(kdc, request, timeoutMs)
        : tcpExchange(kdc, request, timeoutMs);
    },
  };
}

/**
 * A fake KdcIo for tests: `handler` answers each exchange (or throws to simulate a timeout);
 * every call is recorded.
 */
export function createFakeKdcIo(
  handler: (
    proto: Protocol,
    kdc: KdcAddress,
    request: Uint8Array,
  ) => Uint8Array | Promise<Uint8Array>,
): KdcIo & { calls: { proto: Protocol; kdc: KdcAddress; request: Uint8Array }[] } {
  const calls: { proto: Protocol; kdc: KdcAddress; request: Uint8Array }[] = [];
  return {
    calls,
    async exchange(proto, kdc, request) {
      calls.push({ proto, kdc, request });
      return handler(proto, kdc, request);
    },
  };
}
