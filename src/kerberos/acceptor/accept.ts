/**
 * Accepting an AP-REQ (RFC 4120 §3.2.3), as a service does with its keytab:
 *
 *   1. decode the AP-REQ; user-to-user is not supported;
 *   2. the ticket's service must be ours (when `service` is set); pick the keytab key of the
 *      ticket's enctype and kvno (none: NOKEY 45 / BADKEYVER 44);
 *   3. decrypt the ticket (usage 2) and the authenticator (usage 11) in its session key
 *      (a bad MAC: BAD_INTEGRITY 31);
 *   4. authenticator client = ticket client (BADMATCH 36); |ctime - now| <= skew (SKEW 37);
 *      ticket start - skew <= now <= end + skew (TKT_NYV 33 / TKT_EXPIRED 32);
 *   5. replay cache: the same authenticator twice is REPEAT 34;
 *   6. the PAC: server signature with the service key, KDC signature with the KDC key
 *      when given (pac.ts).
 * The result names the client and carries the session key, the subkey and sequence number
 * for the session, and the verified PAC; `buildApRep` (reply.ts) answers mutual auth.
 */
import { hash } from "../../crypto/primitives.js";
import { type CryptoDeps, getEnctype, KerberosCryptoError, KeyUsage } from "../crypto/index.js";
import type { Keytab } from "../files/keytab.js";
import { keytabEntryFor } from "../client/keys.js";
import { AP_OPTIONS } from "../messages/ap-options.js";
import { type ApReq, decodeApReq } from "../messages/ap-req.js";
import { type Authenticator, decodeAuthenticator } from "../messages/authenticator.js";
import { decodeEncTicketPart, type EncTicketPart } from "../messages/enc-ticket-part.js";
import type { EncryptionKey } from "../messages/encryption-key.js";
import { hasFlag } from "../messages/primitives.js";
import { TICKET_FLAGS } from "../messages/ticket-flags.js";
import type { PacKey } from "../pac/index.js";
import { formatPrincipal, type Principal, principalEquals } from "../principal.js";
import { AcceptorError } from "./errors.js";
import { type AcceptedPac, acceptPac } from "./pac.js";
import type { ReplayCache } from "./replay-cache.js";

export const DEFAULT_SKEW_MS = 5 * 60 * 1000;

export interface AcceptorDeps {
  keytab: Keytab;
  now(): number;
  replayCache: ReplayCache;
  /** Accept only tickets for this principal (any principal in the keytab when absent). */
  service?: Principal;
  skewMs?: number;
  /** The KDC's (krbtgt) key, to check the PAC's KDC and ticket signatures too. */
  kdcKey?: PacKey;
  /**
   * Crypto for the long-term keys (the keytab's, the KDC's): a derived-key cache here makes
   * each ticket's decrypt and PAC check derive nothing (an IKE responder's every IKE_AUTH).
   */
  crypto?: CryptoDeps;
}

export interface AcceptedContext {
  client: Principal;
  server: Principal;
  sessionKey: EncryptionKey;
  subkey?: EncryptionKey;
  seqNumber?: number;
  mutualRequired: boolean;
  ticket: EncTicketPart;
  authenticator: Authenticator;
  pac?: AcceptedPac;
}

function decrypt(
  key: EncryptionKey,
  usage: number,
  cipher: Uint8Array,
  what: string,
  crypto?: CryptoDeps,
): Uint8Array {
  try {
    return getEnctype(key.keytype, crypto).decrypt(key.keyvalue, usage, cipher);
  } catch (e) {
    if (e instanceof KerberosCryptoError) {
      if (e.code === "unsupported-enctype")
        throw new AcceptorError("unsupported", `${what}: ${e.message}`);
      throw new AcceptorError(
        "bad-integrity",
        `${what} does not decrypt: ${e.message} (wrong key?)`,
      );
    }
    throw e;
  }
}

function serviceKey(deps: AcceptorDeps, ap: ApReq): EncryptionKey {
  const server: Principal = { realm: ap.ticket.realm, name: ap.ticket.sname };
  const name = formatPrincipal(server);
  if (deps.service && !principalEquals(server, deps.service)) {
    throw new AcceptorError(
      "not-us",
      `ticket is for ${name}, this service is ${formatPrincipal(deps.service)}`,
    );
  }
  const { etype, kvno } = ap.ticket.encPart;
  const entry = keytabEntryFor(deps.keytab, server, etype, kvno);
  if (entry) return { keytype: etype, keyvalue: entry.key.keyvalue };
  if (keytabEntryFor(deps.keytab, server, etype)) {
    throw new AcceptorError(
      "bad-kvno",
      `keytab has no key of kvno ${kvno} (enctype ${etype}) for ${name}`,
    );
  }
  throw new AcceptorError("no-key", `keytab has no enctype ${etype} key for ${name}`);
}

