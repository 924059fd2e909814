/**
 * INFORMATIONAL (RFC 7296 §1.4, §2.4): Delete of child SAs and of the IKE SA, and the
 * empty liveness check.
 *
 *   HDR, SK {[N,] [D,] ...} -->
 *                       <-- HDR, SK {[N,] [D,] ...}
 *
 * A Delete for ESP/AH lists the SPIs the sender receives on; the answer lists ours.
 */
import { ExchangeType, NotifyType, ProtocolId } from "../constants.js";
import { spiBytes } from "../child.js";
import type { EngineContext, Reply } from "../context.js";
import type { Payload } from "../message.js";
import { honourInvalidSpi } from "../invalid-spi.js";
import type { DeletePayload } from "../payloads/delete.js";
import { POSTERN_NOT_ADMITTED, receiveRefusal } from "../refusal.js";
import { transition, transitionChild } from "../state.js";
import type { IkeSa } from "../types.js";

/** Deletes our child SA `spiIn` (tells the peer, removes it when answered). */
export function deleteChild(ctx: EngineContext, sa: IkeSa, spiIn: number): boolean {
  const child = sa.children.get(spiIn);
  if (!child || child.state === "deleting" || sa.state === "closed") return false;
  transitionChild(child, "deleting", (l) => ctx.log(sa, l), "we delete it");
  const d: DeletePayload = {
    type: "D",
    protocolId: child.record.protocol === "ah" ? ProtocolId.AH : ProtocolId.ESP,
    spiSize: 4,
    spis: [spiBytes(spiIn)],
  };
  ctx.request(
    sa,
    ExchangeType.INFORMATIONAL,
    () => [d],
    () => ctx.removeChild(sa, spiIn, "deleted by us"),
  );
  return true;
}

/** Deletes the IKE SA and with it every child SA (§1.4.1). */
export function deleteIkeSa(ctx: EngineContext, sa: IkeSa): void {
  if (sa.state !== "established" && sa.state !== "rekeyed") {
    ctx.closeSa(sa, "deleted before it was established");
    return;
  }
  transition(sa, "deleting", ctx.deps.log, "delete requested");
  // The child SAs go now, not when the peer answers: traffic must not keep flowing into an
  // SA we are deleting (the peer may be gone; its answer may take all the retransmissions).
  for (const spiIn of [...sa.children.keys()]) ctx.removeChild(sa, spiIn, "IKE SA being deleted");
  const d: DeletePayload = { type: "D", protocolId: ProtocolId.IKE, spiSize: 0, spis: [] };
  ctx.request(
    sa,
    ExchangeType.INFORMATIONAL,
    () => [d],
    () => ctx.closeSa(sa, "deleted by us"),
  );
}

/** Liveness check: an empty INFORMATIONAL request (§1.4). */
export function checkLiveness(ctx: EngineContext, sa: IkeSa): void {
  ctx.request(
    sa,
    ExchangeType.INFORMATIONAL,
    () => [],
    () => undefined,
  );
}

/** Responder side of INFORMATIONAL. */
export function handleInformational(ctx: EngineContext, sa: IkeSa, p: Payload[]): Reply {
  const reply: Payload[] = [];
  let closeAfter = false;
  for (const x of p) {
    if (x.type === "D" && x.protocolId === ProtocolId.IKE) closeAfter = true;
    if (
      x.type === "D" &&
      (x.protocolId === ProtocolId.ESP || x.protocolId === ProtocolId.AH) &&
      x.spiSize === 4
    ) {
      const ours: Buffer[] = [];
      for (const spi of x.spis) {
        const out = spi.readUInt32BE(0);
        const child = [...sa.children.values()].find((c) => c.record.spiOut === out);
        if (!child) continue;
        ours.push(spiBytes(child.record.spiIn));
        ctx.removeChild(sa, child.record.spiIn, "deleted by peer");
      }
      if (ours.length > 0)
        reply.push({ type: "D", protocolId: x.protocolId, spiSize: 4, spis: ours });
    }
    if (x.type === "N" && x.notifyType === POSTERN_NOT_ADMITTED) receiveRefusal(ctx, sa, x.data);
    if (x.type === "N" && x.notifyType === NotifyType.INVALID_SPI) honourInvalidSpi(ctx, sa, x);
    if (x.type === "N" && x.notifyType === NotifyType.AUTHENTICATION_FAILED) {
      ctx.log(sa, `INFORMATIONAL: peer reports AUTHENTICATION_FAILED for our AUTH`);
      closeAfter = true;
    }
  }
  return {
    payloads: reply,
    after: closeAfter ? () => ctx.closeSa(sa, "deleted by peer") : undefined,
  };
}
