/**
 * The KDC's state around its stateless core (kdc.ts): the reply lookaside cache, the TGS
 * authenticator replay cache and the counters. One state serves one core in process
 * (`createKdc`) or several cores in worker threads (worker-pool.ts), so replay detection
 * and retransmission answers are the same whichever thread computed a reply:
 *
 *   begin(request)     a TGS-REQ whose bytes were answered within the window -> that reply
 *                      (a retransmission, RFC 4120 §3.3.2 -> §3.2.3: counted lookaside hit)
 *   settle(outcome)    (the same bytes answered meanwhile, by another worker -> that reply)
 *                      the core reported the digest of a TGS authenticator that verified:
 *                      seen before within the window -> KRB_AP_ERR_REPEAT instead of the
 *                      core's answer, else remembered; then counters, the lookaside entry
 *                      and KRB_ERR_RESPONSE_TOO_BIG for an oversized UDP reply (§7.2.1)
 */
import { childrenOf, parseDer } from "../../asn1/der.js";
import { createByteSlab } from "../../bytes.js";
import { KRB_ERROR_CODE } from "../messages/index.js";
import type { ResolvedKdcConfig } from "./config.js";
import { krbtgtName } from "./context.js";
import { bytesKey, createExpiringCache } from "./replay.js";
import { buildKrbError, type ErrorContext } from "./reply.js";
import type { RequestFacts } from "./request-log.js";

export type Transport = "udp" | "tcp";

export interface KdcResult {
  /** The bytes to send back; absent when the request is dropped. */
  reply?: Uint8Array;
  request: "AS-REQ" | "TGS-REQ" | "other";
  /** KRB-ERROR code sent, if any. */
  errorCode?: number;
  /** Why nothing was sent. */
  drop?: string;
  /** Names and etypes of the request, for its log line (request-log.ts). */
  facts?: RequestFacts;
  /** Answered from the lookaside cache (a retransmission). */
  retransmit?: boolean;
}

/** What the core computed for one request (plain data: it crosses thread boundaries). */
export interface CoreOutcome {
  result: KdcResult;
  /** The RFC 4120 §7.5.9 name of the error sent (the counters' key). */
  errorName?: string;
  /** An unexpected failure answered with KRB_ERR_GENERIC (also counted as an internal drop). */
  internal?: boolean;
  /** Digest of the TGS-REQ authenticator that decrypted and checked (replay cache key). */
  authenticator?: string;
  /** For a KRB-ERROR the state sends instead (KRB_AP_ERR_REPEAT). */
  errorContext?: ErrorContext;
  /** A FAST-armored request (RFC 6113) whose armor key was established (kdc/fast.ts). */
  armored?: boolean;
}

export interface KdcCounters {
  requests: Record<string, number>;
  replies: number;
  errors: Record<string, number>;
  drops: Record<string, number>;
  /** TGS-REQs answered from the lookaside cache (the same bytes again: a retransmission). */
  lookasideHits: number;
  /** Tickets issued, by "REQUEST ETYPE" of the ticket's enc-part (e.g. "AS-REQ 18"). */
  tickets: Record<string, number>;
  /** FAST-armored requests answered (reply or armored error), by request type. */
  armored: Record<string, number>;
}

export interface KdcBegin {
  /** Lookaside key of a TGS-REQ. */
  key?: string;
  /** The earlier reply to the same bytes. */
  hit?: KdcResult;
}

export interface KdcState {
  begin(request: Uint8Array): KdcBegin;
  /** A lookaside hit, counted and checked for UDP size like a fresh reply. */
  deliver(hit: KdcResult, transport: Transport): KdcResult;
  settle(begin: KdcBegin, outcome: CoreOutcome, transport: Transport): KdcResult;
  counters(): KdcCounters;
}

export interface KdcStateLimits {
  replayCacheEntries?: number;
  lookasideEntries?: number;
}

const bump = (m: Record<string, number>, k: string) => {
  m[k] = (m[k] ?? 0) + 1;
};

/**
 * The etype of the ticket in an AS-REP or TGS-REP (KDC-REP [5] Ticket [3] EncryptedData
 * [0] etype), or null for anything else: the KDC's own reply, so a walk of the DER suffices.
 */
