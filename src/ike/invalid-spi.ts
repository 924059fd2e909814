/**
 * INVALID_SPI (RFC 7296 §1.5, §3.10.1): ESP or AH that arrives for an SPI we have no SA for.
 *   sending   the data path saw such a packet from `address`: when we hold an established
 *             IKE SA with that address, the peer is told in an INFORMATIONAL on it,
 *             N(INVALID_SPI) with the SPI as notification data, at most once per
 *             `invalidSpiIntervalMs` per address; with no IKE SA the packet is only counted
 *             (drop `invalid_spi_no_ike_sa`): an unauthenticated answer would let anyone
 *             probe or spoof us into talking
 *   receipt   inside an authenticated INFORMATIONAL, for one of our outbound SPIs: the child
 *             SA is removed at once (the peer cannot read what we send on it; waiting for
 *             the liveness check loses every packet until then), a Delete tells the peer's
 *             IKE SA that held it, and when no other child SA with the peer covers the same
 *             selectors a new one is negotiated on the IKE SA that carried the notify
 * The peer may report an SPI of a child SA on another of its IKE SAs with us (it restarted
 * without INITIAL_CONTACT: the notify comes on the new IKE SA, the dead child SA hangs on
 * the old one), so the search covers every IKE SA with the same authenticated peer.
 */
import { ExchangeType, NotifyType, ProtocolId } from "./constants.js";
import { spiBytes } from "./child.js";
import type { EngineContext } from "./context.js";
import { createChild } from "./exchanges/create-child-sa.js";
import type { NotifyPayload } from "./payloads/notify.js";
import { selectorText } from "./selectors.js";
import type { ChildSaRecord, IkeSa } from "./types.js";

/** The last INVALID_SPI sent per peer address; bounded (cleared past this many peers). */
const MAX_TRACKED_PEERS = 4096;

export interface InvalidSpiSender {
  /** ESP/AH with the unknown SPI `spi` arrived from `address`. */
  unknownSpi(sas: readonly IkeSa[], address: string, spi: number, protocol: "esp" | "ah"): void;
}

export function createInvalidSpiSender(ctx: EngineContext): InvalidSpiSender {
  const lastSent = new Map<string, number>();
  return {
    unknownSpi(sas, address, spi, protocol) {
      if (!ctx.opt.invalidSpi) return;
      const what = `${protocol.toUpperCase()} SPI ${hex(spi)} from ${address}`;
      const sa = sas
        .filter((s) => s.state === "established" && s.remote.address === address)
        .sort((a, b) => (b.establishedAt ?? 0) - (a.establishedAt ?? 0))[0];
      if (!sa) return ctx.drop("invalid_spi_no_ike_sa", `${what}: no IKE SA with the peer`);
      const now = ctx.deps.clock.now();
      const last = lastSent.get(address);
      if (last !== undefined && now - last < ctx.opt.invalidSpiIntervalMs)
        return ctx.drop(
          "invalid_spi_rate_limited",
          `${what}: INVALID_SPI sent ${now - last} ms ago`,
        );
      if (lastSent.size >= MAX_TRACKED_PEERS) lastSent.clear();
      lastSent.set(address, now);
      ctx.log(sa, `${what} has no SA here: telling the peer (INVALID_SPI)`);
      const n: NotifyPayload = {
        type: "N",
        protocolId: protocol === "ah" ? ProtocolId.AH : ProtocolId.ESP,
        spi: Buffer.alloc(0),
        notifyType: NotifyType.INVALID_SPI,
        data: spiBytes(spi),
      };
      ctx.request(
        sa,
        ExchangeType.INFORMATIONAL,
        () => [n],
        () => undefined,
      );
    },
  };
}

/** The peer's N(INVALID_SPI) in an INFORMATIONAL request on `sa`. */
export function honourInvalidSpi(ctx: EngineContext, sa: IkeSa, n: NotifyPayload): void {
  if (!ctx.opt.invalidSpi) return;
  const raw = n.data.length === 4 ? n.data : n.spi.length === 4 ? n.spi : null;
  if (raw === null) {
    ctx.log(sa, `INVALID_SPI without a 4-byte SPI (${n.data.length} bytes of data): ignored`);
    return;
  }
  const spiOut = raw.readUInt32BE(0);
  const peerSas = [sa, ...ctx.others(sa).filter((o) => o.peerId === sa.peerId)];
  for (const owner of peerSas) {
    const child = [...owner.children.values()].find((c) => c.record.spiOut === spiOut);
    if (!child) continue;
    const { record } = child;
    ctx.log(
      sa,
      `INVALID_SPI: the peer has no SA for our outbound SPI ${hex(spiOut)}: removing child SA ${hex(record.spiIn)}/${hex(spiOut)}`,
    );
    ctx.removeChild(owner, record.spiIn, "the peer reported INVALID_SPI");
    if (owner.state === "established")
      ctx.request(
        owner,
        ExchangeType.INFORMATIONAL,
        () => [
          {
            type: "D",
            protocolId: record.protocol === "ah" ? ProtocolId.AH : ProtocolId.ESP,
            spiSize: 4,
            spis: [spiBytes(record.spiIn)],
          },
        ],
        () => undefined,
      );
    if (covered(peerSas, record)) return;
    ctx.log(sa, `INVALID_SPI: negotiating a new child SA for ${flow(record)}`);
    createChild(ctx, sa, record);
    return;
  }
  ctx.log(sa, `INVALID_SPI for SPI ${hex(spiOut)}: no child SA of ours sends on it (ignored)`);
}

/** Whether another installed child SA with the peer protects the same flow as `r`. */
function covered(sas: readonly IkeSa[], r: ChildSaRecord): boolean {
  return sas.some((s) =>
    [...s.children.values()].some(
      (c) => c.state === "installed" && flow(c.record) === flow(r) && c.record.mode === r.mode,
    ),
  );
}

function flow(r: ChildSaRecord): string {
  return `${r.tsLocal.map(selectorText).join(",")} === ${r.tsRemote.map(selectorText).join(",")}`;
}

function hex(spi: number): string {
  return spi.toString(16).padStart(8, "0");
}
