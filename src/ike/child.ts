/**
 * Child SA negotiation shared by IKE_AUTH (§1.2) and CREATE_CHILD_SA (§1.3): the
 * initiator's request payloads, the responder's selection (proposal, PFS, traffic-selector
 * narrowing, transport mode) and both sides' KEYMAT into a ChildSaRecord.
 */
import { NotifyType, notifyName as notifyNameOf, ProtocolId, TransformType } from "./constants.js";
import type { EngineContext } from "./context.js";
import { deriveChildKeys } from "./crypto.js";
import { find, findNotify, type Payload } from "./message.js";
import { notify } from "./payloads/notify.js";
import type { Proposal } from "./payloads/sa.js";
import type { TrafficSelector } from "./payloads/ts.js";
import { childProposals, offersText, selectProposal, suiteOf } from "./proposals.js";
import { narrow, selectorFromCidr, selectorText, within } from "./selectors.js";
import { spiText } from "./state.js";
import { type DhGroupId, isSupportedDh, type Suite } from "./transforms.js";
import type { ChildRequest, ChildSaRecord, IkeSa } from "./types.js";

export function spiBytes(spi: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(spi >>> 0);
  return b;
}

const tsText = (ts: readonly TrafficSelector[]): string => ts.map(selectorText).join(",");

/** A new child request with a fresh inbound SPI; a DH key pair when `pfs` is on. */
export function newChildRequest(
  ctx: EngineContext,
  sa: IkeSa,
  opts: { inAuth: boolean; rekeys: ChildSaRecord | null },
): ChildRequest {
  const spiIn = ctx.allocSpi();
  const pfs: DhGroupId | null = !opts.inAuth && sa.peer.pfs ? (sa.suite!.dh as DhGroupId) : null;
  return {
    spiIn,
    proposals: childProposals(sa.peer.qm, spiBytes(spiIn), pfs),
    tsi: opts.rekeys ? opts.rekeys.tsLocal : [...sa.peer.localTs],
    tsr: opts.rekeys ? opts.rekeys.tsRemote : [...sa.peer.remoteTs],
    transport: opts.rekeys ? opts.rekeys.mode === "transport" : sa.peer.mode === "transport",
    dh: pfs === null ? null : ctx.deps.dh(pfs),
    nonce: opts.inAuth ? sa.ni : ctx.deps.random(32),
    rekeys: opts.rekeys ? opts.rekeys.spiIn : null,
  };
}

/** SA, [Ni, KEi], TSi, TSr, [USE_TRANSPORT_MODE] of a child request. */
export function childRequestPayloads(req: ChildRequest, inAuth: boolean): Payload[] {
  const p: Payload[] = [{ type: "SA", proposals: req.proposals }];
  if (!inAuth) p.push({ type: "NONCE", data: req.nonce });
  if (req.dh) p.push({ type: "KE", group: req.dh.group, data: req.dh.publicValue });
  p.push({ type: "TSi", selectors: req.tsi }, { type: "TSr", selectors: req.tsr });
  if (req.transport) p.push(notify(NotifyType.USE_TRANSPORT_MODE));
  return p;
}

interface Negotiated {
  chosen: Proposal;
  suite: Suite;
  ni: Buffer;
  nr: Buffer;
  gir: Buffer | null;
  tsi: TrafficSelector[];
  tsr: TrafficSelector[];
  transport: boolean;
  spiIn: number;
  spiOut: number;
  replaces: number | null;
}

