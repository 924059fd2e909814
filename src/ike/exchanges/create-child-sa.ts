/**
 * CREATE_CHILD_SA (RFC 7296 §1.3): new and rekeyed child SAs, with PFS when configured.
 *
 *   Initiator                         Responder
 *   HDR, SK {[N(REKEY_SA),] SA, Ni, [KEi,] TSi, TSr} -->
 *                                 <-- HDR, SK {SA, Nr, [KEr,] TSi, TSr}
 *
 * After a rekey the initiator deletes the old child SA with INFORMATIONAL (§2.8).
 * A request for protocol IKE rekeys the IKE SA itself (./rekey-ike.ts).
 */
import { ExchangeType, NotifyType, ProtocolId } from "../constants.js";
import {
  acceptChild,
  childRequestPayloads,
  completeChild,
  newChildRequest,
  spiBytes,
} from "../child.js";
import type { EngineContext, Reply } from "../context.js";
import { holdsLowestNonce } from "../duplicates.js";
import { find, findNotify, type Payload } from "../message.js";
import { notify } from "../payloads/notify.js";
import { transitionChild } from "../state.js";
import type { ChildSaRecord, IkeSa } from "../types.js";
import { deleteChild } from "./informational.js";
import { handleIkeRekeyRequest } from "./rekey-ike.js";

/** Initiator: rekeys the child SA whose inbound SPI is `spiIn`. */
export function rekeyChild(ctx: EngineContext, sa: IkeSa, spiIn: number): boolean {
  const old = sa.children.get(spiIn);
  if (old?.state !== "installed" || sa.state !== "established") return false;
  transitionChild(old, "rekeying", (l) => ctx.log(sa, l), "we rekey it");
  old.ourRekey = { rival: null };
  const req = newChildRequest(ctx, sa, { inAuth: false, rekeys: old.record });
  const rekey = {
    ...notify(NotifyType.REKEY_SA),
    protocolId: old.record.protocol === "ah" ? ProtocolId.AH : ProtocolId.ESP,
    spi: spiBytes(spiIn),
  };
  const payloads: Payload[] = [rekey, ...childRequestPayloads(req, false)];
  ctx.log(
    sa,
    `CREATE_CHILD_SA: rekeying child SA ${hex(spiIn)}${req.dh ? ` with PFS group ${req.dh.group}` : ""}`,
  );
  ctx.request(
    sa,
    ExchangeType.CREATE_CHILD_SA,
    () => payloads,
    (p) => {
      const record = completeChild(ctx, sa, req, p, false);
      if (!record) {
        old.ourRekey = undefined;
        if (old.state === "rekeying")
          transitionChild(old, "installed", (l) => ctx.log(sa, l), "rekey failed");
        return;
      }
      ctx.installChild(sa, record);
      const rival = old.ourRekey?.rival;
      const nr = find(p, "NONCE")?.data;
      if (rival && nr && holdsLowestNonce([req.nonce, nr], rival)) {
        // §2.8.1: the peer rekeyed the same SA at once; ours holds the lowest nonce and is
        // redundant, and we created it: we delete it, the peer's new SA carries the traffic.
        ctx.log(
          sa,
          `rekey collision on child SA ${hex(spiIn)}: our new SA ${hex(record.spiIn)} holds the lowest nonce and is redundant (RFC 7296 §2.8.1); deleting it`,
        );
        deleteChild(ctx, sa, record.spiIn);
      }
      deleteChild(ctx, sa, spiIn);
    },
  );
  return true;
}

/**
 * Initiator: a new child SA (no REKEY_SA) for the flow and mode of `like`, which is gone
 * (the peer reported INVALID_SPI for it, ../invalid-spi.ts).
 */
export function createChild(ctx: EngineContext, sa: IkeSa, like: ChildSaRecord): boolean {
  if (sa.state !== "established") return false;
  const req = { ...newChildRequest(ctx, sa, { inAuth: false, rekeys: like }), rekeys: null };
  ctx.request(
    sa,
    ExchangeType.CREATE_CHILD_SA,
    () => childRequestPayloads(req, false),
    (p) => {
      const record = completeChild(ctx, sa, req, p, false);
      if (record) ctx.installChild(sa, record);
    },
  );
  return true;
}

/** Responder: a CREATE_CHILD_SA request. */
export function handleCreateChildRequest(ctx: EngineContext, sa: IkeSa, p: Payload[]): Reply {
  if (sa.state !== "established") return { payloads: [notify(NotifyType.TEMPORARY_FAILURE)] };
  const saP = find(p, "SA");
  const ni = find(p, "NONCE");
  if (!saP || !ni) return { payloads: [notify(NotifyType.INVALID_SYNTAX)] };
  if (saP.proposals.some((x) => x.protocolId === ProtocolId.IKE))
    return handleIkeRekeyRequest(ctx, sa, p);
  const rekey = findNotify(p, NotifyType.REKEY_SA);
  if (rekey) {
    // §2.25.1: an SA we no longer have, or are deleting (our own rekey of it finished
    // first, or we delete it), is not rekeyed: a second new SA would be redundant.
    const spi = rekey.spi.length === 4 ? rekey.spi.readUInt32BE(0) : -1;
    const old = [...sa.children.values()].find((c) => c.record.spiOut === spi);
    if (!old) {
      ctx.log(sa, `CREATE_CHILD_SA: the peer rekeys SPI ${hex(spi >>> 0)}: CHILD_SA_NOT_FOUND`);
      return {
        payloads: [
          {
            ...notify(NotifyType.CHILD_SA_NOT_FOUND),
            protocolId: rekey.protocolId,
            spi: rekey.spi,
          },
        ],
      };
    }
    if (old.state === "deleting") {
      ctx.log(
        sa,
        `CREATE_CHILD_SA: the peer rekeys child SA ${hex(old.record.spiIn)}, which we are deleting: TEMPORARY_FAILURE`,
      );
      return { payloads: [notify(NotifyType.TEMPORARY_FAILURE)] };
    }
  }
  const nr = ctx.deps.random(32);
  const answer = acceptChild(ctx, sa, p, { inAuth: false, ni: ni.data, nr });
  const record = answer.record;
  if (record?.replacesSpiIn !== null && record?.replacesSpiIn !== undefined) {
    const old = sa.children.get(record.replacesSpiIn);
    if (old?.state === "installed")
      transitionChild(old, "rekeying", (l) => ctx.log(sa, l), "the peer rekeys it");
    else if (old?.ourRekey) {
      old.ourRekey.rival = [ni.data, nr];
      ctx.log(
        sa,
        `rekey collision on child SA ${hex(old.record.spiIn)}: the peer rekeys it as we do (RFC 7296 §2.8.1)`,
      );
    }
  }
  // Keyed before the answer leaves (see ike-auth.ts); a rekey's new outbound half waits for
  // the old SA's Delete in the agent's child SA table.
  if (record) ctx.installChild(sa, record);
  return { payloads: answer.reply };
}

function hex(spi: number): string {
  return spi.toString(16).padStart(8, "0");
}
