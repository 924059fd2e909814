/**
 * The KDC core: bytes in, bytes out, no I/O. `createKdc(deps)` returns `handle(request,
 * transport)`:
 *
 *   1. decode: AS-REQ [APPLICATION 10] / TGS-REQ [APPLICATION 12]; other valid Kerberos
 *      messages get KRB_AP_ERR_MSG_TYPE; a malformed request KRB_ERR_GENERIC naming the
 *      field; bytes that are not a Kerberos message are dropped (counted)
 *   2. AS exchange (as-exchange.ts) or TGS exchange (tgs-exchange.ts)
 *   3. any KdcError -> KRB-ERROR with its code; an unexpected failure -> KRB_ERR_GENERIC
 *      (counted as "internal"), never a throw
 *   4. a TGS-REQ identical to one answered within the skew window gets the same reply
 *      (a retransmission; replay.ts), counted as a lookaside hit
 *   5. over UDP, a reply longer than maxUdpReplyBytes -> KRB_ERR_RESPONSE_TOO_BIG, so the
 *      client retries over TCP (RFC 4120 §7.2.1)
 *
 * Steps 1-3 are the stateless core (`createKdcCore`, which worker threads run, see
 * worker-pool.ts); the TGS authenticator replay cache, the lookaside cache and the counters
 * are the state around it (kdc-state.ts), kept in one place: the core reports the digest of
 * each TGS authenticator that verified and the state turns a second sighting into
 * KRB_AP_ERR_REPEAT.
 */
import { Asn1Error } from "../../asn1/der.js";
import { randomBytes } from "../../crypto/primitives.js";
import { createDerivedKeyCache, KerberosCryptoError } from "../crypto/index.js";
import {
  decodeKrbMessage,
  type KRB_ERROR_CODE,
  type KdcReq,
  kdcReqBodyBytes,
  krbErrorName,
} from "../messages/index.js";
import { PacError } from "../pac/index.js";
import { handleAsReq } from "./as-exchange.js";
import { type KdcConfig, type ResolvedKdcConfig, resolveKdcConfig } from "./config.js";
import { type ExchangeNote, type KdcContext, krbtgtName, principalText } from "./context.js";
import type { PrincipalDatabase } from "./database.js";
import { KdcError } from "./errors.js";
import { type FastHolder, type FastState, fastErrorEData } from "./fast.js";
import { createPacLayoutCache } from "./pac-issue.js";
import { createRandomPool } from "./random-pool.js";
import { type CoreOutcome, createKdcState, type KdcCounters, type KdcResult } from "./kdc-state.js";
import { createExpiringCache, type ExpiringCache } from "./replay.js";
import { buildKrbError, type ErrorContext } from "./reply.js";
import type { RequestFacts } from "./request-log.js";
import type { OpenedTgt } from "./tgs-auth.js";
import { handleTgsReq } from "./tgs-exchange.js";

export interface KdcDeps extends KdcConfig {
  database: PrincipalDatabase;
  /** Unix milliseconds; default Date.now. */
  now?: () => number;
  randomBytes?: (n: number) => Uint8Array;
  /**
   * Derived keys (Ke/Ki/Kc) kept per base key and usage; default 65,536 entries (four per
   * account that logs on: a domain of 16,384 accounts, about 10 MB).
   */
  derivedKeyCacheEntries?: number;
  /** AS tickets' PAC layouts kept (pac-issue.ts); default 16,384, one per account. */
  pacLayoutEntries?: number;
  /** Bound on the TGS authenticator replay cache and the reply lookaside cache (default 100,000 / 10,000). */
  replayCacheEntries?: number;
  lookasideEntries?: number;
  /** TGTs kept decrypted for 10 minutes, by ciphertext (default 4096; tgs-auth.ts). */
  tgtCacheEntries?: number;
}

export type { KdcCounters, KdcResult, Transport } from "./kdc-state.js";

export interface Kdc {
  handle(request: Uint8Array, transport: "udp" | "tcp"): KdcResult;
  counters(): KdcCounters;
}

function toKdcError(e: unknown): { err: KdcError; internal: boolean } {
  if (e instanceof KdcError) return { err: e, internal: false };
  if (e instanceof KerberosCryptoError) {
    const name = krbErrorName(e.krbErrorCode) as keyof typeof KRB_ERROR_CODE;
    return { err: new KdcError(name, e.message), internal: false };
  }
  if (e instanceof Asn1Error)
    return { err: new KdcError("KRB_ERR_GENERIC", `malformed: ${e.message}`), internal: false };
  if (e instanceof PacError)
    return { err: new KdcError("KRB_AP_ERR_MODIFIED", e.message), internal: false };
  return { err: new KdcError("KRB_ERR_GENERIC", "internal error"), internal: true };
}

