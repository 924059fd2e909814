/**
 * Kerberos as an IKEv2 AUTH method (DESIGN decision 3; docs/protocol/ikev2-kerberos.md).
 *
 *   Initiator (buildAuth)
 *     1. service ticket for host/<responder fqdn> (spnOf(peer id)) from the caller;
 *     2. AP-REQ: mutual-required, a fresh subkey, authenticator cksum = the IKE SA binding
 *        (kerberos-binding.ts) -> Notify KERBEROS_AP_REQ;
 *     3. AUTH = prf(prf(subkey, "Key Pad for IKEv2"), InitiatorSignedOctets).
 *   Responder (verifyAuth, then buildAuth)
 *     4. acceptApReq with the keytab and replay cache (ticket, authenticator, skew, replay,
 *        PAC signatures); mutual-required and a subkey are mandatory; the binding must match
 *        this SA; the initiator's AUTH must verify with the subkey;
 *     5. the peer identity: client principal, user and group SIDs of the verified PAC;
 *     6. AP-REP -> Notify KERBEROS_AP_REP, AUTH over ResponderSignedOctets with the subkey.
 *   Initiator (verifyAuth)
 *     7. verifyApRep (ctime/cusec echoed in the session key), then the responder's AUTH.
 */
import { equalConstantTime } from "../crypto/primitives.js";
import { AcceptorError, acceptApReq, buildApRep } from "../kerberos/acceptor/index.js";
import type { AcceptedContext, ApRepBasis, ReplayCache } from "../kerberos/acceptor/index.js";
import { buildApReq, type BuiltApReq, verifyApRep } from "../kerberos/client/index.js";
import { type CryptoDeps, createDerivedKeyCache } from "../kerberos/crypto/index.js";
import type { Credential } from "../kerberos/files/ccache.js";
import type { Keytab } from "../kerberos/files/keytab.js";
import type { EncryptionKey } from "../kerberos/messages/encryption-key.js";
import { decodeTicket, type Ticket } from "../kerberos/messages/ticket.js";
import type { PacKey } from "../kerberos/pac/index.js";
import { formatPrincipal, type Principal } from "../kerberos/principal.js";
import type { AuthContext, AuthMethodProvider, AuthVerdict, PeerIdentity } from "./auth.js";
import { sharedKeyAuth } from "./crypto.js";
import {
  BINDING_CKSUMTYPE,
  ikeSaBinding,
  KERBEROS_AUTH_METHOD,
  NOTIFY_KERBEROS_AP_REP,
  NOTIFY_KERBEROS_AP_REQ,
} from "./kerberos-binding.js";
import type { AuthPayload } from "./payloads/auth.js";
import type { Payload } from "./message.js";
import { parseIdentity } from "./payloads/id.js";
import { notify } from "./payloads/notify.js";
import { IdType } from "./constants.js";

export interface ServiceTicket {
  ticket: Ticket;
  sessionKey: EncryptionKey;
  client: Principal;
}

export interface KerberosInitiatorConfig {
  /** A service ticket for `spn` (from the ccache or a TGS exchange). */
  getServiceTicket(spn: string): Promise<ServiceTicket> | ServiceTicket;
  /** Our clock corrected by the KDC offset, in ms. */
  now(): number;
  randomBytes(n: number): Uint8Array;
}

export interface KerberosResponderConfig {
  keytab: Keytab;
  replayCache: ReplayCache;
  now(): number;
  randomBytes(n: number): Uint8Array;
  /** Only tickets for this service (any principal of the keytab when absent). */
  service?: Principal;
  /** krbtgt key: also check the PAC's KDC and ticket signatures. */
  kdcKey?: PacKey;
  skewMs?: number;
}

export interface KerberosAuthOptions {
  initiator?: KerberosInitiatorConfig;
  responder?: KerberosResponderConfig;
  /** SPN of a peer from its IKE identity; default: "fqdn:h" -> "host/h". The agent looks
   * an address identity up in the domain's DNS (PTR), so this may answer later. */
  spnOf?: (peerId: string) => string | Promise<string>;
}

interface InitiatorState {
  kind: "initiator";
  built: BuiltApReq;
  sessionKey: EncryptionKey;
  spn: string;
}
/**
 * Kept per IKE SA from the AP-REQ's check to our IKE_AUTH response: what the AP-REP and our
 * AUTH need, not the whole AcceptedContext (its ticket, PAC bytes and decoded PAC were most
 * of a responder's memory per SA, bench/ike-load.ts).
 */
interface ResponderState {
  kind: "responder";
  apRep: ApRepBasis;
  subkey: EncryptionKey;
}

/** How long a ticket fetched for an IKE_SA_INIT waits for its IKE_AUTH (retransmissions included). */
const PREPARED_MS = 30_000;

