/**
 * A TCP server of length-prefixed records that bad clients cannot starve: the DC's KDC
 * (RFC 4120 §7.2.2, a 4-byte length) and DNS (RFC 1035 4.2.2 / RFC 7766, a 2-byte length).
 *
 *   1. accept: at most `maxConnections` in all and `maxConnectionsPerSource` from one
 *      address. When a limit is reached, the connection in that scope that has waited
 *      longest for a request without one in progress is closed to make room (RFC 7766
 *      §6.2.3: a busy server may close idle connections); with none, the new one is refused.
 *   2. read: a record must arrive in full within `recordTimeoutMs` of its first byte, so a
 *      client dripping a byte every few seconds is cut; a connection silent for
 *      `idleTimeoutMs` with nothing of ours under way (no answer computing or unsent) closes.
 *   3. answer: replies go out in request order. While `maxInFlight` requests of a connection
 *      await their answers, or its socket holds more than `maxPendingWriteBytes` unsent,
 *      nothing more is read from it (backpressure: the kernel's buffers, not ours, hold what
 *      a never-reading client sends); unsent bytes that do not drain within `writeTimeoutMs`
 *      close the connection. Each connection gets `maxRecordsPerSecond` requests a second
 *      (more wait in the kernel's buffers) and `maxRecordsPerConnection` in all, so a client
 *      that pipelines without reading cannot take the CPU from the others.
 * Every refusal and close is counted by reason; nothing here throws per connection.
 */
import * as net from "node:net";

export interface TcpLimits {
  /** Connections open at once, all sources together. */
  maxConnections: number;
  /** Connections open at once from one source address. */
  maxConnectionsPerSource: number;
  /** A connection with no request under way (nothing buffered, in flight or unsent) closes after this. */
  idleTimeoutMs: number;
  /** A record must be complete within this of its first byte. */
  recordTimeoutMs: number;
  /** Unsent reply bytes must drain within this. */
  writeTimeoutMs: number;
  /** Reading stops while the socket holds more unsent bytes than this. */
  maxPendingWriteBytes: number;
  /** Reading stops while this many requests of one connection await their answers. */
  maxInFlight: number;
  /** Requests taken from one connection per second (a token bucket of this size); more wait. */
  maxRecordsPerSecond: number;
  /** Requests answered on one connection; then it is closed once its answers are sent. */
  maxRecordsPerConnection: number;
}

export const TCP_LIMIT_KEYS = [
  "maxConnections",
  "maxConnectionsPerSource",
  "idleTimeoutMs",
  "recordTimeoutMs",
  "writeTimeoutMs",
  "maxPendingWriteBytes",
  "maxInFlight",
  "maxRecordsPerSecond",
  "maxRecordsPerConnection",
] as const satisfies readonly (keyof TcpLimits)[];

export type TcpRefusal = "too-many-connections" | "too-many-from-source" | "accept-error";
export type TcpClose =
  | "evicted"
  | "idle-timeout"
  | "record-timeout"
  | "write-timeout"
  | "record-refused"
  | "request-limit"
  | "socket-error";

export interface FramedTcpCounters {
  accepted: number;
  open: number;
  refused: Partial<Record<TcpRefusal, number>>;
  closed: Partial<Record<TcpClose, number>>;
  /** Times reading stopped for backpressure (unsent bytes or answers under way). */
  paused: number;
  /** Times reading stopped for the per-connection request rate. */
  rateLimited: number;
}

export type RecordAnswer = Uint8Array | undefined;

export interface FramedTcpOptions {
  limits: TcpLimits;
  /** Bytes of the big-endian length before each record. */
  lengthBytes: 2 | 4;
  /** Longest record accepted; a longer length goes to onRefused. */
  maxRecordBytes: number;
  /** One record's answer (undefined: none); may take time (worker threads). `source`: the peer's address. */
  onRecord(msg: Uint8Array, source: string): RecordAnswer | Promise<RecordAnswer>;
  /**
   * A length above maxRecordBytes (or, with 4 bytes, the reserved high bit): a last message
   * to send, or none, before the connection closes. Nothing more is read from it.
   */
  onRefused?(length: number): RecordAnswer;
  now?: () => number;
}

export interface FramedTcpServer {
  listen(port: number, host: string): Promise<number>;
  close(): Promise<void>;
  counters(): FramedTcpCounters;
}

/** One request's answer; `last`: the connection ends after it. */
interface Slot {
  done: boolean;
  reply: RecordAnswer;
  last?: boolean;
}

interface Conn {
  sock: net.Socket;
  source: string;
  /** When it began waiting for its next request (eviction picks the oldest). */
  waitingSince: number;
  /** When the partial record in `buf` began. */
  recordStart: number | undefined;
  buf: Buffer;
  /** Answers in request order; `done` ones at the head are written. */
  slots: Slot[];
  paused: boolean;
  refused: boolean;
  /** Inside pump(): answers ready at once do not re-enter it (no recursion per record). */
  pumping: boolean;
  timer: NodeJS.Timeout | undefined;
  /** Since when unsent bytes have waited (cleared on 'drain'). */
  writeStuckSince: number | undefined;
  /** The request-rate bucket: tokens at `tokensAt`; requests taken so far. */
  tokens: number;
  tokensAt: number;
  records: number;
  /** Set while waiting for a token; the timer that resumes reading. */
  rateTimer: NodeJS.Timeout | undefined;
}

