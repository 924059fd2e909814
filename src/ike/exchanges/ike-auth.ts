/**
 * IKE_AUTH (RFC 7296 §1.2, §2.15): identities, AUTH, and the first child SA.
 *
 *   Initiator                         Responder
 *   HDR, SK {IDi, [IDr,] AUTH, SAi2, TSi, TSr, [N(USE_TRANSPORT_MODE)]} -->
 *                                 <-- HDR, SK {IDr, AUTH, SAr2, TSi, TSr}
 *
 * AUTH covers <SignedOctets>: the sender's IKE_SA_INIT message, the peer's nonce and
 * prf(SK_p, ID body). A failed check answers AUTHENTICATION_FAILED and closes the SA.
 */
import type { AuthContext, PeerIdentity } from "../auth.js";
import { ExchangeType, NotifyType } from "../constants.js";
import { acceptChild, childRequestPayloads, completeChild, newChildRequest } from "../child.js";
import type { EngineContext, Reply } from "../context.js";
import { signedOctets } from "../crypto.js";
import { honourInitialContact, initialContact, resolveSimultaneous } from "../duplicates.js";
import { encodeBody, find, type Payload } from "../message.js";
import { formatIdentity, type IdPayload, parseIdentity } from "../payloads/id.js";
import { notify } from "../payloads/notify.js";
import { transition } from "../state.js";
import type { IkeSa } from "../types.js";

function ourId(sa: IkeSa, type: "IDi" | "IDr"): IdPayload {
  const id = parseIdentity(sa.peer.localId);
  return { type, idType: id.idType, data: id.data };
}

function authContext(
  sa: IkeSa,
  role: "initiator" | "responder",
  octets: Buffer[],
  peerId: string,
): AuthContext {
  if (!sa.authSession) sa.authSession = {};
  return {
    role,
    prf: sa.suite!.prf!,
    signedOctets: octets,
    localId: sa.peer.localId,
    peerId,
    spiI: sa.spiI,
    spiR: sa.spiR,
    session: sa.authSession,
  };
}

function identityText(sa: IkeSa): string {
  const id = sa.identity;
  if (!id) return "";
  return ` as ${id.principal}${id.groupSids ? `, ${id.groupSids.length} group SIDs` : ""}`;
}

/** The peer proved `peerId` (and `identity`) with `method`: the SA is established. */
function establish(
  ctx: EngineContext,
  sa: IkeSa,
  peerId: string,
  identity: PeerIdentity | undefined,
  method: string,
): void {
  sa.peerId = peerId;
  sa.identity = identity ?? null;
  transition(
    sa,
    "established",
    ctx.deps.log,
    `peer ${peerId} authenticated by ${method}${identityText(sa)}`,
  );
  ctx.established(sa);
}

function idMatches(sa: IkeSa, id: IdPayload): boolean {
  if (sa.peer.remoteId === null) return true;
  const want = parseIdentity(sa.peer.remoteId);
  return want.idType === id.idType && want.data.equals(id.data);
}

/** Initiator: sends IKE_AUTH with our AUTH and the first child SA request. */
export async function startAuth(ctx: EngineContext, sa: IkeSa): Promise<void> {
  const idi = ourId(sa, "IDi");
  const octets = signedOctets(sa.suite!.prf!, sa.message1!, sa.nr, sa.keys!.pi, encodeBody(idi));
  const peerName = sa.peer.remoteId ?? sa.remote.address;
  const built = await sa.peer.auth.buildAuth(authContext(sa, "initiator", octets, peerName));
  ctx.mark(sa, "AUTH built");
  sa.authChild = newChildRequest(ctx, sa, { inAuth: true, rekeys: null });
  const payloads: Payload[] = [idi, ...(built.extra ?? []), ...initialContact(ctx, sa)];
  if (sa.peer.remoteId !== null) {
    const r = parseIdentity(sa.peer.remoteId);
    payloads.push({ type: "IDr", idType: r.idType, data: r.data });
  }
  payloads.push(
    { type: "AUTH", method: sa.peer.auth.method, data: built.data },
    ...childRequestPayloads(sa.authChild, true),
  );
  transition(sa, "auth-sent", ctx.deps.log, `as ${sa.peer.localId} with ${sa.peer.auth.name}`);
  ctx.request(
    sa,
    ExchangeType.IKE_AUTH,
    () => payloads,
    (p) => onAuthResponse(ctx, sa, p),
  );
}

