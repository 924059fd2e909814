/**
 * The IKEv2 engine: a pure core (no sockets, no clock, no randomness of its own) that
 * owns the IKE SAs of one host. The flow of a received datagram:
 *
 *   1. header decode (length checks first)   2. IKE_SA_INIT request -> exchanges/ike-sa-init
 *   3. SA lookup by our SPI                    4. response: match the outstanding request;
 *      request: message-ID window, retransmitted request -> cached response
 *   5. SK open (integrity, then decrypt)       6. exchange handler -> reply sealed, cached, sent
 *
 * Requests go through a window of one per SA, are retransmitted with doubling timeouts
 * (bounded by `retransmitTries`), and an SA whose peer stays silent is closed. Drops are
 * counted per reason and never throw.
 */
import { ExchangeType, exchangeName, NotifyType, notifyName, TransformType } from "./constants.js";
import type { EngineContext, Reply, ResponseHandler } from "./context.js";
import { createCookieJar } from "./cookie.js";
import { openMessage, type SkKeys, sealMessage } from "./crypto.js";
import { createIkeDrops, type IkeDropReason } from "./drops.js";
import { IkeError } from "./errors.js";
import { handleCreateChildRequest, rekeyChild } from "./exchanges/create-child-sa.js";
import { handleAuthRequest } from "./exchanges/ike-auth.js";
import { handleInitRequest, startInitiator } from "./exchanges/ike-sa-init.js";
import {
  checkLiveness,
  deleteChild,
  deleteIkeSa,
  handleInformational,
} from "./exchanges/informational.js";
import { rekeyIkeSa } from "./exchanges/rekey-ike.js";
import { createInvalidSpiSender } from "./invalid-spi.js";
import { createHalfOpenTable } from "./half-open.js";
import type { Transform } from "./payloads/sa.js";
import { offersText } from "./proposals.js";
import { proposalName, type Suite } from "./transforms.js";
import {
  decodeChain,
  decodeMessage,
  encodeChain,
  encodeMessage,
  type IkeMessage,
  type Payload,
} from "./message.js";
import { notify } from "./payloads/notify.js";
import { type RefusalNotice, sendRefusal } from "./refusal.js";
import { type IkeSaInfo, saInfo } from "./sa-info.js";
import { spiText, transition } from "./state.js";
import { DEFAULT_IKE_OPTIONS, type Datagram, type IkeDeps, type IkeSa } from "./types.js";

export type { IkeSaInfo };

export interface IkeEngine {
  /** Handles one received datagram; never throws. */
  receive(d: Datagram): Promise<void>;
  /** Starts an IKE SA (and its first child SA) with the named peer. */
  initiate(peerName: string): IkeSaInfo;
  deleteIkeSa(spis: string): boolean;
  /** Rekeys the IKE SA (§1.3.2); its child SAs move to the new one. */
  rekeyIkeSa(spis: string): boolean;
  rekeyChild(spiIn: number): boolean;
  deleteChild(spiIn: number): boolean;
  /**
   * The data path received ESP/AH for an SPI it has no SA for, from `address`: INVALID_SPI
   * to the peer when we hold an IKE SA with it, else only counted (./invalid-spi.ts).
   */
  unknownSpi(address: string, spi: number, protocol: "esp" | "ah"): void;
  /** Tells the initiator of IKE SA `spis` why we do not admit it (./refusal.ts). */
  tellRefusal(spis: string, notice: RefusalNotice): boolean;
  sas(): IkeSaInfo[];
  /** Drop counters, every reason (./drops.ts), zeros included. */
  stats(): Record<IkeDropReason, number>;
  /** Half-open IKE SAs this host answers for (IKE_SA_INIT replied, IKE_AUTH not yet). */
  halfOpen(): number;
  /** Cancels every timer; sends nothing more. */
  close(): void;
}

/**
 * An IKE message for the debug log: exchange, request or response, message ID and its
 * payloads, with the proposals of SA payloads (an answer's SA is the proposal chosen) and
 * the names of notifies. Never a key, nonce, KE value, AUTH or identity's secret: only
 * payload types, transform names and notify names.
 */
