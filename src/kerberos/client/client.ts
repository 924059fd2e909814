/**
 * The Kerberos client: the I/O shell around the pure request builders and reply readers.
 *
 * login (AS exchange, RFC 4120 §3.1):
 *   1. AS-REQ with PA-PAC-REQUEST, and PA-ENC-TIMESTAMP at once when the key is known
 *      (one round trip instead of two): the enctype and salt of this principal's last
 *      exchange (`preauthHints`), else a keytab's key of our first enctype; otherwise
 *      no pre-authentication;
 *   2. KDC_ERR_PREAUTH_REQUIRED (25) -> pick the key from its ETYPE-INFO2 (salt, s2kparams;
 *      password or keytab) and resend with PA-ENC-TIMESTAMP; a guessed key the KDC refuses
 *      (25, PREAUTH_FAILED 24 or ETYPE_NOSUPP 14: a new salt or enctype after a key roll) is
 *      forgotten and the exchange goes this way, as if nothing had been guessed;
 *   3. KRB_AP_ERR_SKEW (37) -> offset = KDC time in the error - our time; resend once;
 *   4. AS-REP -> decrypt (usage 3), check nonce and names -> TGT credential; the key's
 *      enctype and salt become the principal's hint for the next login.
 * getServiceTicket (TGS exchange, §3.3): TGS-REQ with the TGT (see tgs-req.ts); SKEW ->
 *   adjust and resend once; TGS-REP decrypted in our subkey (usage 9).
 * Any other KRB-ERROR is a KdcError with one line. The KDC offset lives in the client
 * (`timeOffsetMs`) and in the ccache header, as MIT keeps it.
 */
import { KerberosCryptoError } from "../crypto/index.js";
import type { Credential } from "../files/ccache.js";
import { KRB_ERROR_CODE } from "../messages/error-codes.js";
import type { EncKdcRepPart } from "../messages/enc-kdc-rep-part.js";
import type { EtypeInfo2Entry } from "../messages/etype-info2.js";
import type { KdcRep } from "../messages/kdc-rep.js";
import type { KrbError } from "../messages/krb-error.js";
import { formatPrincipal, NAME_TYPE, type Principal } from "../principal.js";
import type { KdcTransport } from "../transport.js";
import { buildAsReq, encTimestampPadata, randomNonce } from "./as-req.js";
import { KdcError, KerberosClientError } from "./errors.js";
import {
  credentialFromReply,
  etypeInfoFrom,
  methodDataOf,
  openKdcRep,
  readKdcReply,
} from "./kdc-reply.js";
import {
  type ClientKey,
  DEFAULT_ETYPES,
  defaultSalt,
  guessedKey,
  type KeySource,
  keyForEtype,
  keyFromEtypeInfo,
  type PreauthHint,
  requestEtypes,
} from "./keys.js";
import { buildTgsReq } from "./tgs-req.js";

export interface ClientDeps {
  transport: KdcTransport;
  /** Wall clock in ms (injected). */
  now(): number;
  randomBytes(n: number): Uint8Array;
  /** Enctype preference (krb5.conf default_tkt_enctypes / permitted_enctypes). */
  etypes?: readonly number[];
  lifetimeSec?: number;
  renewLifetimeSec?: number;
  forwardable?: boolean;
  /** KDC clock minus ours, e.g. from a ccache header. */
  timeOffsetMs?: number;
  /** Each principal's last enctype and salt (default: kept by this client, in memory). */
  preauthHints?: PreauthHints;
}

/** Where the client keeps each principal's PreauthHint, by its `name@REALM` text. */
export interface PreauthHints {
  get(principal: string): PreauthHint | undefined;
  set(principal: string, hint: PreauthHint): void;
  delete(principal: string): void;
}

/** The AS errors that say a guessed pre-authentication key is not the KDC's one. */
const GUESS_REFUSED: readonly number[] = [
  KRB_ERROR_CODE.KDC_ERR_PREAUTH_REQUIRED,
  KRB_ERROR_CODE.KDC_ERR_PREAUTH_FAILED,
  KRB_ERROR_CODE.KDC_ERR_ETYPE_NOSUPP,
];