async function onAuthResponse(ctx: EngineContext, sa: IkeSa, p: Payload[]): Promise<void> {
  const failed = p.find((x) => x.type === "N" && x.notifyType === NotifyType.AUTHENTICATION_FAILED);
  if (failed) {
    return ctx.closeSa(
      sa,
      `IKE_AUTH with ${sa.remote.address}: AUTHENTICATION_FAILED: the peer rejected our ${sa.peer.auth.name} authentication as ${sa.peer.localId} (check the preshared key and identities)`,
    );
  }
  const idr = find(p, "IDr");
  const auth = find(p, "AUTH");
  if (!idr || !auth) {
    const err = p.find((x) => x.type === "N" && x.notifyType < 16384);
    return ctx.closeSa(
      sa,
      `IKE_AUTH with ${sa.remote.address}: response without IDr/AUTH${err && err.type === "N" ? ` (notify ${err.notifyType})` : ""}`,
    );
  }
  const peerId = formatIdentity(idr.idType, idr.data);
  const octets = signedOctets(sa.suite!.prf!, sa.message2!, sa.ni, sa.keys!.pr, encodeBody(idr));
  const verdict = idMatches(sa, idr)
    ? await sa.peer.auth.verifyAuth(authContext(sa, "initiator", octets, peerId), auth, p)
    : {
        ok: false as const,
        reason: `peer identity ${peerId} is not the expected ${sa.peer.remoteId}`,
      };
  if (!verdict.ok) {
    return ctx.closeSa(
      sa,
      `IKE_AUTH with ${sa.remote.address}: AUTHENTICATION_FAILED: ${verdict.reason}`,
    );
  }
  ctx.mark(sa, "peer's AUTH verified");
  establish(ctx, sa, peerId, verdict.identity, sa.peer.auth.name);
  honourInitialContact(ctx, sa, p);
  const record = completeChild(ctx, sa, sa.authChild!, p, true);
  sa.authChild = null;
  ctx.mark(sa, "child SA keys derived");
  if (record) ctx.installChild(sa, record);
  ctx.mark(sa, "child SA installed");
  resolveSimultaneous(ctx, sa);
}

/** Responder: checks the initiator's AUTH, answers with ours and the first child SA. */
export async function handleAuthRequest(
  ctx: EngineContext,
  sa: IkeSa,
  p: Payload[],
): Promise<Reply> {
  const fail = (reason: string): Reply => {
    ctx.log(sa, `IKE_AUTH from ${sa.remote.address}: AUTHENTICATION_FAILED: ${reason}`);
    return {
      payloads: [notify(NotifyType.AUTHENTICATION_FAILED)],
      after: () => ctx.closeSa(sa, "authentication failed"),
    };
  };
  if (sa.state !== "init-replied") return { payloads: [notify(NotifyType.INVALID_SYNTAX)] };
  const idi = find(p, "IDi");
  const auth = find(p, "AUTH");
  if (!idi || !auth) return fail("request carries no IDi or AUTH payload");
  const peerId = formatIdentity(idi.idType, idi.data);
  if (!idMatches(sa, idi))
    return fail(`identity ${peerId} is not the expected ${sa.peer.remoteId}`);
  const octets = signedOctets(sa.suite!.prf!, sa.message1!, sa.nr, sa.keys!.pi, encodeBody(idi));
  // The rule's methods in order: the initiator uses its first usable one; we accept any.
  const provider =
    [sa.peer.auth, ...(sa.peer.authAlternatives ?? [])].find((m) => m.method === auth.method) ??
    sa.peer.auth;
  const verdict = await provider.verifyAuth(authContext(sa, "responder", octets, peerId), auth, p);
  if (!verdict.ok) return fail(verdict.reason);
  ctx.mark(sa, "peer's AUTH verified");
  const idr = ourId(sa, "IDr");
  const ours = signedOctets(sa.suite!.prf!, sa.message2!, sa.ni, sa.keys!.pr, encodeBody(idr));
  const built = await provider.buildAuth(authContext(sa, "responder", ours, peerId));
  ctx.mark(sa, "AUTH built");
  // Decided before `sa` is established: the SAs it replaces or collides with are the others.
  const contact = initialContact(ctx, sa);
  establish(ctx, sa, peerId, verdict.identity, provider.name);
  honourInitialContact(ctx, sa, p);
  const child = find(p, "SA")
    ? acceptChild(ctx, sa, p, { inAuth: true, ni: sa.ni, nr: sa.nr })
    : { reply: [], record: null };
  ctx.mark(sa, "child SA keys derived");
  const payloads: Payload[] = [
    idr,
    ...(built.extra ?? []),
    { type: "AUTH", method: provider.method, data: built.data },
    ...contact,
    ...child.reply,
  ];
  // Keyed before the answer leaves: the initiator's first packets can come back while our
  // sendto is still running the receiving namespace's stack (veth), before an install after it.
  if (child.record) ctx.installChild(sa, child.record);
  ctx.mark(sa, "child SA installed");
  return { payloads, after: () => resolveSimultaneous(ctx, sa) };
}