function messageText(
  exchangeType: number,
  response: boolean,
  messageId: number,
  payloads: readonly Payload[],
): string {
  const parts = payloads.map((p) => {
    if (p.type === "SA") return `SA${offersText(p.proposals)}`;
    if (p.type === "N") return `N(${notifyName(p.notifyType)})`;
    return p.type === "unknown" ? `unknown(${p.payloadType})` : p.type;
  });
  return `${exchangeName(exchangeType)} ${response ? "response" : "request"} ${messageId} [${parts.join(" ")}]`;
}

/** The IKE SA's negotiated suite in proposal form ("AES_GCM_16_256/PRF_HMAC_SHA2_384/CURVE_25519"). */
function suiteName(x: Suite): string {
  const t: Transform[] = [
    { type: TransformType.ENCR, id: x.encr.id, keyLength: x.encr.keyBytes * 8 },
  ];
  if (x.integ) t.push({ type: TransformType.INTEG, id: x.integ.id });
  if (x.prf) t.push({ type: TransformType.PRF, id: x.prf.id });
  if (x.dh !== null) t.push({ type: TransformType.DH, id: x.dh });
  return proposalName(t);
}

/**
 * How long after a child SA is keyed an unknown-SPI report for it is taken as a race with
 * its install, not as a data path that lost it (INVALID_SPI, ./invalid-spi.ts).
 */
const RACE_MS = 1000;