export function frameRecord(msg: Uint8Array, lengthBytes: 2 | 4): Buffer {
  const b = Buffer.alloc(lengthBytes + msg.length);
  if (lengthBytes === 2) b.writeUInt16BE(msg.length, 0);
  else b.writeUInt32BE(msg.length, 0);
  b.set(msg, lengthBytes);
  return b;
}

/** What every connection of one server shares. */
interface Ctx {
  opts: FramedTcpOptions;
  limits: TcpLimits;
  lengthBytes: 2 | 4;
  now: () => number;
  conns: Set<Conn>;
  counters: FramedTcpCounters;
}

const bump = <K extends string>(m: Partial<Record<K, number>>, k: K) => {
  m[k] = (m[k] ?? 0) + 1;
};

/** Destroys the connection, counting why (once: a refused one was counted when refused). */
function closeConn(x: Ctx, c: Conn, why: TcpClose): void {
  if (!c.refused) bump(x.counters.closed, why);
  c.refused = true;
  c.sock.destroy();
}

/** One timer per connection, armed for what it is waiting on now. */
function rearm(x: Ctx, c: Conn): void {
  if (c.timer) clearTimeout(c.timer);
  c.timer = undefined;
  if (c.sock.destroyed) return;
  const { limits, now } = x;
  let ms: number;
  let why: TcpClose;
  if (c.sock.writableLength > 0) {
    c.writeStuckSince ??= now();
    [ms, why] = [c.writeStuckSince + limits.writeTimeoutMs - now(), "write-timeout"];
  } else if (c.slots.length > 0 || c.rateTimer)
    return; // our own work or our own pacing: no deadline on the client
  else if (c.recordStart !== undefined) {
    // A record under way: silence ends it like an idle connection, dripping at recordTimeoutMs.
    const left = c.recordStart + limits.recordTimeoutMs - now();
    [ms, why] =
      left < limits.idleTimeoutMs
        ? [left, "record-timeout"]
        : [limits.idleTimeoutMs, "idle-timeout"];
  } else [ms, why] = [limits.idleTimeoutMs, "idle-timeout"];
  c.timer = setTimeout(() => closeConn(x, c, why), Math.max(0, ms));
}

const blocked = (x: Ctx, c: Conn) =>
  c.slots.length >= x.limits.maxInFlight || c.sock.writableLength > x.limits.maxPendingWriteBytes;

/** Writes the answers ready at the head, in order. */
function writeOut(x: Ctx, c: Conn): void {
  while (c.slots[0]?.done) {
    const s = c.slots.shift() as Slot;
    if (c.sock.destroyed) continue;
    const bytes = s.reply ? frameRecord(s.reply, x.lengthBytes) : undefined;
    if (bytes) c.sock.write(bytes);
    if (s.last) c.sock.end();
  }
  if (c.slots.length === 0 && c.buf.length === 0) c.waitingSince = x.now();
}

function answer(x: Ctx, c: Conn, msg: Uint8Array): void {
  const slot: Slot = { done: false, reply: undefined };
  c.slots.push(slot);
  let r: RecordAnswer | Promise<RecordAnswer>;
  try {
    r = x.opts.onRecord(msg, c.source);
  } catch {
    r = undefined;
  }
  const settle = (reply: RecordAnswer) => {
    slot.done = true;
    slot.reply = reply;
    writeOut(x, c);
    if (!c.pumping) pump(x, c);
  };
  if (r instanceof Promise) r.then(settle, () => settle(undefined));
  else settle(r);
}

/** Takes complete records from the buffer while not blocked; reads more when possible. */
function pump(x: Ctx, c: Conn): void {
  const { lengthBytes, limits } = x;
  c.pumping = true;
  while (!c.refused && !c.rateTimer && !c.sock.destroyed && !blocked(x, c)) {
    if (c.buf.length < lengthBytes) break;
    const len = lengthBytes === 2 ? c.buf.readUInt16BE(0) : c.buf.readUInt32BE(0);
    if ((lengthBytes === 4 && len & 0x80000000) || len > x.opts.maxRecordBytes) {
      refuse(x, c, "record-refused", x.opts.onRefused?.(len));
      break;
    }
    if (c.buf.length < lengthBytes + len) break;
    if (c.records >= limits.maxRecordsPerConnection) {
      refuse(x, c, "request-limit", undefined);
      break;
    }
    if (!takeToken(x, c)) break;
    const msg = new Uint8Array(c.buf.subarray(lengthBytes, lengthBytes + len));
    c.buf = c.buf.subarray(lengthBytes + len);
    c.recordStart = c.buf.length > 0 ? x.now() : undefined;
    answer(x, c, msg);
  }
  c.pumping = false;
  if (c.refused) writeOut(x, c);
  const stop = blocked(x, c) || c.refused || c.rateTimer !== undefined;
  if (stop && !c.paused) {
    c.paused = true;
    x.counters.paused++;
    c.sock.pause();
  } else if (!stop && c.paused) {
    c.paused = false;
    c.sock.resume();
  }
  rearm(x, c);
}