export interface LoginInput {
  client: Principal;
  keys: KeySource;
  /** PA-PAC-REQUEST include-pac (default true). */
  pac?: boolean;
}

export interface LoginResult {
  tgt: Credential;
  /** The enctype of the client key that answered the KDC. */
  clientEtype: number;
  timeOffsetMs: number;
}

export interface KerberosClient {
  login(input: LoginInput): Promise<LoginResult>;
  getServiceTicket(tgt: Credential, server: Principal): Promise<Credential>;
  /** KDC clock minus ours, as learned from KRB_AP_ERR_SKEW (0 when never adjusted). */
  readonly timeOffsetMs: number;
}

export const DEFAULT_LIFETIME_SEC = 10 * 3600;

/** `krbtgt/REALM@REALM`. */
export function tgsPrincipal(realm: string): Principal {
  return { realm, name: { nameType: NAME_TYPE.NT_SRV_INST, nameString: ["krbtgt", realm] } };
}

function kdcTimeMs(e: KrbError): number {
  return e.stime.getTime() + Math.floor(e.susec / 1000);
}

/** The key for the AS-REP's enc-part: the pre-auth key, or one from the reply's ETYPE-INFO2. */
function asReplyKey(input: LoginInput, rep: KdcRep, key: ClientKey | undefined): ClientKey {
  if (key && key.etype === rep.encPart.etype) return key;
  const info = etypeInfoFrom(rep.padata).find((x) => x.etype === rep.encPart.etype);
  const k = keyForEtype(
    input.keys,
    input.client,
    rep.encPart.etype,
    info?.salt ?? defaultSalt(input.client),
    info?.s2kparams,
  );
  if (!k) {
    throw new KerberosClientError(
      "no-usable-key",
      `AS-REP is encrypted with enctype ${rep.encPart.etype}, for which we have no key`,
    );
  }
  return k;
}

/** Decrypts the AS-REP (usage 3); a MAC failure means a wrong password or stale keytab. */
function openAsRep(
  input: LoginInput,
  rep: KdcRep,
  key: ClientKey,
  nonce: number,
  server: Principal,
): EncKdcRepPart {
  try {
    return openKdcRep(rep, key, 3, { nonce, client: input.client, server });
  } catch (err) {
    if (err instanceof KerberosCryptoError && err.code === "integrity") {
      const why =
        input.keys.kind === "password"
          ? "password incorrect"
          : "the keytab's key is not the KDC's (old kvno?)";
      throw new KerberosClientError(
        "wrong-password",
        `the AS-REP for ${formatPrincipal(input.client)} does not decrypt: ${why}`,
      );
    }
    throw err;
  }
}

/** The key PREAUTH_REQUIRED's ETYPE-INFO2 names. */
function keyFromError(input: LoginInput, e: KrbError, etypes: readonly number[]): ClientKey {
  return keyFromEtypeInfo(input.keys, input.client, etypeInfoFrom(methodDataOf(e)), etypes);
}

/** The hint a successful exchange leaves: its key's enctype and salt (the AS-REP's own
 * ETYPE-INFO2 entry for that enctype when the KDC sent one, as it is the newest word). */
function hintOf(key: ClientKey, info: readonly EtypeInfo2Entry[]): PreauthHint {
  const entry = info.find((x) => x.etype === key.etype);
  const salt = entry?.salt ?? key.salt;
  const s2kparams = entry?.s2kparams ?? key.s2kparams;
  return {
    etype: key.etype,
    ...(salt !== undefined ? { salt } : {}),
    ...(s2kparams !== undefined ? { s2kparams } : {}),
  };
}

/** PreauthHints in a Map, for one client's life. */
export function memoryHints(): PreauthHints {
  const m = new Map<string, PreauthHint>();
  return {
    get: (p) => m.get(p),
    set: (p, h) => void m.set(p, h),
    delete: (p) => void m.delete(p),
  };
}