export function createIkeEngine(deps: IkeDeps): IkeEngine {
  const opt = { ...DEFAULT_IKE_OPTIONS, ...deps.options };
  const sas = new Map<string, IkeSa>();
  const childSpis = new Set<number>();
  /** When each installed child SA (by inbound SPI) was keyed. */
  const keyedAt = new Map<number, number>();
  /** Lifetime timers of child SAs by inbound SPI (they follow a child across IKE SA rekeys). */
  const childTimers = new Map<number, (() => void)[]>();
  const drops = createIkeDrops(deps.clock, deps.log);
  const halfOpen = createHalfOpenTable(() => ({
    cookieThreshold: opt.cookieThreshold,
    sourceThreshold: opt.halfOpenPerSource,
    halfOpenLimit: opt.halfOpenLimit,
  }));
  let closed = false;
  let events = 0;

  const ourSpi = (sa: IkeSa): Buffer => (sa.initiator ? sa.spiI : sa.spiR);

  const peerOf = (sa: IkeSa) => ({
    id: sa.peerId,
    identity: sa.identity ?? null,
    remote: { ...sa.remote },
  });

  function keysFor(sa: IkeSa, sending: boolean): SkKeys {
    const k = sa.keys!;
    const fromInitiator = sending === sa.initiator;
    return {
      encr: sa.suite!.encr,
      integ: sa.suite!.integ,
      ek: fromInitiator ? k.ei : k.er,
      ak: fromInitiator ? k.ai : k.ar,
    };
  }

  /**
   * --verbose / debug level: one line per IKE message (messageText), naming the IKE SA. The
   * line is made only when debug lines are written (it lists every payload: on the first
   * page's path otherwise).
   */
  const debug = (sa: IkeSa | null, line: () => string) => {
    if (!deps.debug) return;
    const text = line();
    deps.debug(sa ? `IKE SA ${spiText(sa)} ${sa.remote.address}: ${text}` : text);
  };

  function seal(
    sa: IkeSa,
    exchangeType: number,
    response: boolean,
    messageId: number,
    payloads: Payload[],
  ): Buffer {
    debug(sa, () => `send ${messageText(exchangeType, response, messageId, payloads)}`);
    const header = {
      spiI: sa.spiI,
      spiR: sa.spiR,
      majorVersion: 2,
      minorVersion: 0,
      exchangeType,
      initiator: sa.initiator,
      response,
      messageId,
    };
    if (exchangeType === ExchangeType.IKE_SA_INIT) return encodeMessage(header, payloads);
    const inner = encodeChain(payloads);
    return sealMessage(
      header,
      inner.first,
      inner.bytes,
      keysFor(sa, true),
      deps.random(sa.suite!.encr.ivBytes),
    );
  }

  function send(sa: IkeSa, data: Buffer): void {
    if (!closed) deps.send({ data, local: { ...sa.local }, remote: { ...sa.remote } });
  }

  function transmit(sa: IkeSa): void {
    const p = sa.pending;
    if (!p) return;
    send(sa, p.datagram);
    if (deps.mark && p.tries === 0) ctx.mark(sa, `${exchangeName(p.exchangeType)} request sent`);
    const wait = opt.retransmitBaseMs * 2 ** p.tries;
    p.tries++;
    p.cancelTimer = deps.clock.setTimer(wait, () => {
      if (sa.pending !== p || sa.state === "closed") return;
      if (p.tries >= opt.retransmitTries) {
        ctx.closeSa(
          sa,
          `peer ${sa.remote.address} did not answer ${exchangeName(p.exchangeType)} after ${p.tries} transmissions`,
        );
        return;
      }
      ctx.log(
        sa,
        `retransmitting ${exchangeName(p.exchangeType)} message ${p.messageId} (try ${p.tries + 1})`,
      );
      transmit(sa);
    });
  }

  function pump(sa: IkeSa): void {
    if (sa.pending || sa.state === "closed") return;
    const q = sa.queue.shift();
    if (!q) return;
    const messageId = sa.nextRequestId++;
    const datagram = seal(sa, q.exchangeType, false, messageId, q.payloads());
    if (q.exchangeType === ExchangeType.IKE_SA_INIT) sa.message1 = datagram;
    sa.pending = {
      messageId,
      exchangeType: q.exchangeType,
      datagram,
      tries: 0,
      cancelTimer: () => undefined,
      onResponse: q.onResponse,
    };
    transmit(sa);
  }

  /** Soft lifetime: the creator rekeys; hard lifetime: either side deletes (RFC 7296 §2.8). */
  function scheduleChildLifetime(spiIn: number, lifetimeSec: number, creator: boolean): void {
    if (lifetimeSec <= 0) return;
    const timers: (() => void)[] = [];
    if (creator) {
      timers.push(
        deps.clock.setTimer(lifetimeSec * 1000 * opt.rekeyAtFraction, () => {
          const sa = findByChild(spiIn);
          if (sa && sa.children.get(spiIn)?.state === "installed") {
            ctx.log(
              sa,
              `child SA ${spiIn.toString(16).padStart(8, "0")} lifetime ${lifetimeSec} s nearly over: rekeying`,
            );
            rekeyChild(ctx, sa, spiIn);
          }
        }),
      );
    }
    timers.push(
      deps.clock.setTimer(lifetimeSec * 1000, () => {
        const sa = findByChild(spiIn);
        if (sa) {
          ctx.log(
            sa,
            `child SA ${spiIn.toString(16).padStart(8, "0")} reached its hard lifetime of ${lifetimeSec} s`,
          );
          deleteChild(ctx, sa, spiIn);
        }
      }),
    );
    childTimers.set(spiIn, timers);
  }

  function removeSa(sa: IkeSa): void {
    for (const [k, v] of sas) if (v === sa) sas.delete(k);
  }

  function scheduleLiveness(sa: IkeSa): void {
    if (opt.livenessMs <= 0) return;
    const cancel = deps.clock.setTimer(opt.livenessMs, () => {
      if (sa.state !== "established") return;
      if (deps.clock.now() - sa.lastHeardMs >= opt.livenessMs && !sa.pending)
        checkLiveness(ctx, sa);
      scheduleLiveness(sa);
    });
    sa.cancelTimers.push(cancel);
  }

  const ctx: EngineContext = {
    deps,
    opt,
    log: (sa, line) => deps.log(sa ? `IKE SA ${spiText(sa)} ${sa.remote.address}: ${line}` : line),
    mark: (sa, step) => deps.mark?.(step, spiText(sa)),
    drop: drops.drop,
    request(sa, exchangeType, build, onResponse: ResponseHandler) {
      sa.queue.push({ exchangeType, payloads: build, onResponse });
      pump(sa);
    },
    sendRaw: (d) => {
      if (!closed) deps.send(d);
    },
    registerSa: (sa) => {
      sas.set(ourSpi(sa).toString("hex"), sa);
      if (!sa.initiator) {
        const cancel = deps.clock.setTimer(opt.halfOpenTimeoutMs, () => {
          if (sa.state === "init-replied") ctx.closeSa(sa, "half-open SA timed out");
        });
        sa.cancelTimers.push(cancel);
      }
    },
    rekeyTable: (sa, oldKey) => {
      sas.delete(oldKey);
      sas.set(ourSpi(sa).toString("hex"), sa);
    },
    closeSa(sa, why) {
      if (sa.state === "closed") return;
      for (const spiIn of [...sa.children.keys()]) ctx.removeChild(sa, spiIn, "IKE SA closed");
      sa.pending?.cancelTimer();
      sa.pending = null;
      sa.queue = [];
      for (const c of sa.cancelTimers) c();
      sa.cancelTimers = [];
      if (why) ctx.log(sa, why);
      transition(sa, "closed", deps.log);
      removeSa(sa);
      halfOpen.remove(sa);
      deps.onIkeSaState?.(sa.peer.name, spiText(sa), "closed", peerOf(sa));
    },
    established(sa) {
      const suite = sa.suite;
      if (suite) debug(sa, () => `established: proposal chosen ${suiteName(suite)}`);
      sa.establishedAt = ctx.tick();
      halfOpen.remove(sa);
      deps.onIkeSaState?.(sa.peer.name, spiText(sa), "established", peerOf(sa));
      ctx.mark(sa, "established");
      scheduleLiveness(sa);
      const life = sa.peer.ikeLifetimeSec ?? 0;
      if (life > 0 && sa.initiator) {
        const cancel = deps.clock.setTimer(life * 1000 * opt.rekeyAtFraction, () => {
          if (sa.state === "established") {
            ctx.log(sa, `IKE SA lifetime ${life} s nearly over: rekeying`);
            rekeyIkeSa(ctx, sa);
          }
        });
        sa.cancelTimers.push(cancel);
      }
    },
    installChild(sa, record) {
      sa.children.set(record.spiIn, { record, state: "installed" });
      ctx.log(
        sa,
        `child SA ${record.spiIn.toString(16).padStart(8, "0")}/${record.spiOut.toString(16).padStart(8, "0")} installed (${record.protocol} ${record.mode}, encr ${record.encrId}/${record.encrKeyBits}, integ ${record.integId})`,
      );
      keyedAt.set(record.spiIn, deps.clock.now());
      deps.onChildSa(record);
      scheduleChildLifetime(record.spiIn, record.lifetimeSec, record.initiator);
    },
    removeChild(sa, spiIn, why) {
      if (!sa.children.delete(spiIn)) return;
      for (const cancel of childTimers.get(spiIn) ?? []) cancel();
      childTimers.delete(spiIn);
      childSpis.delete(spiIn);
      keyedAt.delete(spiIn);
      ctx.log(sa, `child SA ${spiIn.toString(16).padStart(8, "0")} removed (${why})`);
      deps.onChildSaDeleted(spiIn);
    },
    allocSpi() {
      for (let i = 0; i < 100; i++) {
        const spi = deps.random(4).readUInt32BE(0);
        if (spi >= 0x100 && !childSpis.has(spi)) {
          childSpis.add(spi);
          return spi;
        }
      }
      throw new IkeError("config", "cannot allocate a child SA SPI");
    },
    cookies: createCookieJar(deps.random, deps.clock),
    halfOpen,
    tick: () => ++events,
    // Called on every IKE_AUTH: one pass over the table without copying it (a copy of every
    // SA per setup was 8% of a responder's CPU with 1000 SAs up, bench/ike-load.ts).
    others: (sa) => {
      const out: IkeSa[] = [];
      for (const o of sas.values())
        if (
          o !== sa &&
          o.remote.address === sa.remote.address &&
          o.state !== "closed" &&
          !out.includes(o)
        )
          out.push(o);
      return out;
    },
    findPeer: (remote, local) =>
      deps.peers.find(
        (p) =>
          (p.remoteAddress === remote.address || p.remoteAddress === "%any") &&
          (p.localAddress === local.address || p.localAddress === "%any"),
      ),
  };

  const invalidSpi = createInvalidSpiSender(ctx);

  async function handleResponse(sa: IkeSa, d: Datagram, msg: IkeMessage): Promise<void> {
    const p = sa.pending;
    if (!p || p.messageId !== msg.header.messageId || p.exchangeType !== msg.header.exchangeType) {
      return ctx.drop(
        "unexpected_response",
        `${exchangeName(msg.header.exchangeType)} response ${msg.header.messageId} from ${d.remote.address} matches no request`,
      );
    }
    const payloads =
      msg.header.exchangeType === ExchangeType.IKE_SA_INIT ? msg.payloads : open(sa, d, msg);
    if (!payloads) return;
    if (deps.mark) ctx.mark(sa, `${exchangeName(msg.header.exchangeType)} response opened`);
    debug(
      sa,
      () => `recv ${messageText(msg.header.exchangeType, true, msg.header.messageId, payloads)}`,
    );
    p.cancelTimer();
    sa.pending = null;
    sa.lastHeardMs = deps.clock.now();
    await p.onResponse(payloads, msg, Buffer.from(d.data));
    pump(sa);
  }

  function open(sa: IkeSa, d: Datagram, msg: IkeMessage): Payload[] | null {
    const sk = msg.payloads[msg.payloads.length - 1];
    if (sk?.type !== "SK" || !sa.keys) {
      ctx.drop(
        "malformed",
        `${exchangeName(msg.header.exchangeType)} from ${d.remote.address} without SK payload`,
      );
      return null;
    }
    const skOffset = d.data.length - 4 - sk.body.length;
    try {
      return decodeChain(openMessage(d.data, skOffset, keysFor(sa, false)), sk.innerFirst);
    } catch (e) {
      ctx.drop(
        e instanceof IkeError && e.code === "integrity" ? "integrity" : "malformed",
        `${exchangeName(msg.header.exchangeType)} from ${d.remote.address}: ${(e as Error).message}`,
      );
      return null;
    }
  }

  async function dispatch(sa: IkeSa, type: number, payloads: Payload[]): Promise<Reply> {
    const critical = payloads.find((x) => x.type === "unknown" && x.critical);
    if (critical && critical.type === "unknown") {
      const t = Buffer.from([critical.payloadType]);
      return { payloads: [notify(NotifyType.UNSUPPORTED_CRITICAL_PAYLOAD, t)] };
    }
    switch (type) {
      case ExchangeType.IKE_AUTH:
        return handleAuthRequest(ctx, sa, payloads);
      case ExchangeType.CREATE_CHILD_SA:
        return handleCreateChildRequest(ctx, sa, payloads);
      case ExchangeType.INFORMATIONAL:
        return handleInformational(ctx, sa, payloads);
      default:
        return { payloads: [notify(NotifyType.INVALID_SYNTAX)] };
    }
  }

  async function handleRequest(sa: IkeSa, d: Datagram, msg: IkeMessage): Promise<void> {
    const id = msg.header.messageId;
    if (sa.lastResponse && id === sa.lastResponse.messageId) {
      deps.send({ data: sa.lastResponse.datagram, local: d.local, remote: d.remote });
      return;
    }
    if (id !== sa.peerNextId)
      return ctx.drop(
        "message_id",
        `request ${id} from ${d.remote.address}, expected ${sa.peerNextId}`,
      );
    const payloads = open(sa, d, msg);
    if (!payloads) return;
    if (deps.mark) ctx.mark(sa, `${exchangeName(msg.header.exchangeType)} request opened`);
    debug(sa, () => `recv ${messageText(msg.header.exchangeType, false, id, payloads)}`);
    sa.peerNextId++;
    sa.lastHeardMs = deps.clock.now();
    sa.local = { ...d.local };
    sa.remote = { ...d.remote };
    if (d.remote.port === 4500) sa.natT = true;
    const reply = await dispatch(sa, msg.header.exchangeType, payloads);
    const data = seal(sa, msg.header.exchangeType, true, id, reply.payloads);
    sa.lastResponse = { messageId: id, datagram: data };
    send(sa, data);
    if (deps.mark) ctx.mark(sa, `${exchangeName(msg.header.exchangeType)} response sent`);
    reply.after?.();
  }

  async function receive(d: Datagram): Promise<void> {
    if (closed) return;
    let msg: IkeMessage;
    try {
      msg = decodeMessage(d.data);
    } catch (e) {
      return ctx.drop(
        "malformed",
        `from ${d.remote.address}:${d.remote.port}: ${(e as Error).message}`,
      );
    }
    const h = msg.header;
    if (
      h.exchangeType === ExchangeType.IKE_SA_INIT &&
      !h.response &&
      h.spiR.equals(Buffer.alloc(8))
    ) {
      const from = `${d.remote.address}:${d.remote.port}`;
      debug(
        null,
        () => `${from}: recv ${messageText(h.exchangeType, false, h.messageId, msg.payloads)}`,
      );
      try {
        return handleInitRequest(ctx, d, msg);
      } catch (e) {
        return ctx.drop(
          "internal",
          `IKE_SA_INIT from ${d.remote.address}: ${(e as Error).message}`,
        );
      }
    }
    const sa = sas.get((h.initiator ? h.spiR : h.spiI).toString("hex"));
    if (!sa || sa.state === "closed")
      return ctx.drop(
        "unknown_spi",
        `${exchangeName(h.exchangeType)} from ${d.remote.address} for unknown SPI ${h.spiI.toString("hex")}_${h.spiR.toString("hex")}`,
      );
    if (h.initiator === sa.initiator)
      return ctx.drop(
        "malformed",
        `${exchangeName(h.exchangeType)} from ${d.remote.address}: initiator flag is wrong`,
      );
    const run = async (): Promise<void> => {
      try {
        if (h.response) await handleResponse(sa, d, msg);
        else await handleRequest(sa, d, msg);
      } catch (e) {
        ctx.drop(
          "internal",
          `${exchangeName(h.exchangeType)} from ${d.remote.address}: ${(e as Error).message}`,
        );
        if (sa.state !== "established" && sa.state !== "closed")
          ctx.closeSa(sa, `failed: ${(e as Error).message}`);
      }
    };
    sa.chain = sa.chain.then(run);
    await sa.chain;
  }

  function findByChild(spiIn: number): IkeSa | undefined {
    return [...new Set(sas.values())].find((s) => s.children.has(spiIn));
  }

  return {
    receive,
    initiate(peerName) {
      const peer = deps.peers.find((p) => p.name === peerName);
      if (!peer) throw new IkeError("config", `no peer named "${peerName}"`);
      return saInfo(startInitiator(ctx, peer));
    },
    deleteIkeSa(spis) {
      const sa = [...sas.values()].find((s) => spiText(s) === spis);
      if (!sa) return false;
      deleteIkeSa(ctx, sa);
      return true;
    },
    rekeyIkeSa(spis) {
      const sa = [...sas.values()].find((s) => spiText(s) === spis);
      return sa ? rekeyIkeSa(ctx, sa) : false;
    },
    rekeyChild(spiIn) {
      const sa = findByChild(spiIn);
      return sa ? rekeyChild(ctx, sa, spiIn) : false;
    },
    deleteChild(spiIn) {
      const sa = findByChild(spiIn);
      return sa ? deleteChild(ctx, sa, spiIn) : false;
    },
    unknownSpi(address, spi, protocol) {
      if (closed) return;
      // One of ours, in an exchange under way or keyed under RACE_MS ago: the packet raced
      // the key's install (the answer that keys it was still on its way), not a dead SA.
      const keyed = keyedAt.get(spi);
      if (childSpis.has(spi) && (keyed === undefined || deps.clock.now() - keyed < RACE_MS)) {
        debug(
          null,
          () =>
            `${protocol.toUpperCase()} SPI ${spi.toString(16).padStart(8, "0")} from ${address} is ours, keyed ${keyed === undefined ? "not yet" : "just now"}: not reported`,
        );
        return;
      }
      invalidSpi.unknownSpi([...new Set(sas.values())], address, spi, protocol);
    },
    tellRefusal(spis, notice) {
      const sa = [...sas.values()].find((s) => spiText(s) === spis);
      return sa ? sendRefusal(ctx, sa, notice) : false;
    },
    sas: () => [...new Set(sas.values())].map(saInfo),
    stats: drops.snapshot,
    halfOpen: halfOpen.count,
    close() {
      closed = true;
      for (const sa of new Set(sas.values())) {
        sa.pending?.cancelTimer();
        for (const c of sa.cancelTimers) c();
      }
      for (const timers of childTimers.values()) for (const c of timers) c();
      childTimers.clear();
    },
  };
}
