/**
 * The child SAs the agent keys the data path with, in one place:
 *   install  1. ChildSaRecord -> inbound + outbound SaRecord (sa-convert.ts)
 *            2. inbound first, then outbound, into the data path; the inbound record says
 *               whether the firewall's bypass admitted the IKE SA's peer (`admitted`), so
 *               its packets reach the bypass device (docs/firewall.md)
 *            3. a rekey (replacesSpiIn), RFC 7296 §2.8: the old pair's inbound half stays
 *               until the old SA is deleted, so what the peer sent on it before it switched
 *               is still opened. The rekey's initiator stops sending on the old SA at once;
 *               its responder keeps sending on it and adds the new outbound half only when
 *               the initiator deletes the old SA, since the initiator keys its inbound half
 *               when our answer reaches it, after our next packets could
 *   remove   both directions of the pair named by its inbound SPI (and adds the outbound
 *            half of a pair that waited for it)
 * and the views the monitor shows (`qmsas`). The data path is reached through `sad`, so
 * the same module serves the real workers and the in-process fake.
 */
import type { SaRecord } from "../esp/sa.js";
import type { ChildSaRecord } from "../ike/types.js";
import type { ChildView } from "./monitor.js";
import { childToSaRecords } from "./sa-convert.js";

/** The part of the data path a child SA table writes to. */
export interface SadWriter {
  addSa(record: SaRecord): void;
  removeSa(direction: "in" | "out", spi: number): void;
}

export type InstallResult = { ok: true; transform: string } | { ok: false; error: string };

export interface ChildSaTable {
  install(c: ChildSaRecord): InstallResult;
  /** Removes the pair; its child SA, or null when no such pair was installed. */
  remove(spiIn: number): ChildSaRecord | null;
  /** The inbound SPI of the pair whose outbound SPI is `spiOut`. */
  spiInOf(spiOut: number): number | undefined;
  views(): ChildView[];
  size(): number;
}

export function createChildSaTable(
  sad: SadWriter,
  now: () => number,
  admitted: (ikeSa: string) => boolean = () => false,
): ChildSaTable {
  /**
   * `sending`: its outbound half is in the data path. A rekey responder's pair waits
   * (`waitsFor`) until the pair it replaces stops sending.
   */
  interface Pair {
    child: ChildView;
    out: SaRecord;
    sending: boolean;
    waitsFor: number | null;
  }
  const pairs = new Map<number, Pair>();
  /** Pair `spiIn` stops sending: its outbound half goes, the pairs that waited for it start. */
  const stopSending = (spiIn: number, p: Pair) => {
    if (p.sending) sad.removeSa("out", p.out.spi);
    p.sending = false;
    for (const q of pairs.values()) {
      if (q.waitsFor !== spiIn) continue;
      sad.addSa(q.out);
      q.sending = true;
      q.waitsFor = null;
    }
  };
  const remove = (spiIn: number): ChildSaRecord | null => {
    const p = pairs.get(spiIn);
    if (p === undefined) return null;
    pairs.delete(spiIn);
    sad.removeSa("in", spiIn);
    stopSending(spiIn, p);
    return p.child.record;
  };
  return {
    install(c) {
      const r = childToSaRecords(c);
      if ("error" in r) return { ok: false, error: r.error };
      sad.addSa(admitted(c.ikeSa) ? { ...r.in, admitted: true } : r.in);
      const old = c.replacesSpiIn === null ? undefined : pairs.get(c.replacesSpiIn);
      const waits = old?.sending === true && !c.initiator;
      if (!waits) sad.addSa(r.out);
      pairs.set(c.spiIn, {
        child: { record: c, installedAtMs: now() },
        out: r.out,
        sending: !waits,
        waitsFor: waits ? c.replacesSpiIn : null,
      });
      if (old !== undefined && c.initiator && c.replacesSpiIn !== null)
        stopSending(c.replacesSpiIn, old);
      return { ok: true, transform: r.in.transform };
    },
    remove,
    spiInOf(spiOut) {
      for (const [spiIn, p] of pairs) if (p.out.spi === spiOut) return spiIn;
      return undefined;
    },
    views: () => [...pairs.values()].map((p) => p.child),
    size: () => pairs.size,
  };
}
