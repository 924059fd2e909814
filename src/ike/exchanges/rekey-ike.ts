/**
 * Rekeying the IKE SA with CREATE_CHILD_SA (RFC 7296 §1.3.2, §2.18).
 *
 *   Initiator                         Responder
 *   HDR, SK {SA, Ni, KEi} -->         (SA: protocol IKE, SPI = new SPIi)
 *                                 <-- HDR, SK {SA, Nr, KEr}   (SPI = new SPIr)
 *
 *   SKEYSEED = prf(SK_d (old), g^ir (new) | Ni | Nr)
 *   {SK_d | SK_ai | ...} = prf+(SKEYSEED, Ni | Nr | SPIi | SPIr)   (new SPIs, new PRF)
 *
 * The child SAs move to the new IKE SA; the old one goes to "rekeyed" and the rekey
 * initiator deletes it with INFORMATIONAL.
 */
import { ExchangeType, NotifyType, ProtocolId } from "../constants.js";
import type { EngineContext, Reply } from "../context.js";
import { deriveIkeKeys, rekeySkeyseed } from "../crypto.js";
import { find, type Payload } from "../message.js";
import { notify } from "../payloads/notify.js";
import type { Proposal } from "../payloads/sa.js";
import { dhGroupsOf, ikeProposals, offersText, selectProposal, suiteOf } from "../proposals.js";
import { holdsLowestNonce } from "../duplicates.js";
import { spiText, transition } from "../state.js";
import { type DhGroupId, isSupportedDh, type Suite } from "../transforms.js";
import type { IkeSa } from "../types.js";
import { deleteIkeSa } from "./informational.js";
import { newSa } from "./ike-sa-init.js";

function successor(
  ctx: EngineContext,
  old: IkeSa,
  asInitiator: boolean,
  spiI: Buffer,
  spiR: Buffer,
  suite: Suite,
  ni: Buffer,
  nr: Buffer,
  gir: Buffer,
): IkeSa {
  const sa = newSa(ctx, old.peer, asInitiator, old.local, old.remote);
  sa.spiI = spiI;
  sa.spiR = spiR;
  sa.suite = suite;
  sa.ni = ni;
  sa.nr = nr;
  sa.natT = old.natT;
  sa.behindNat = old.behindNat;
  sa.peerId = old.peerId;
  sa.identity = old.identity ?? null;
  sa.keys = deriveIkeKeys(
    suite,
    rekeySkeyseed(old.suite!.prf!, old.keys!.d, gir, ni, nr),
    ni,
    nr,
    spiI,
    spiR,
  );
  sa.children = old.children;
  old.children = new Map();
  transition(sa, "init-replied", ctx.deps.log, "keys from the IKE SA rekey");
  return sa;
}

function adopt(ctx: EngineContext, old: IkeSa, sa: IkeSa): void {
  ctx.registerSa(sa);
  transition(
    sa,
    "established",
    ctx.deps.log,
    `rekeyed from ${old.spiI.toString("hex")}_${old.spiR.toString("hex")}`,
  );
  ctx.established(sa);
  // In a collision (§2.8.2) the old SA was already replaced by the peer's new SA.
  if (old.state === "established")
    transition(
      old,
      "rekeyed",
      ctx.deps.log,
      `replaced by ${sa.spiI.toString("hex")}_${sa.spiR.toString("hex")}`,
    );
}

/**
 * Our rekey of `old` completed as `ours` while the peer's crossed it (§2.8.2): the new SA
 * whose exchange holds the lowest of the four nonces is redundant and its creator deletes
 * it. The child SAs went to whichever new SA came up first; they end on the survivor.
 */
function resolveCollision(
  ctx: EngineContext,
  old: IkeSa,
  ours: IkeSa,
  rival: { nonces: Buffer[]; sa: IkeSa },
): void {
  if (holdsLowestNonce([ours.ni, ours.nr], rival.nonces)) {
    ctx.log(
      ours,
      `IKE SA rekey collision: this new SA holds the lowest nonce and is redundant (RFC 7296 §2.8.2); the peer's ${spiText(rival.sa)} stays; deleting this one`,
    );
    for (const [spi, c] of ours.children) rival.sa.children.set(spi, c);
    ours.children = new Map();
    deleteIkeSa(ctx, ours);
    return;
  }
  ctx.log(
    ours,
    `IKE SA rekey collision: the peer's new SA ${spiText(rival.sa)} holds the lowest nonce (RFC 7296 §2.8.2); this one stays, the peer deletes its own`,
  );
  for (const [spi, c] of rival.sa.children) ours.children.set(spi, c);
  rival.sa.children = new Map();
  deleteIkeSa(ctx, old);
}