function buildRecord(sa: IkeSa, n: Negotiated, asInitiator: boolean): ChildSaRecord {
  const keys = deriveChildKeys(sa.suite!.prf!, sa.keys!.d, n.ni, n.nr, n.gir, n.suite);
  const encr = n.chosen.transforms.find((t) => t.type === TransformType.ENCR);
  const integ = n.chosen.transforms.find((t) => t.type === TransformType.INTEG);
  const qm = sa.peer.qm[0];
  return {
    ikeSa: spiText(sa),
    peerName: sa.peer.name,
    local: { ...sa.local },
    remote: { ...sa.remote },
    protocol: n.chosen.protocolId === ProtocolId.AH ? "ah" : "esp",
    mode: n.transport ? "transport" : "tunnel",
    udpEncap: sa.natT,
    behindNat: sa.behindNat,
    spiIn: n.spiIn,
    spiOut: n.spiOut,
    encrId: encr?.id ?? 0,
    encrKeyBits: encr?.keyLength ?? 0,
    integId: integ?.id ?? 0,
    esn: n.suite.esn,
    encrKeyIn: asInitiator ? keys.encrR : keys.encrI,
    integKeyIn: asInitiator ? keys.integR : keys.integI,
    encrKeyOut: asInitiator ? keys.encrI : keys.encrR,
    integKeyOut: asInitiator ? keys.integI : keys.integR,
    tsLocal: asInitiator ? n.tsi : n.tsr,
    tsRemote: asInitiator ? n.tsr : n.tsi,
    lifetimeSec: qm?.lifetimeSec ?? 3600,
    lifetimeKb: qm?.lifetimeKb ?? 100_000,
    initiator: asInitiator,
    replacesSpiIn: n.replaces,
  };
}

export interface ChildAnswer {
  reply: Payload[];
  record: ChildSaRecord | null;
}

/** Responder: selects and narrows the peer's child request (`nr` is ours). */
export function acceptChild(
  ctx: EngineContext,
  sa: IkeSa,
  req: readonly Payload[],
  opts: { inAuth: boolean; ni: Buffer; nr: Buffer },
): ChildAnswer {
  const saP = find(req, "SA");
  const tsiP = find(req, "TSi");
  const tsrP = find(req, "TSr");
  if (!saP || !tsiP || !tsrP) return { reply: [notify(NotifyType.INVALID_SYNTAX)], record: null };
  const ke = opts.inAuth ? undefined : find(req, "KE");
  const pfs = ke && isSupportedDh(ke.group) ? ke.group : null;
  if (!opts.inAuth && sa.peer.pfs && pfs === null) {
    ctx.log(
      sa,
      `CREATE_CHILD_SA: NO_PROPOSAL_CHOSEN: we require PFS and the peer sent no usable KE payload`,
    );
    return { reply: [notify(NotifyType.NO_PROPOSAL_CHOSEN)], record: null };
  }
  const spiIn = ctx.allocSpi();
  const ours = childProposals(sa.peer.qm, spiBytes(spiIn), pfs);
  const chosen = selectProposal(saP.proposals, ours, opts.inAuth);
  const suite = chosen ? suiteOf(chosen) : null;
  if (!chosen || !suite || chosen.spi.length !== 4) {
    ctx.log(
      sa,
      `child SA: NO_PROPOSAL_CHOSEN: peer offered ${offersText(saP.proposals)}; we accept ${offersText(ours)}`,
    );
    return { reply: [notify(NotifyType.NO_PROPOSAL_CHOSEN)], record: null };
  }
  const remoteTs = sa.peer.remoteTsIsPeer
    ? [selectorFromCidr(sa.remote.address)]
    : sa.peer.remoteTs;
  const tsi = narrow(tsiP.selectors, remoteTs);
  const tsr = narrow(tsrP.selectors, sa.peer.localTs);
  if (tsi.length === 0 || tsr.length === 0) {
    ctx.log(
      sa,
      `child SA: TS_UNACCEPTABLE: peer proposed ${tsText(tsiP.selectors)} === ${tsText(tsrP.selectors)}; policy allows ${tsText(remoteTs)} === ${tsText(sa.peer.localTs)}`,
    );
    return { reply: [notify(NotifyType.TS_UNACCEPTABLE)], record: null };
  }
  let gir: Buffer | null = null;
  const reply: Payload[] = [{ type: "SA", proposals: [{ ...chosen, spi: spiBytes(spiIn) }] }];
  if (!opts.inAuth) reply.push({ type: "NONCE", data: opts.nr });
  if (suite.dh !== null && ke) {
    const dh = ctx.deps.dh(suite.dh);
    try {
      gir = dh.computeSecret(ke.data);
    } catch (e) {
      ctx.log(sa, `CREATE_CHILD_SA: INVALID_SYNTAX: peer's KE: ${(e as Error).message}`);
      return { reply: [notify(NotifyType.INVALID_SYNTAX)], record: null };
    }
    reply.push({ type: "KE", group: dh.group, data: dh.publicValue });
  }
  const transport =
    findNotify(req, NotifyType.USE_TRANSPORT_MODE) !== undefined && sa.peer.mode === "transport";
  reply.push({ type: "TSi", selectors: tsi }, { type: "TSr", selectors: tsr });
  if (transport) reply.push(notify(NotifyType.USE_TRANSPORT_MODE));
  const rekey = findNotify(req, NotifyType.REKEY_SA);
  let replaces: number | null = null;
  if (rekey && rekey.spi.length === 4) {
    const old = [...sa.children.values()].find(
      (c) => c.record.spiOut === rekey.spi.readUInt32BE(0),
    );
    replaces = old ? old.record.spiIn : null;
  }
  const n: Negotiated = {
    chosen,
    suite,
    ni: opts.ni,
    nr: opts.nr,
    gir,
    tsi,
    tsr,
    transport,
    spiIn,
    spiOut: chosen.spi.readUInt32BE(0),
    replaces,
  };
  return { reply, record: buildRecord(sa, n, false) };
}

