/**
 * IKE_SA_INIT (RFC 7296 §1.2, §2.6 cookies, §1.2 INVALID_KE_PAYLOAD, §2.23 NAT detection).
 *
 *   Initiator                         Responder
 *   HDR, SAi1, KEi, Ni, N(NAT_D*) -->
 *                                 <-- HDR, SAr1, KEr, Nr, N(NAT_D*)
 *   (or <-- N(COOKIE): repeat with N(COOKIE) first;
 *       <-- N(INVALID_KE_PAYLOAD, group): repeat with that group)
 *
 * Both sides then compute SKEYSEED and SK_*; the initiator goes on with IKE_AUTH.
 */
import { assertNever } from "../../errors.js";
import { SIGNATURE_HASHES } from "../cert-auth.js";
import { DhId, ExchangeType, IKE_NATT_PORT, NotifyType } from "../constants.js";
import type { EngineContext } from "../context.js";
import { deriveIkeKeys, skeyseed } from "../crypto.js";
import { encodeMessage, find, findNotify, type IkeMessage, type Payload } from "../message.js";
import { notify } from "../payloads/notify.js";
import { dhGroupsOf, ikeProposals, offersText, selectProposal, suiteOf } from "../proposals.js";
import { transition } from "../state.js";
import { type DhGroupId, isSupportedDh } from "../transforms.js";
import type { Datagram, IkeSa, PeerConfig } from "../types.js";
import { natDetected, natPayloads } from "../nat.js";
import { startAuth } from "./ike-auth.js";

const ZERO_SPI = Buffer.alloc(8);
const MAX_INIT_ATTEMPTS = 3;

export function newSa(
  ctx: EngineContext,
  peer: PeerConfig,
  initiator: boolean,
  local: Datagram["local"],
  remote: Datagram["remote"],
): IkeSa {
  return {
    initiator,
    spiI: initiator ? ctx.deps.random(8) : ZERO_SPI,
    spiR: initiator ? ZERO_SPI : ctx.deps.random(8),
    state: "created",
    peer,
    local: { ...local },
    remote: { ...remote },
    natT: false,
    behindNat: false,
    suite: null,
    keys: null,
    ni: Buffer.alloc(0),
    nr: Buffer.alloc(0),
    dh: null,
    message1: null,
    message2: null,
    cookie: null,
    initAttempts: 0,
    offered: [],
    nextRequestId: 0,
    pending: null,
    queue: [],
    peerNextId: 0,
    lastResponse: null,
    children: new Map(),
    authChild: null,
    peerId: null,
    lastHeardMs: ctx.deps.clock.now(),
    startedAt: ctx.tick(),
    establishedAt: null,
    cancelTimers: [],
    chain: Promise.resolve(),
  };
}

/** Starts an IKE SA as initiator towards `peer`. */
export function startInitiator(ctx: EngineContext, peer: PeerConfig): IkeSa {
  const sa = newSa(
    ctx,
    peer,
    true,
    { address: peer.localAddress, port: 500 },
    { address: peer.remoteAddress, port: 500 },
  );
  sa.offered = ikeProposals(peer.mm);
  const group = dhGroupsOf(sa.offered)[0];
  if (group === undefined || !isSupportedDh(group)) throw new Error("no DH group offered");
  sa.dh = ctx.deps.dh(group);
  sa.ni = ctx.deps.random(32);
  ctx.registerSa(sa);
  ctx.mark(sa, "DH key pair and nonce made");
  sendInit(ctx, sa);
  peer.auth.prepare?.(peer.remoteId ?? peer.remoteAddress);
  ctx.mark(sa, "ticket asked for");
  return sa;
}

