/**
 * One IKE SA per peer, after restarts and simultaneous starts:
 *   INITIAL_CONTACT (RFC 7296 §2.4)  sent in IKE_AUTH when we hold no other IKE SA with the
 *      peer; on receipt, the peer's IKE SAs that were up before this one started are closed
 *      at once with their child SAs (the peer restarted: it has lost them), without a
 *      Delete (the peer would not know their SPIs)
 *   simultaneous initiation (§2.8, the nonce rule of §2.8.1)  two IKE SAs with the same
 *      peer, each started before the other was up, are one too many: the SA holding the
 *      lowest of the four nonces is redundant, and a side that sees the collision deletes
 *      it (both decide the same from the same nonces; a side whose own dates show no
 *      overlap keeps both until the peer's Delete arrives)
 *   rekey collisions (§2.8.1, §2.8.2)  both sides rekey the same SA at once: of the two new
 *      SAs, the one whose exchange holds the lowest of the four nonces is redundant, and
 *      its creator deletes it (`holdsLowestNonce`, used by exchanges/create-child-sa.ts and
 *      exchanges/rekey-ike.ts)
 */
import { NotifyType } from "./constants.js";
import type { EngineContext } from "./context.js";
import { deleteIkeSa } from "./exchanges/informational.js";
import { findNotify, type Payload } from "./message.js";
import { notify } from "./payloads/notify.js";
import { spiText as text } from "./state.js";
import type { IkeSa } from "./types.js";

/** N(INITIAL_CONTACT) for our IKE_AUTH message, when we hold no other SA with the peer. */
export function initialContact(ctx: EngineContext, sa: IkeSa): Payload[] {
  if (!ctx.opt.initialContact || ctx.others(sa).length > 0) return [];
  return [notify(NotifyType.INITIAL_CONTACT)];
}

/** The peer's IKE_AUTH carried INITIAL_CONTACT: its SAs from before `sa` started are stale. */
export function honourInitialContact(ctx: EngineContext, sa: IkeSa, p: readonly Payload[]): void {
  if (!findNotify(p, NotifyType.INITIAL_CONTACT)) return;
  const stale = ctx
    .others(sa)
    .filter(
      (o) => o.peerId === sa.peerId && o.establishedAt !== null && o.establishedAt < sa.startedAt,
    );
  if (stale.length === 0) return;
  ctx.log(
    sa,
    `INITIAL_CONTACT from ${sa.peerId}: closing its ${stale.length} older IKE SA(s) at once`,
  );
  for (const o of stale)
    ctx.closeSa(o, `replaced: the peer sent INITIAL_CONTACT on IKE SA ${text(sa)}`);
}

/** `sa` just came up: if another SA with the peer came up while it ran, one of them goes. */
export function resolveSimultaneous(ctx: EngineContext, sa: IkeSa): void {
  for (const o of ctx.others(sa)) {
    if (o.state !== "established" || o.peerId !== sa.peerId) continue;
    if (o.establishedAt === null || o.establishedAt < sa.startedAt) continue;
    const loser = Buffer.compare(lowestNonce(o), lowestNonce(sa)) < 0 ? o : sa;
    const winner = loser === sa ? o : sa;
    // The initiator of the redundant SA deletes it (§2.8.1), but each side dates a start by
    // its own first sight of the SA, so the peer may not have seen a collision at all: the
    // side that sees one deletes the redundant SA whoever initiated it. When both see it,
    // the two Deletes cross, which §1.4.1 allows (each answers the other's).
    ctx.log(
      loser,
      `simultaneous IKE SA with ${text(winner)}: this one holds the lowest nonce and is redundant (RFC 7296 §2.8.1); deleting it`,
    );
    deleteIkeSa(ctx, loser);
    if (loser === sa) return;
  }
}

/** Whether the exchange with nonces `ours` holds the lowest of its and `theirs`' nonces. */
export function holdsLowestNonce(ours: readonly Buffer[], theirs: readonly Buffer[]): boolean {
  const min = (xs: readonly Buffer[]) => xs.reduce((a, b) => (Buffer.compare(a, b) <= 0 ? a : b));
  return Buffer.compare(min(ours), min(theirs)) < 0;
}

function lowestNonce(sa: IkeSa): Buffer {
  return Buffer.compare(sa.ni, sa.nr) <= 0 ? sa.ni : sa.nr;
}