function checkTimes(deps: AcceptorDeps, t: EncTicketPart, a: Authenticator): void {
  const now = deps.now();
  const skew = deps.skewMs ?? DEFAULT_SKEW_MS;
  const ctime = a.ctime.getTime() + Math.floor(a.cusec / 1000);
  if (Math.abs(ctime - now) > skew) {
    throw new AcceptorError(
      "skew",
      `authenticator time ${a.ctime.toISOString()} is ${Math.round((ctime - now) / 1000)} s from ours (allowed ${skew / 1000} s)`,
    );
  }
  const start = (t.starttime ?? t.authtime).getTime();
  if (start - skew > now || hasFlag(t.flags, TICKET_FLAGS.invalid)) {
    throw new AcceptorError(
      "ticket-not-yet-valid",
      `ticket is not valid until ${new Date(start).toISOString()}`,
    );
  }
  if (t.endtime.getTime() + skew < now) {
    throw new AcceptorError("ticket-expired", `ticket expired at ${t.endtime.toISOString()}`);
  }
}

export function acceptApReq(deps: AcceptorDeps, bytes: Uint8Array): AcceptedContext {
  let ap: ApReq;
  try {
    ap = decodeApReq(bytes);
  } catch (e) {
    throw new AcceptorError("malformed", `AP-REQ: ${(e as Error).message}`);
  }
  if (hasFlag(ap.apOptions, AP_OPTIONS.useSessionKey)) {
    throw new AcceptorError(
      "unsupported",
      "AP-REQ asks for user-to-user (use-session-key): not supported",
    );
  }
  const key = serviceKey(deps, ap);
  const ticket = decodeOrFail(() =>
    decodeEncTicketPart(
      decrypt(key, KeyUsage.KDC_REP_TICKET, ap.ticket.encPart.cipher, "ticket", deps.crypto),
    ),
  );
  const sessionKey = ticket.key;
  if (ap.authenticator.etype !== sessionKey.keytype) {
    throw new AcceptorError(
      "bad-integrity",
      `authenticator enctype ${ap.authenticator.etype} is not the session key's ${sessionKey.keytype}`,
    );
  }
  const auth = decodeOrFail(() =>
    decodeAuthenticator(
      decrypt(sessionKey, KeyUsage.AP_REQ_AUTH, ap.authenticator.cipher, "authenticator"),
    ),
  );
  const client: Principal = { realm: ticket.crealm, name: ticket.cname };
  if (!principalEquals(client, { realm: auth.crealm, name: auth.cname })) {
    throw new AcceptorError(
      "bad-match",
      `authenticator is from ${auth.cname.nameString.join("/")}@${auth.crealm}, the ticket from ${formatPrincipal(client)}`,
    );
  }
  checkTimes(deps, ticket, auth);
  const server: Principal = { realm: ap.ticket.realm, name: ap.ticket.sname };
  const replayKey = `${formatPrincipal(client)} ${formatPrincipal(server)} ${Buffer.from(hash("sha256", ap.authenticator.cipher)).toString("hex")}`;
  const expires = auth.ctime.getTime() + (deps.skewMs ?? DEFAULT_SKEW_MS) + 1000;
  if (!deps.replayCache.checkAndStore(replayKey, expires)) {
    throw new AcceptorError(
      "replay",
      `authenticator from ${formatPrincipal(client)} at ${auth.ctime.toISOString()} was already used (replay)`,
    );
  }
  const pac = acceptPac(
    ticket,
    { etype: key.keytype, key: key.keyvalue },
    deps.kdcKey,
    deps.crypto,
  );
  const out: AcceptedContext = {
    client,
    server,
    sessionKey,
    mutualRequired: hasFlag(ap.apOptions, AP_OPTIONS.mutualRequired),
    ticket,
    authenticator: auth,
  };
  if (auth.subkey) out.subkey = auth.subkey;
  if (auth.seqNumber !== undefined) out.seqNumber = auth.seqNumber;
  if (pac) out.pac = pac;
  return out;
}

function decodeOrFail<T>(f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof AcceptorError) throw e;
    throw new AcceptorError("malformed", (e as Error).message, 41);
  }
}