function errorOutcome(
  ctx: KdcContext,
  ec: ErrorContext,
  e: unknown,
  request: KdcResult["request"],
  fast?: FastState,
  facts?: RequestFacts,
): CoreOutcome {
  const { err, internal } = toKdcError(e);
  const now = ctx.now();
  // Armored (fast.ts): the error itself travels inside, as PA-FX-ERROR.
  const eData = fast
    ? fastErrorEData(ctx, fast, buildKrbError(now, ec, err.errorCode, err.message), err.eData)
    : err.eData;
  return {
    result: {
      reply: buildKrbError(now, ec, err.errorCode, err.message, eData),
      request,
      errorCode: err.errorCode,
      ...(facts ? { facts: { ...facts, text: err.message } } : {}),
    },
    ...(fast ? { armored: true } : {}),
    errorName: err.krbError,
    errorContext: ec,
    ...(internal ? { internal } : {}),
  };
}

/** Steps 1-3 of the flow above for one request. */
function exchange(ctx: KdcContext, bytes: Uint8Array): CoreOutcome {
  const { realm } = ctx.config;
  const fallback: ErrorContext = { realm, sname: krbtgtName(realm) };
  let msg: ReturnType<typeof decodeKrbMessage>;
  try {
    msg = decodeKrbMessage(bytes);
  } catch (e) {
    const tag = bytes[0];
    if (tag !== 0x6a && tag !== 0x6c) return { result: { request: "other", drop: "not-kerberos" } };
    return errorOutcome(ctx, fallback, e, tag === 0x6a ? "AS-REQ" : "TGS-REQ");
  }
  if (msg.type !== "AS-REQ" && msg.type !== "TGS-REQ") {
    const e = new KdcError("KRB_AP_ERR_MSG_TYPE", `${msg.type} sent to the KDC`);
    return errorOutcome(ctx, fallback, e, "other");
  }
  const req: KdcReq = msg.value;
  const ec: ErrorContext = {
    realm,
    sname: req.reqBody.sname ?? fallback.sname,
    ...(msg.type === "AS-REQ" && req.reqBody.cname
      ? { crealm: req.reqBody.realm, cname: req.reqBody.cname }
      : {}),
  };
  const fast: FastHolder = {};
  const note: ExchangeNote = {};
  ctx.note = note;
  // The request log's facts (request-log.ts), read after the exchange filled `note`.
  const body = req.reqBody;
  const facts = (): RequestFacts => {
    const client =
      msg.type === "AS-REQ" ? body.cname && principalText(body.cname, body.realm) : note.client;
    return {
      etypes: body.etype,
      ...(client ? { client } : {}),
      ...(body.sname ? { service: principalText(body.sname, body.realm) } : {}),
      ...(note.issued ? { issued: note.issued } : {}),
    };
  };
  try {
    const reply =
      msg.type === "AS-REQ"
        ? handleAsReq(ctx, req, bytes, fast)
        : handleTgsReq(ctx, req, kdcReqBodyBytes(bytes), fast);
    return {
      result: { reply, request: msg.type, facts: facts() },
      errorContext: ec,
      ...(fast.state ? { armored: true } : {}),
    };
  } catch (e) {
    return errorOutcome(ctx, ec, e, msg.type, fast.state, facts());
  } finally {
    ctx.note = undefined;
  }
}

export interface KdcCore {
  readonly config: ResolvedKdcConfig;
  /** Steps 1-3 for one request; never throws (an unexpected failure is a counted drop). */
  process(request: Uint8Array): CoreOutcome;
}

/**
 * The stateless core. Its context's authenticator "cache" only records the digest of the
 * authenticator the current request carried (`CoreOutcome.authenticator`): whether that is
 * a replay is decided by the state (kdc-state.ts), so several cores (worker threads) share
 * one replay cache.
 */
export function createKdcCore(deps: KdcDeps): KdcCore {
  const config = resolveKdcConfig(deps, deps.database);
  let seen: string | undefined;
  const recorder: ExpiringCache<true> = {
    get: () => undefined,
    set: (key) => {
      seen = key;
    },
    size: 0,
  };
  const ctx: KdcContext = {
    config,
    db: deps.database,
    now: deps.now ?? Date.now,
    authenticators: recorder,
    pacLayouts: createPacLayoutCache(deps.pacLayoutEntries),
    tgts: createExpiringCache<OpenedTgt>(10 * 60_000, deps.tgtCacheEntries ?? 4096),
    crypto: {
      randomBytes: deps.randomBytes ?? createRandomPool(randomBytes),
      derivedKeys: createDerivedKeyCache(deps.derivedKeyCacheEntries ?? 65_536),
      instances: new Map(),
    },
  };
  return {
    config,
    process(request) {
      seen = undefined;
      let out: CoreOutcome;
      try {
        out = exchange(ctx, request);
      } catch {
        out = { result: { request: "other", drop: "internal" } };
      }
      return seen === undefined ? out : { ...out, authenticator: seen };
    },
  };
}

export function createKdc(deps: KdcDeps): Kdc {
  const core = createKdcCore(deps);
  const state = createKdcState(core.config, deps.now ?? Date.now, deps);
  return {
    handle(request, transport) {
      const start = state.begin(request);
      if (start.hit) return state.deliver(start.hit, transport);
      return state.settle(start, core.process(request), transport);
    },
    counters: () => state.counters(),
  };
}
