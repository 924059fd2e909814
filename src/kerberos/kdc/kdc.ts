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
 */
import { Asn1Error } from "../../asn1/der.js";
import { randomBytes } from "../../crypto/primitives.js";
import { createDerivedKeyCache, KerberosCryptoError } from "../crypto/index.js";
import {
  decodeKrbMessage,
  KRB_ERROR_CODE,
  type KdcReq,
  kdcReqBodyBytes,
  krbErrorName,
} from "../messages/index.js";
import { PacError } from "../pac/index.js";
import { handleAsReq } from "./as-exchange.js";
import { type KdcConfig, resolveKdcConfig } from "./config.js";
import { type KdcContext, krbtgtName } from "./context.js";
import type { PrincipalDatabase } from "./database.js";
import { KdcError } from "./errors.js";
import { createRandomPool } from "./random-pool.js";
import { createExpiringCache, digestKey } from "./replay.js";
import { buildKrbError, type ErrorContext } from "./reply.js";
import { handleTgsReq } from "./tgs-exchange.js";

export interface KdcDeps extends KdcConfig {
  database: PrincipalDatabase;
  /** Unix milliseconds; default Date.now. */
  now?: () => number;
  randomBytes?: (n: number) => Uint8Array;
  /** Derived keys (Ke/Ki/Kc) kept per base key and usage; default 4096 entries. */
  derivedKeyCacheEntries?: number;
  /** Bound on the TGS authenticator replay cache and the reply lookaside cache (default 100,000 / 10,000). */
  replayCacheEntries?: number;
  lookasideEntries?: number;
}

export type Transport = "udp" | "tcp";

export interface KdcResult {
  /** The bytes to send back; absent when the request is dropped. */
  reply?: Uint8Array;
  request: "AS-REQ" | "TGS-REQ" | "other";
  /** KRB-ERROR code sent, if any. */
  errorCode?: number;
  /** Why nothing was sent. */
  drop?: string;
}

export interface KdcCounters {
  requests: Record<string, number>;
  replies: number;
  errors: Record<string, number>;
  drops: Record<string, number>;
  /** TGS-REQs answered from the lookaside cache (the same bytes again: a retransmission). */
  lookasideHits: number;
}

export interface Kdc {
  handle(request: Uint8Array, transport: Transport): KdcResult;
  counters(): KdcCounters;
}

const bump = (m: Record<string, number>, k: string) => {
  m[k] = (m[k] ?? 0) + 1;
};

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

function errorResult(
  ctx: KdcContext,
  counters: KdcCounters,
  ec: ErrorContext,
  e: unknown,
  request: KdcResult["request"],
): KdcResult {
  const { err, internal } = toKdcError(e);
  if (internal) bump(counters.drops, "internal");
  bump(counters.errors, err.krbError);
  return {
    reply: buildKrbError(ctx.now(), ec, err.errorCode, err.message, err.eData),
    request,
    errorCode: err.errorCode,
  };
}

/** Steps 1-3 of the flow above for one request. */
function exchange(ctx: KdcContext, counters: KdcCounters, bytes: Uint8Array): KdcResult {
  const { realm } = ctx.config;
  const fallback: ErrorContext = { realm, sname: krbtgtName(realm) };
  let msg: ReturnType<typeof decodeKrbMessage>;
  try {
    msg = decodeKrbMessage(bytes);
  } catch (e) {
    const tag = bytes[0];
    if (tag !== 0x6a && tag !== 0x6c) {
      bump(counters.drops, "not-kerberos");
      return { request: "other", drop: "not-kerberos" };
    }
    return errorResult(ctx, counters, fallback, e, tag === 0x6a ? "AS-REQ" : "TGS-REQ");
  }
  if (msg.type !== "AS-REQ" && msg.type !== "TGS-REQ") {
    const e = new KdcError("KRB_AP_ERR_MSG_TYPE", `${msg.type} sent to the KDC`);
    return errorResult(ctx, counters, fallback, e, "other");
  }
  const req: KdcReq = msg.value;
  const ec: ErrorContext = {
    realm,
    sname: req.reqBody.sname ?? fallback.sname,
    ...(msg.type === "AS-REQ" && req.reqBody.cname
      ? { crealm: req.reqBody.realm, cname: req.reqBody.cname }
      : {}),
  };
  try {
    const reply =
      msg.type === "AS-REQ"
        ? handleAsReq(ctx, req)
        : handleTgsReq(ctx, req, kdcReqBodyBytes(bytes));
    return { reply, request: msg.type };
  } catch (e) {
    return errorResult(ctx, counters, ec, e, msg.type);
  }
}

/** `exchange`, and should even building a KRB-ERROR fail: a counted drop, never a throw. */
function guarded(ctx: KdcContext, counters: KdcCounters, bytes: Uint8Array): KdcResult {
  try {
    return exchange(ctx, counters, bytes);
  } catch {
    bump(counters.drops, "internal");
    return { request: "other", drop: "internal" };
  }
}

export function createKdc(deps: KdcDeps): Kdc {
  const config = resolveKdcConfig(deps, deps.database);
  const rnd = deps.randomBytes ?? createRandomPool(randomBytes);
  const ctx: KdcContext = {
    config,
    db: deps.database,
    now: deps.now ?? Date.now,
    authenticators: createExpiringCache<true>(
      2 * config.skewMs,
      deps.replayCacheEntries ?? 100_000,
    ),
    crypto: {
      randomBytes: rnd,
      derivedKeys: createDerivedKeyCache(deps.derivedKeyCacheEntries ?? 4096),
    },
  };
  const counters: KdcCounters = {
    requests: {},
    replies: 0,
    errors: {},
    drops: {},
    lookasideHits: 0,
  };
  const lookaside = createExpiringCache<KdcResult>(
    2 * config.skewMs,
    deps.lookasideEntries ?? 10_000,
  );
  const fallback: ErrorContext = { realm: config.realm, sname: krbtgtName(config.realm) };

  return {
    handle(request, transport) {
      const now = ctx.now();
      const key = request[0] === 0x6c ? digestKey(request) : undefined;
      const seen = key === undefined ? undefined : lookaside.get(key, now);
      if (seen) counters.lookasideHits++;
      const r: KdcResult = seen ? { ...seen } : guarded(ctx, counters, request);
      if (!seen && key !== undefined && r.reply) lookaside.set(key, { ...r }, now);
      bump(counters.requests, r.request);
      if (r.reply && transport === "udp" && r.reply.length > config.maxUdpReplyBytes) {
        const tooBig = buildKrbError(
          ctx.now(),
          fallback,
          KRB_ERROR_CODE.KRB_ERR_RESPONSE_TOO_BIG,
          `reply of ${r.reply.length} bytes exceeds ${config.maxUdpReplyBytes} over UDP: use TCP`,
        );
        bump(counters.errors, "KRB_ERR_RESPONSE_TOO_BIG");
        r.reply = tooBig;
        r.errorCode = KRB_ERROR_CODE.KRB_ERR_RESPONSE_TOO_BIG;
      }
      if (r.reply) counters.replies++;
      return r;
    },
    counters: () => structuredClone(counters),
  };
}