export function ticketEtype(reply: Uint8Array): number | null {
  if (reply[0] !== 0x6b && reply[0] !== 0x6d) return null;
  try {
    const ctx = (node: ReturnType<typeof parseDer>, tag: number) =>
      childrenOf(node).find((c) => c.cls === "context" && c.tag === tag);
    const rep = childrenOf(parseDer(reply, "reply"))[0];
    const ticket = rep && ctx(rep, 5);
    const tseq = ticket && childrenOf(childrenOf(ticket)[0] as ReturnType<typeof parseDer>)[0];
    const enc = tseq && ctx(tseq, 3);
    const eseq = enc && childrenOf(enc)[0];
    const et = eseq && ctx(eseq, 0);
    const int = et && childrenOf(et)[0];
    if (!int || int.content.length === 0 || int.content.length > 4) return null;
    return int.content.reduce((v, b) => v * 256 + b, 0);
  } catch {
    return null;
  }
}

export function createKdcState(
  config: ResolvedKdcConfig,
  now: () => number,
  limits: KdcStateLimits = {},
): KdcState {
  const window = 2 * config.skewMs;
  const authenticators = createExpiringCache<true>(window, limits.replayCacheEntries ?? 100_000);
  const lookaside = createExpiringCache<KdcResult>(window, limits.lookasideEntries ?? 10_000);
  // The replies it keeps, in memory of their own (src/bytes.ts), freed in expiry order.
  const kept = createByteSlab();
  const counters: KdcCounters = {
    requests: {},
    replies: 0,
    errors: {},
    drops: {},
    lookasideHits: 0,
    tickets: {},
    armored: {},
  };
  const fallback: ErrorContext = { realm: config.realm, sname: krbtgtName(config.realm) };

  /** Step 5 and the reply counters, for fresh replies and lookaside hits alike. */
  const finish = (r: KdcResult, transport: Transport): KdcResult => {
    bump(counters.requests, r.request);
    if (r.reply && transport === "udp" && r.reply.length > config.maxUdpReplyBytes) {
      r.reply = buildKrbError(
        now(),
        fallback,
        KRB_ERROR_CODE.KRB_ERR_RESPONSE_TOO_BIG,
        `reply of ${r.reply.length} bytes exceeds ${config.maxUdpReplyBytes} over UDP: use TCP`,
      );
      bump(counters.errors, "KRB_ERR_RESPONSE_TOO_BIG");
      r.errorCode = KRB_ERROR_CODE.KRB_ERR_RESPONSE_TOO_BIG;
    }
    if (r.reply) counters.replies++;
    return r;
  };

  /** The replay cache's verdict on the outcome's authenticator, if it carried one. */
  const replayChecked = (o: CoreOutcome, at: number): CoreOutcome => {
    if (o.authenticator === undefined) return o;
    if (!authenticators.get(o.authenticator, at)) {
      authenticators.set(o.authenticator, true, at);
      return o;
    }
    const code = KRB_ERROR_CODE.KRB_AP_ERR_REPEAT;
    const ec = o.errorContext ?? fallback;
    const reply = buildKrbError(at, ec, code, "TGS-REQ authenticator replayed");
    return {
      result: {
        reply,
        request: o.result.request,
        errorCode: code,
        ...(o.result.facts ? { facts: o.result.facts } : {}),
      },
      errorName: "KRB_AP_ERR_REPEAT",
    };
  };

  return {
    begin(request) {
      if (request[0] !== 0x6c) return {};
      const key = bytesKey(request);
      const hit = lookaside.get(key, now());
      return hit ? { key, hit } : { key };
    },
    deliver(hit, transport) {
      counters.lookasideHits++;
      return finish({ ...hit, retransmit: true }, transport);
    },
    settle(begin, outcome, transport) {
      const at = now();
      // The same bytes answered while these were computed (worker threads): that reply.
      const done = begin.key === undefined ? undefined : lookaside.get(begin.key, at);
      if (done) return this.deliver(done, transport);
      const o = replayChecked(outcome, at);
      if (o.result.drop) bump(counters.drops, o.result.drop);
      if (o.internal) bump(counters.drops, "internal");
      if (o.errorName) bump(counters.errors, o.errorName);
      if (outcome.armored) bump(counters.armored, o.result.request);
      const r: KdcResult = { ...o.result };
      // A copy of its own: the reply may be a view into a larger encoder slab (asn1/writer.ts).
      if (begin.key !== undefined && r.reply)
        lookaside.set(begin.key, { ...r, reply: kept.copy(r.reply) }, at);
      const out = finish(r, transport);
      // A ticket issued: counted once, here (a retransmission answered from the lookaside
      // cache is the same ticket; a UDP reply replaced by RESPONSE_TOO_BIG carries none).
      const etype = out.reply ? ticketEtype(out.reply) : null;
      if (etype !== null) bump(counters.tickets, `${out.request} ${etype}`);
      return out;
    },
    counters: () => structuredClone(counters),
  };
}
