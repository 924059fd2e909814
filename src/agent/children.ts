/**
 * The child SAs the agent keys the data path with, in one place:
 *   install  1. ChildSaRecord -> inbound + outbound SaRecord (sa-convert.ts)
 *            2. inbound first, then outbound, into the data path; the inbound record says
 *               whether the firewall's bypass admitted the IKE SA's peer (`admitted`), so
 *               its packets reach the bypass device (docs/firewall.md)
 *            3. a rekey (replacesSpiIn) then removes the pair it replaces
 *   remove   both directions of the pair named by its inbound SPI
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

export type InstallResult =
  | { ok: true; transform: string; replaced: number | null }
  | { ok: false; error: string };

export interface ChildSaTable {
  install(c: ChildSaRecord): InstallResult;
  /** Removes the pair; its peer's name, or null when no such pair was installed. */
  remove(spiIn: number): string | null;
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
  const pairs = new Map<number, { spiOut: number; child: ChildView }>();
  const remove = (spiIn: number): string | null => {
    const p = pairs.get(spiIn);
    if (p === undefined) return null;
    pairs.delete(spiIn);
    sad.removeSa("in", spiIn);
    sad.removeSa("out", p.spiOut);
    return p.child.record.peerName;
  };
  return {
    install(c) {
      const r = childToSaRecords(c);
      if ("error" in r) return { ok: false, error: r.error };
      sad.addSa(admitted(c.ikeSa) ? { ...r.in, admitted: true } : r.in);
      sad.addSa(r.out);
      pairs.set(c.spiIn, { spiOut: c.spiOut, child: { record: c, installedAtMs: now() } });
      const replaced = c.replacesSpiIn !== null && remove(c.replacesSpiIn) !== null;
      return { ok: true, transform: r.in.transform, replaced: replaced ? c.replacesSpiIn : null };
    },
    remove,
    spiInOf(spiOut) {
      for (const [spiIn, p] of pairs) if (p.spiOut === spiOut) return spiIn;
      return undefined;
    },
    views: () => [...pairs.values()].map((p) => p.child),
    size: () => pairs.size,
  };
}