function sendInit(ctx: EngineContext, sa: IkeSa): void {
  sa.initAttempts++;
  transition(sa, "init-sent", ctx.deps.log, `attempt ${sa.initAttempts}, DH ${sa.dh!.group}`);
  sa.nextRequestId = 0;
  const build = (): Payload[] => [
    ...(sa.cookie ? [notify(NotifyType.COOKIE, sa.cookie)] : []),
    { type: "SA", proposals: sa.offered },
    { type: "KE", group: sa.dh!.group, data: sa.dh!.publicValue },
    { type: "NONCE", data: sa.ni },
    ...natPayloads(
      sa.spiI,
      ZERO_SPI,
      sa.local,
      sa.remote,
      sa.peer.forceEncap ? ctx.deps.random(20) : null,
    ),
    notify(NotifyType.SIGNATURE_HASH_ALGORITHMS, SIGNATURE_HASHES),
  ];
  ctx.request(sa, ExchangeType.IKE_SA_INIT, build, (p, msg, raw) =>
    onInitResponse(ctx, sa, p, msg, raw),
  );
}

function retryInit(ctx: EngineContext, sa: IkeSa, why: string): void {
  if (sa.initAttempts >= MAX_INIT_ATTEMPTS) {
    ctx.closeSa(sa, `IKE_SA_INIT: giving up after ${sa.initAttempts} attempts (${why})`);
    return;
  }
  ctx.log(sa, `IKE_SA_INIT: ${why}; retrying`);
  sendInit(ctx, sa);
}

async function onInitResponse(
  ctx: EngineContext,
  sa: IkeSa,
  p: Payload[],
  msg: IkeMessage,
  raw: Buffer,
): Promise<void> {
  const cookie = findNotify(p, NotifyType.COOKIE);
  if (cookie) {
    sa.cookie = cookie.data;
    return retryInit(ctx, sa, "responder asked for a COOKIE");
  }
  const invalidKe = findNotify(p, NotifyType.INVALID_KE_PAYLOAD);
  if (invalidKe) {
    const group = invalidKe.data.length === 2 ? invalidKe.data.readUInt16BE(0) : DhId.NONE;
    if (!isSupportedDh(group) || !dhGroupsOf(sa.offered).includes(group)) {
      return ctx.closeSa(
        sa,
        `IKE_SA_INIT: INVALID_KE_PAYLOAD asks for DH group ${group}, which we did not offer`,
      );
    }
    sa.dh = ctx.deps.dh(group as DhGroupId);
    return retryInit(ctx, sa, `INVALID_KE_PAYLOAD: responder wants DH group ${group}`);
  }
  const err = p.find((x) => x.type === "N" && x.notifyType < 16384);
  if (err && err.type === "N") {
    const extra =
      err.notifyType === NotifyType.NO_PROPOSAL_CHOSEN
        ? `: peer accepts none of our offers ${offersText(sa.offered)}`
        : "";
    return ctx.closeSa(
      sa,
      `IKE_SA_INIT refused by ${sa.remote.address}: ${notifyText(err.notifyType)}${extra}`,
    );
  }
  const saP = find(p, "SA");
  const ke = find(p, "KE");
  const nr = find(p, "NONCE");
  const chosen = saP?.proposals.length === 1 ? selectProposal(saP.proposals, sa.offered) : null;
  const suite = chosen ? suiteOf(chosen) : null;
  if (
    !saP ||
    !ke ||
    !nr ||
    !chosen ||
    !suite ||
    suite.dh !== sa.dh!.group ||
    ke.group !== sa.dh!.group
  ) {
    return ctx.closeSa(
      sa,
      `IKE_SA_INIT: response lacks SA/KE/Nonce or answers outside our offers ${offersText(sa.offered)}`,
    );
  }
  let gir: Buffer;
  try {
    gir = sa.dh!.computeSecret(ke.data);
  } catch (e) {
    return ctx.closeSa(sa, `IKE_SA_INIT: responder's KE: ${(e as Error).message}`);
  }
  const oldKey = sa.spiI.toString("hex");
  sa.spiR = Buffer.from(msg.header.spiR);
  ctx.mark(sa, "DH shared secret");
  ctx.rekeyTable(sa, oldKey);
  sa.nr = nr.data;
  sa.suite = suite;
  sa.message2 = raw;
  sa.keys = deriveIkeKeys(
    suite,
    skeyseed(suite.prf!, sa.ni, sa.nr, gir),
    sa.ni,
    sa.nr,
    sa.spiI,
    sa.spiR,
  );
  const nat = natDetected(p, sa.spiI, sa.spiR, sa.local, sa.remote);
  sa.behindNat = nat.ourNat;
  if (nat.nat || (sa.peer.forceEncap && nat.supported)) floatToNatT(sa);
  ctx.mark(sa, "IKE SA keys derived");
  ctx.log(sa, `IKE_SA_INIT done: ${offersText([chosen])}${sa.natT ? ", NAT-T on UDP 4500" : ""}`);
  await startAuth(ctx, sa);
}

