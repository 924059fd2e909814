/** The Kerberos acceptor: verify an AP-REQ with a keytab, answer with an AP-REP. */
export { type AcceptedContext, type AcceptorDeps, acceptApReq, DEFAULT_SKEW_MS } from "./accept.js";
export { AcceptorError, type AcceptorErrorCode } from "./errors.js";
export { type AcceptedPac, ticketWithZeroedPac } from "./pac.js";
export { createReplayCache, type ReplayCache, type ReplayCacheOptions } from "./replay-cache.js";
export { type ApRepBasis, type ApRepOptions, buildApError, buildApRep } from "./reply.js";