/** Stops reading; `last` goes after the answers under way, then the connection ends. */
function refuse(x: Ctx, c: Conn, why: TcpClose, last: RecordAnswer): void {
  c.refused = true;
  bump(x.counters.closed, why);
  c.buf = Buffer.alloc(0);
  c.recordStart = undefined;
  c.slots.push({ done: true, reply: last, last: true });
}

/** One request's token from the connection's bucket, or a timer to resume when one is due. */
function takeToken(x: Ctx, c: Conn): boolean {
  const rate = x.limits.maxRecordsPerSecond;
  const t = x.now();
  c.tokens = Math.min(rate, c.tokens + ((t - c.tokensAt) * rate) / 1000);
  c.tokensAt = t;
  if (c.tokens >= 1) {
    c.tokens--;
    c.records++;
    return true;
  }
  x.counters.rateLimited++;
  const wait = Math.ceil(((1 - c.tokens) * 1000) / rate);
  c.rateTimer = setTimeout(() => {
    c.rateTimer = undefined;
    pump(x, c);
  }, wait);
  return false;
}

/** Closes the longest-waiting connection among `scope` that has nothing under way. */
function evict(x: Ctx, scope: (c: Conn) => boolean): boolean {
  let oldest: Conn | undefined;
  for (const c of x.conns)
    if (scope(c) && c.slots.length === 0 && c.sock.writableLength === 0)
      if (!oldest || c.waitingSince < oldest.waitingSince) oldest = c;
  if (!oldest) return false;
  x.conns.delete(oldest);
  closeConn(x, oldest, "evicted");
  return true;
}

function admit(x: Ctx, source: string): TcpRefusal | undefined {
  let fromSource = 0;
  for (const c of x.conns) if (c.source === source) fromSource++;
  if (fromSource >= x.limits.maxConnectionsPerSource && !evict(x, (c) => c.source === source))
    return "too-many-from-source";
  if (x.conns.size >= x.limits.maxConnections && !evict(x, () => true))
    return "too-many-connections";
  return undefined;
}

function newConn(x: Ctx, sock: net.Socket, source: string): Conn {
  return {
    sock,
    source,
    waitingSince: x.now(),
    recordStart: undefined,
    buf: Buffer.alloc(0),
    slots: [],
    paused: false,
    refused: false,
    pumping: false,
    timer: undefined,
    writeStuckSince: undefined,
    tokens: x.limits.maxRecordsPerSecond,
    tokensAt: x.now(),
    records: 0,
    rateTimer: undefined,
  };
}

function accept(x: Ctx, sock: net.Socket): void {
  const source = sock.remoteAddress ?? "";
  const refusal = admit(x, source);
  if (refusal) {
    bump(x.counters.refused, refusal);
    sock.destroy();
    return;
  }
  const c = newConn(x, sock, source);
  x.conns.add(c);
  x.counters.accepted++;
  sock.on("data", (d: Buffer) => {
    if (c.refused) return;
    if (c.buf.length === 0) c.recordStart = x.now();
    c.buf = c.buf.length === 0 ? d : Buffer.concat([c.buf, d]);
    pump(x, c);
  });
  sock.on("drain", () => {
    c.writeStuckSince = undefined;
    pump(x, c);
  });
  sock.on("error", () => {
    if (!sock.destroyed) closeConn(x, c, "socket-error");
    else bump(x.counters.closed, "socket-error");
  });
  sock.on("close", () => {
    if (c.timer) clearTimeout(c.timer);
    if (c.rateTimer) clearTimeout(c.rateTimer);
    c.buf = Buffer.alloc(0);
    c.slots = [];
    x.conns.delete(c);
  });
  rearm(x, c);
}

export function createFramedTcpServer(opts: FramedTcpOptions): FramedTcpServer {
  const x: Ctx = {
    opts,
    limits: opts.limits,
    lengthBytes: opts.lengthBytes,
    now: opts.now ?? Date.now,
    conns: new Set(),
    counters: { accepted: 0, open: 0, refused: {}, closed: {}, paused: 0, rateLimited: 0 },
  };
  let server: net.Server | undefined;
  return {
    listen: (port, host) =>
      new Promise((resolve, reject) => {
        const s = net.createServer((sock) => accept(x, sock));
        s.once("error", reject);
        s.listen(port, host, () => {
          s.off("error", reject);
          // After listen, an error is one accept(2) failing (EMFILE...): counted, not fatal.
          s.on("error", () => bump(x.counters.refused, "accept-error"));
          server = s;
          resolve((s.address() as net.AddressInfo).port);
        });
      }),
    async close() {
      for (const c of x.conns) {
        if (c.timer) clearTimeout(c.timer);
        if (c.rateTimer) clearTimeout(c.rateTimer);
        c.sock.destroy();
      }
      x.conns.clear();
      await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
      server = undefined;
    },
    counters: () => ({ ...structuredClone(x.counters), open: x.conns.size }),
  };
}