export function floatToNatT(sa: IkeSa): void {
  sa.natT = true;
  sa.local.port = IKE_NATT_PORT;
  sa.remote.port = IKE_NATT_PORT;
}

function notifyText(type: number): string {
  return Object.entries(NotifyType).find(([, v]) => v === type)?.[0] ?? `notify ${type}`;
}

function replyPlain(ctx: EngineContext, d: Datagram, spiI: Buffer, payloads: Payload[]): void {
  const data = encodeMessage(
    {
      spiI,
      spiR: ZERO_SPI,
      majorVersion: 2,
      minorVersion: 0,
      exchangeType: ExchangeType.IKE_SA_INIT,
      initiator: false,
      response: true,
      messageId: 0,
    },
    payloads,
  );
  ctx.sendRaw({ data, local: d.local, remote: d.remote });
}

/**
 * §2.6 under load: answers with a COOKIE or drops (false), or lets the request create an SA
 * and says which half-open SA of the same address it replaces (or null).
 */
function admit(ctx: EngineContext, d: Datagram, msg: IkeMessage, ni: Buffer): IkeSa | null | false {
  const { spiI } = msg.header;
  const first = msg.payloads[0];
  // The COOKIE, when there is one, is the first payload.
  const got = first?.type === "N" && first.notifyType === NotifyType.COOKIE ? first.data : null;
  const admission = ctx.halfOpen.admit(
    d.remote.address,
    () => got !== null && ctx.cookies.check(got, ni, d.remote.address, spiI),
  );
  switch (admission.kind) {
    case "cookie":
      ctx.drop(
        "cookie_required",
        `IKE_SA_INIT from ${d.remote.address}: ${admission.why}, answering with a COOKIE`,
      );
      replyPlain(ctx, d, spiI, [
        notify(NotifyType.COOKIE, ctx.cookies.make(ni, d.remote.address, spiI)),
      ]);
      return false;
    case "full":
      ctx.drop("half_open_limit", `IKE_SA_INIT from ${d.remote.address}: ${admission.why}`);
      return false;
    case "admit":
      return admission.evict;
    default:
      return assertNever(admission, "admission");
  }
}

/** Responder: an IKE_SA_INIT request with a zero responder SPI. */
export function handleInitRequest(ctx: EngineContext, d: Datagram, msg: IkeMessage): void {
  const { header } = msg;
  const again = ctx.halfOpen.find(header.spiI, d.remote.address);
  if (again?.lastResponse) {
    ctx.sendRaw({ data: again.lastResponse.datagram, local: d.local, remote: d.remote });
    return;
  }
  const peer = ctx.findPeer(d.remote, d.local);
  if (!peer) {
    ctx.drop(
      "no_peer_config",
      `IKE_SA_INIT from ${d.remote.address}: no peer configured for this address`,
    );
    return;
  }
  const p = msg.payloads;
  const saP = find(p, "SA");
  const ke = find(p, "KE");
  const ni = find(p, "NONCE");
  if (!saP || !ke || !ni || header.messageId !== 0) {
    ctx.drop("malformed", `IKE_SA_INIT from ${d.remote.address}: missing SA, KE or Nonce`);
    replyPlain(ctx, d, header.spiI, [notify(NotifyType.INVALID_SYNTAX)]);
    return;
  }
  const evict = admit(ctx, d, msg, ni.data);
  if (evict === false) return;
  let ours: ReturnType<typeof ikeProposals>;
  try {
    ours = ikeProposals(peer.mm);
  } catch (e) {
    ctx.drop("config", `peer ${peer.name}: ${(e as Error).message}`);
    return;
  }
  const chosen = selectProposal(saP.proposals, ours);
  const suite = chosen ? suiteOf(chosen) : null;
  if (!chosen || !suite || suite.dh === null) {
    ctx.log(
      null,
      `IKE_SA_INIT from ${d.remote.address}: NO_PROPOSAL_CHOSEN: peer offered ${offersText(saP.proposals)}; we accept ${offersText(ours)}`,
    );
    replyPlain(ctx, d, header.spiI, [notify(NotifyType.NO_PROPOSAL_CHOSEN)]);
    return;
  }
  if (ke.group !== suite.dh) {
    const g = Buffer.alloc(2);
    g.writeUInt16BE(suite.dh);
    ctx.log(
      null,
      `IKE_SA_INIT from ${d.remote.address}: INVALID_KE_PAYLOAD: KE is group ${ke.group}, selected group ${suite.dh}`,
    );
    replyPlain(ctx, d, header.spiI, [notify(NotifyType.INVALID_KE_PAYLOAD, g)]);
    return;
  }
  const sa = respondInit(ctx, d, msg, peer, chosen, suite, ke.data, ni.data);
  if (sa && evict) {
    ctx.closeSa(evict, `replaced by a newer half-open IKE SA from ${d.remote.address}`);
  }
}