/** Initiator: checks the responder's answer against what we asked; null on refusal. */
export function completeChild(
  ctx: EngineContext,
  sa: IkeSa,
  req: ChildRequest,
  res: readonly Payload[],
  inAuth: boolean,
): ChildSaRecord | null {
  const err = res.find((p) => p.type === "N" && p.notifyType < 16384);
  if (err && err.type === "N") {
    const what =
      err.notifyType === NotifyType.NO_PROPOSAL_CHOSEN
        ? ` (we offered ${offersText(req.proposals)})`
        : err.notifyType === NotifyType.TS_UNACCEPTABLE
          ? ` (we proposed ${tsText(req.tsi)} === ${tsText(req.tsr)})`
          : "";
    ctx.log(sa, `child SA refused by peer: ${notifyNameOf(err.notifyType)}${what}`);
    return null;
  }
  const saP = find(res, "SA");
  const tsiP = find(res, "TSi");
  const tsrP = find(res, "TSr");
  const chosen =
    saP?.proposals.length === 1 ? selectProposal(saP.proposals, req.proposals, inAuth) : null;
  const suite = chosen ? suiteOf(chosen) : null;
  if (!chosen || !suite || chosen.spi.length !== 4 || !tsiP || !tsrP) {
    ctx.log(sa, `child SA: peer's answer is not one of our offers ${offersText(req.proposals)}`);
    return null;
  }
  if (!within(tsiP.selectors, req.tsi) || !within(tsrP.selectors, req.tsr)) {
    ctx.log(
      sa,
      `child SA: peer widened the traffic selectors to ${tsText(tsiP.selectors)} === ${tsText(tsrP.selectors)}`,
    );
    return null;
  }
  let gir: Buffer | null = null;
  if (req.dh) {
    const ke = find(res, "KE");
    if (!ke || ke.group !== req.dh.group) {
      ctx.log(
        sa,
        `child SA: PFS requested with group ${req.dh.group}, peer's KE is ${ke ? ke.group : "missing"}`,
      );
      return null;
    }
    try {
      gir = req.dh.computeSecret(ke.data);
    } catch (e) {
      ctx.log(sa, `child SA: peer's KE: ${(e as Error).message}`);
      return null;
    }
  }
  const nr = inAuth ? sa.nr : find(res, "NONCE")?.data;
  if (!nr) return null;
  const transport = req.transport && findNotify(res, NotifyType.USE_TRANSPORT_MODE) !== undefined;
  if (req.transport && !transport)
    ctx.log(sa, "child SA: peer did not accept transport mode; using tunnel mode");
  const n: Negotiated = {
    chosen,
    suite,
    ni: req.nonce,
    nr,
    gir,
    tsi: tsiP.selectors,
    tsr: tsrP.selectors,
    transport,
    spiIn: req.spiIn,
    spiOut: chosen.spi.readUInt32BE(0),
    replaces: req.rekeys,
  };
  return buildRecord(sa, n, true);
}