/** Initiator: rekeys `old` (§1.3.2). */
export function rekeyIkeSa(ctx: EngineContext, old: IkeSa): boolean {
  if (old.state !== "established") return false;
  const spiI = ctx.deps.random(8);
  const proposals: Proposal[] = ikeProposals(old.peer.mm).map((p) => ({ ...p, spi: spiI }));
  const group = (old.suite!.dh ?? dhGroupsOf(proposals)[0]) as DhGroupId;
  const dh = ctx.deps.dh(group);
  const ni = ctx.deps.random(32);
  const payloads: Payload[] = [
    { type: "SA", proposals },
    { type: "NONCE", data: ni },
    { type: "KE", group, data: dh.publicValue },
  ];
  ctx.log(old, `CREATE_CHILD_SA: rekeying the IKE SA (DH ${group})`);
  old.ourRekey = { rival: null };
  ctx.request(
    old,
    ExchangeType.CREATE_CHILD_SA,
    () => payloads,
    (p) => {
      const saP = find(p, "SA");
      const ke = find(p, "KE");
      const nr = find(p, "NONCE");
      const chosen = saP?.proposals.length === 1 ? selectProposal(saP.proposals, proposals) : null;
      const suite = chosen ? suiteOf(chosen) : null;
      const rival = old.ourRekey?.rival ?? null;
      old.ourRekey = undefined;
      if (!chosen || !suite || !ke || !nr || ke.group !== group || chosen.spi.length !== 8) {
        ctx.log(
          old,
          `IKE SA rekey refused or malformed answer (we offered ${offersText(proposals)})`,
        );
        return;
      }
      let gir: Buffer;
      try {
        gir = dh.computeSecret(ke.data);
      } catch (e) {
        ctx.log(old, `IKE SA rekey: peer's KE: ${(e as Error).message}`);
        return;
      }
      const sa = successor(ctx, old, true, spiI, chosen.spi, suite, ni, nr.data, gir);
      adopt(ctx, old, sa);
      if (rival) resolveCollision(ctx, old, sa, rival);
      else deleteIkeSa(ctx, old);
    },
  );
  return true;
}

/** Responder: a CREATE_CHILD_SA whose SA payload is for protocol IKE. */
export function handleIkeRekeyRequest(ctx: EngineContext, old: IkeSa, p: Payload[]): Reply {
  const saP = find(p, "SA")!;
  const ni = find(p, "NONCE");
  const ke = find(p, "KE");
  if (!ni || !ke || !isSupportedDh(ke.group))
    return { payloads: [notify(NotifyType.INVALID_SYNTAX)] };
  const spiR = ctx.deps.random(8);
  const ours = ikeProposals(old.peer.mm).map((x) => ({ ...x, spi: spiR }));
  const chosen = selectProposal(saP.proposals, ours);
  const suite = chosen ? suiteOf(chosen) : null;
  if (!chosen || !suite || suite.dh === null || chosen.spi.length !== 8) {
    ctx.log(
      old,
      `IKE SA rekey: NO_PROPOSAL_CHOSEN: peer offered ${offersText(saP.proposals)}; we accept ${offersText(ours)}`,
    );
    return { payloads: [notify(NotifyType.NO_PROPOSAL_CHOSEN)] };
  }
  if (ke.group !== suite.dh) {
    const g = Buffer.alloc(2);
    g.writeUInt16BE(suite.dh);
    return { payloads: [notify(NotifyType.INVALID_KE_PAYLOAD, g)] };
  }
  const dh = ctx.deps.dh(suite.dh);
  let gir: Buffer;
  try {
    gir = dh.computeSecret(ke.data);
  } catch (e) {
    ctx.log(old, `IKE SA rekey: INVALID_SYNTAX: peer's KE: ${(e as Error).message}`);
    return { payloads: [notify(NotifyType.INVALID_SYNTAX)] };
  }
  const nr = ctx.deps.random(32);
  const sa = successor(ctx, old, false, chosen.spi, spiR, suite, ni.data, nr, gir);
  if (old.ourRekey) {
    old.ourRekey.rival = { nonces: [ni.data, nr], sa };
    ctx.log(old, "IKE SA rekey collision: the peer rekeys it as we do (RFC 7296 §2.8.2)");
  }
  const reply: Payload[] = [
    { type: "SA", proposals: [{ ...chosen, protocolId: ProtocolId.IKE, spi: spiR }] },
    { type: "NONCE", data: nr },
    { type: "KE", group: dh.group, data: dh.publicValue },
  ];
  return { payloads: reply, after: () => adopt(ctx, old, sa) };
}