function respondInit(
  ctx: EngineContext,
  d: Datagram,
  msg: IkeMessage,
  peer: PeerConfig,
  chosen: NonNullable<ReturnType<typeof selectProposal>>,
  suite: NonNullable<ReturnType<typeof suiteOf>>,
  keData: Buffer,
  ni: Buffer,
): IkeSa | null {
  const sa = newSa(ctx, peer, false, d.local, d.remote);
  sa.spiI = Buffer.from(msg.header.spiI);
  ctx.mark(sa, "IKE_SA_INIT request received");
  sa.suite = suite;
  sa.ni = ni;
  sa.nr = ctx.deps.random(32);
  sa.dh = ctx.deps.dh(suite.dh as DhGroupId);
  let gir: Buffer;
  try {
    gir = sa.dh.computeSecret(keData);
  } catch {
    ctx.drop(
      "malformed",
      `IKE_SA_INIT from ${d.remote.address}: KE data is not a valid group ${suite.dh} value`,
    );
    return null;
  }
  sa.keys = deriveIkeKeys(
    suite,
    skeyseed(suite.prf!, sa.ni, sa.nr, gir),
    sa.ni,
    sa.nr,
    sa.spiI,
    sa.spiR,
  );
  const nat = natDetected(msg.payloads, sa.spiI, ZERO_SPI, d.local, d.remote);
  const payloads: Payload[] = [
    { type: "SA", proposals: [chosen] },
    { type: "KE", group: sa.dh.group, data: sa.dh.publicValue },
    { type: "NONCE", data: sa.nr },
    ...(nat.supported
      ? natPayloads(
          sa.spiI,
          sa.spiR,
          d.local,
          d.remote,
          peer.forceEncap ? ctx.deps.random(20) : null,
        )
      : []),
    notify(NotifyType.SIGNATURE_HASH_ALGORITHMS, SIGNATURE_HASHES),
  ];
  sa.natT = nat.nat || (peer.forceEncap && nat.supported);
  sa.behindNat = nat.ourNat;
  const data = encodeMessage(
    {
      spiI: sa.spiI,
      spiR: sa.spiR,
      majorVersion: 2,
      minorVersion: 0,
      exchangeType: ExchangeType.IKE_SA_INIT,
      initiator: false,
      response: true,
      messageId: 0,
    },
    payloads,
  );
  sa.message1 = Buffer.from(d.data);
  sa.message2 = data;
  sa.lastResponse = { messageId: 0, datagram: data };
  sa.peerNextId = 1;
  ctx.registerSa(sa);
  transition(sa, "init-replied", ctx.deps.log, offersText([chosen]));
  ctx.halfOpen.add(sa);
  ctx.sendRaw({ data, local: d.local, remote: d.remote });
  ctx.mark(sa, "IKE_SA_INIT response sent");
  return sa;
}