/** The ServiceTicket of a credential (ccache entry or getServiceTicket result). */
export function serviceTicketOf(cred: Credential): ServiceTicket {
  return {
    ticket: decodeTicket(cred.ticket),
    sessionKey: { keytype: cred.key.keytype, keyvalue: cred.key.keyvalue },
    client: cred.client,
  };
}

/** "fqdn:server1.bigfirm.test" -> "host/server1.bigfirm.test"; other ID types need spnOf. */
export function defaultSpnOf(peerId: string): string {
  const id = parseIdentity(peerId);
  if (id.idType === IdType.FQDN) return `host/${id.data.toString().toLowerCase()}`;
  throw new Error(
    `Kerberos IKE auth: peer identity ${peerId} is not an FQDN; configure the peer as fqdn:<host> or give spnOf`,
  );
}

function findNotify(received: readonly Payload[], type: number): Buffer | null {
  const n = received.find((p) => p.type === "N" && p.notifyType === type);
  return n?.type === "N" ? n.data : null;
}

function methodCheck(ctx: AuthContext, auth: AuthPayload): AuthVerdict | null {
  if (auth.method === KERBEROS_AUTH_METHOD) return null;
  return {
    ok: false,
    reason: `${ctx.peerId} used AUTH method ${auth.method}, we expect Kerberos (${KERBEROS_AUTH_METHOD})`,
  };
}

function authMatches(ctx: AuthContext, key: EncryptionKey, auth: AuthPayload): boolean {
  return equalConstantTime(auth.data, sharedKeyAuth(ctx.prf, key.keyvalue, ctx.signedOctets));
}

function identityOf(acc: AcceptedContext): PeerIdentity {
  const id: PeerIdentity = {
    method: "kerberos",
    principal: formatPrincipal(acc.client),
    // immediate revocation compares it with the account's last key reset (agent/revocation.ts)
    authTime: acc.ticket.authtime.toISOString(),
  };
  const pac = acc.pac?.identity;
  if (pac) {
    id.userSid = pac.userSid;
    id.groupSids = [...pac.groupSids];
  }
  return id;
}