export function createKerberosClient(deps: ClientDeps): KerberosClient {
  let offsetMs = deps.timeOffsetMs ?? 0;
  const prefs = deps.etypes ?? DEFAULT_ETYPES;
  const lifetimeSec = deps.lifetimeSec ?? DEFAULT_LIFETIME_SEC;
  const kdcNow = () => deps.now() + offsetMs;
  const hints = deps.preauthHints ?? memoryHints();

  async function login(input: LoginInput): Promise<LoginResult> {
    const server = tgsPrincipal(input.client.realm);
    const who = formatPrincipal(input.client);
    const etypes = requestEtypes(input.keys, input.client, prefs);
    let key = guessedKey(input.keys, input.client, hints.get(who), etypes);
    let guessed = key !== undefined;
    let skewRetried = false;
    for (let step = 0; step < 5; step++) {
      const nonce = randomNonce(deps.randomBytes);
      const request = buildAsReq({
        client: input.client,
        server,
        etypes,
        nowMs: kdcNow(),
        nonce,
        lifetimeSec,
        renewLifetimeSec: deps.renewLifetimeSec ?? 0,
        forwardable: deps.forwardable ?? true,
        pac: input.pac ?? true,
        padata: key ? [encTimestampPadata(key, kdcNow(), deps.randomBytes)] : [],
      });
      const reply = readKdcReply(await deps.transport.send(input.client.realm, request), "AS-REP");
      if (reply.kind === "error") {
        const e = reply.error;
        const preauthRequired = e.errorCode === KRB_ERROR_CODE.KDC_ERR_PREAUTH_REQUIRED;
        if (guessed && GUESS_REFUSED.includes(e.errorCode)) {
          // a stale hint (new salt, enctype or key): the KDC's own ETYPE-INFO2 decides now
          guessed = false;
          hints.delete(who);
          key = preauthRequired ? keyFromError(input, e, etypes) : undefined;
          continue;
        }
        if (preauthRequired && !key) {
          key = keyFromError(input, e, etypes);
          continue;
        }
        if (e.errorCode === KRB_ERROR_CODE.KRB_AP_ERR_SKEW && !skewRetried) {
          skewRetried = true;
          offsetMs = kdcTimeMs(e) - deps.now();
          continue;
        }
        throw new KdcError(e, who);
      }
      const rep = reply.rep;
      const used = asReplyKey(input, rep, key);
      const part = openAsRep(input, rep, used, nonce, server);
      hints.set(who, hintOf(used, etypeInfoFrom(rep.padata)));
      return {
        tgt: credentialFromReply(rep, part),
        clientEtype: used.etype,
        timeOffsetMs: offsetMs,
      };
    }
    throw new KerberosClientError(
      "kdc-reply-invalid",
      `AS exchange for ${who} did not finish in 5 steps`,
    );
  }

  async function getServiceTicket(tgt: Credential, server: Principal): Promise<Credential> {
    const tgsRealm = tgt.server.name.nameString[1] ?? tgt.server.realm;
    for (let attempt = 0; attempt < 2; attempt++) {
      const nonce = randomNonce(deps.randomBytes);
      const built = buildTgsReq({
        tgt,
        server,
        etypes: prefs,
        nowMs: kdcNow(),
        nonce,
        lifetimeSec,
        randomBytes: deps.randomBytes,
      });
      const reply = readKdcReply(await deps.transport.send(tgsRealm, built.bytes), "TGS-REP");
      if (reply.kind === "error") {
        if (reply.error.errorCode === KRB_ERROR_CODE.KRB_AP_ERR_SKEW && attempt === 0) {
          offsetMs = kdcTimeMs(reply.error) - deps.now();
          continue;
        }
        throw new KdcError(reply.error, formatPrincipal(server));
      }
      const part = openKdcRep(reply.rep, built.replyKey, built.replyKey.usage, {
        nonce,
        client: tgt.client,
        server,
        canonicalize: true,
      });
      return credentialFromReply(reply.rep, part);
    }
    throw new KerberosClientError(
      "kdc-reply-invalid",
      `TGS exchange for ${formatPrincipal(server)}: clock skew persists after adjusting`,
    );
  }

  return {
    login,
    getServiceTicket,
    get timeOffsetMs() {
      return offsetMs;
    },
  };
}