export function createKerberosAuth(o: KerberosAuthOptions): AuthMethodProvider {
  const states = new WeakMap<object, InitiatorState | ResponderState>();
  const spnOf = o.spnOf ?? defaultSpnOf;
  // The keytab's key opens every ticket and checks every PAC: its derived keys and keyed
  // contexts are made once, not per IKE_AUTH.
  const longTerm: CryptoDeps | undefined = o.responder && {
    randomBytes: o.responder.randomBytes,
    derivedKeys: createDerivedKeyCache(64),
    instances: new Map(),
  };

  /**
   * Tickets asked for as IKE_SA_INIT left (prepare), per peer, each taken by the IKE_AUTH
   * that follows or dropped after PREPARED_MS: the PTR lookup and the TGS (or AS + TGS)
   * exchange then overlap IKE_SA_INIT's round trip instead of following it.
   */
  const prepared = new Map<
    string,
    { at: number; ticket: Promise<{ spn: string; st: ServiceTicket }> }
  >();
  const fetchTicket = async (peerId: string) => {
    const ini = o.initiator;
    if (!ini) throw new Error("Kerberos IKE auth: this host has no initiator credentials");
    const spn = await spnOf(peerId);
    return { spn, st: await ini.getServiceTicket(spn) };
  };

  async function initiatorBuild(ctx: AuthContext) {
    const ini = o.initiator;
    if (!ini) throw new Error("Kerberos IKE auth: this host has no initiator credentials");
    const early = prepared.get(ctx.peerId);
    prepared.delete(ctx.peerId);
    const { spn, st } =
      early && ini.now() - early.at < PREPARED_MS
        ? await early.ticket
        : await fetchTicket(ctx.peerId);
    const built = buildApReq({
      ticket: st.ticket,
      sessionKey: st.sessionKey,
      client: st.client,
      nowMs: ini.now(),
      randomBytes: ini.randomBytes,
      mutualRequired: true,
      subkey: true,
      cksum: {
        cksumtype: BINDING_CKSUMTYPE,
        checksum: ikeSaBinding(ctx.spiI, ctx.spiR, ctx.signedOctets),
      },
    });
    states.set(ctx.session, { kind: "initiator", built, sessionKey: st.sessionKey, spn });
    return {
      data: sharedKeyAuth(ctx.prf, built.subkey!.keyvalue, ctx.signedOctets),
      extra: [notify(NOTIFY_KERBEROS_AP_REQ, built.bytes)],
    };
  }

  function responderBuild(ctx: AuthContext) {
    const st = states.get(ctx.session);
    const res = o.responder;
    if (st?.kind !== "responder" || !res)
      throw new Error("Kerberos IKE auth: no accepted AP-REQ for this IKE SA");
    const apRep = buildApRep(st.apRep, { randomBytes: res.randomBytes });
    return {
      data: sharedKeyAuth(ctx.prf, st.subkey.keyvalue, ctx.signedOctets),
      extra: [notify(NOTIFY_KERBEROS_AP_REP, apRep)],
    };
  }

  function responderVerify(ctx: AuthContext, auth: AuthPayload, received: readonly Payload[]) {
    const res = o.responder;
    if (!res) return { ok: false as const, reason: "this host has no Kerberos keytab loaded" };
    const apReq = findNotify(received, NOTIFY_KERBEROS_AP_REQ);
    if (!apReq) return { ok: false as const, reason: `${ctx.peerId} sent no Kerberos AP-REQ` };
    let acc: AcceptedContext;
    try {
      acc = acceptApReq(
        {
          keytab: res.keytab,
          replayCache: res.replayCache,
          now: res.now,
          ...(res.service ? { service: res.service } : {}),
          ...(res.kdcKey ? { kdcKey: res.kdcKey } : {}),
          ...(res.skewMs !== undefined ? { skewMs: res.skewMs } : {}),
          ...(longTerm ? { crypto: longTerm } : {}),
        },
        apReq,
      );
    } catch (e) {
      if (!(e instanceof AcceptorError)) throw e;
      return {
        ok: false as const,
        reason: `Kerberos AP-REQ from ${ctx.peerId} refused: ${e.message} (KRB-ERROR ${e.krbErrorCode})`,
      };
    }
    const who = formatPrincipal(acc.client);
    if (!acc.mutualRequired || !acc.subkey)
      return {
        ok: false as const,
        reason: `Kerberos AP-REQ from ${who} lacks mutual-required or a subkey`,
      };
    const want = ikeSaBinding(ctx.spiI, ctx.spiR, ctx.signedOctets);
    const ck = acc.authenticator.cksum;
    if (ck?.cksumtype !== BINDING_CKSUMTYPE || !equalConstantTime(ck.checksum, want))
      return {
        ok: false as const,
        reason: `Kerberos AP-REQ from ${who} is not bound to this IKE SA (authenticator checksum differs): replayed from another exchange?`,
      };
    if (!authMatches(ctx, acc.subkey, auth))
      return {
        ok: false as const,
        reason: `Kerberos AUTH from ${who} does not verify with the AP-REQ subkey`,
      };
    const { ctime, cusec } = acc.authenticator;
    states.set(ctx.session, {
      kind: "responder",
      apRep: { sessionKey: acc.sessionKey, authenticator: { ctime, cusec } },
      subkey: acc.subkey,
    });
    return { ok: true as const, identity: identityOf(acc) };
  }

  function initiatorVerify(
    ctx: AuthContext,
    auth: AuthPayload,
    received: readonly Payload[],
  ): AuthVerdict {
    const st = states.get(ctx.session);
    if (st?.kind !== "initiator") return { ok: false, reason: "no AP-REQ was sent on this SA" };
    const apRep = findNotify(received, NOTIFY_KERBEROS_AP_REP);
    if (!apRep) return { ok: false, reason: `${ctx.peerId} sent no Kerberos AP-REP` };
    try {
      verifyApRep(apRep, st.sessionKey, st.built.authenticator);
    } catch (e) {
      return { ok: false, reason: `Kerberos AP-REP from ${st.spn}: ${(e as Error).message}` };
    }
    if (!authMatches(ctx, st.built.subkey!, auth))
      return { ok: false, reason: `Kerberos AUTH of ${st.spn} does not verify with our subkey` };
    const server = `${st.spn}@${st.built.apReq.ticket.realm}`;
    return { ok: true, identity: { method: "kerberos", principal: server } };
  }

  return {
    prepare(peerId) {
      if (!o.initiator) return;
      const ticket = fetchTicket(peerId);
      // An error is the IKE_AUTH build's to report (it awaits the same promise); none is
      // left unhandled when no IKE_AUTH follows (IKE_SA_INIT failed).
      ticket.catch(() => undefined);
      prepared.set(peerId, { at: o.initiator.now(), ticket });
      for (const [k, v] of prepared)
        if (o.initiator.now() - v.at >= PREPARED_MS) prepared.delete(k);
    },
    name: "kerberos",
    method: KERBEROS_AUTH_METHOD,
    buildAuth: (ctx) => (ctx.role === "initiator" ? initiatorBuild(ctx) : responderBuild(ctx)),
    verifyAuth(ctx, auth, received) {
      const bad = methodCheck(ctx, auth);
      if (bad) return bad;
      return ctx.role === "responder"
        ? responderVerify(ctx, auth, received)
        : initiatorVerify(ctx, auth, received);
    },
  };
}
