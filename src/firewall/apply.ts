/**
 * The applier: compiles the settings and loads them with one `nft -f` transaction.
 * 1. read the host's connected subnets (scope SUBNET);
 * 2. compile; if the loaded table's comment carries the same digest, stop (nothing changes);
 * 3. read the bypass sets' elements (with their remaining timeouts);
 * 4. load "create-if-missing, delete, new table, re-add the bypass elements" atomically.
 * The table is never removed by the applier's death: it stays in the kernel (fail closed).
 */
import { parseSetElements } from "./bypass.js";
import { compileRuleset, TABLE } from "./compile.js";
import type { FirewallSettings } from "./model.js";
import type { NftRunner } from "./nft.js";

export interface ApplyResult {
  /** false when the loaded ruleset already had this digest (nothing was loaded). */
  changed: boolean;
  digest: string;
  /** Bypass elements carried over into the new table. */
  keptPeers: number;
}

export interface Applier {
  apply(settings: FirewallSettings, opts?: { force?: boolean }): Promise<ApplyResult>;
  /** The digest of the loaded postern table, or null when there is none. */
  loadedDigest(): Promise<string | null>;
  /** Removes table inet postern (used by tests and `postern firewall remove`). */
  remove(): Promise<void>;
}

export interface ApplierDeps {
  runner: NftRunner;
  tunDevice?: string;
}

/** The digest in `comment "postern firewall <digest>"` of `nft list table` text. */
export function digestOfListing(text: string): string | null {
  return /comment "postern firewall ([0-9a-f]+)"/.exec(text)?.[1] ?? null;
}

export function createApplier(deps: ApplierDeps): Applier {
  const { runner } = deps;

  async function listTable(): Promise<string | null> {
    try {
      return await runner.nft(["list", "table", "inet", TABLE]);
    } catch {
      return null; // no such table
    }
  }

  async function carriedElements(): Promise<string[]> {
    const lines: string[] = [];
    for (const set of ["bypass4", "bypass6"]) {
      let json: string;
      try {
        json = await runner.nft(["-j", "list", "set", "inet", TABLE, set]);
      } catch {
        continue;
      }
      for (const p of parseSetElements(json)) {
        const t = p.expiresSec === null ? "" : ` timeout ${Math.max(1, p.expiresSec)}s`;
        lines.push(`add element inet ${TABLE} ${set} { ${p.address}${t} }`);
      }
    }
    return lines;
  }

  return {
    async apply(settings, opts = {}) {
      const localSubnets = await runner.localSubnets();
      const compiled = compileRuleset({ settings, localSubnets, tunDevice: deps.tunDevice });
      const listing = await listTable();
      const loaded = listing === null ? null : digestOfListing(listing);
      if (loaded === compiled.digest && !opts.force) {
        return { changed: false, digest: compiled.digest, keptPeers: 0 };
      }
      const keep = listing === null ? [] : await carriedElements();
      await runner.nft(["-f", "-"], `${compiled.script}${keep.map((l) => `${l}\n`).join("")}`);
      return { changed: true, digest: compiled.digest, keptPeers: keep.length };
    },
    async loadedDigest() {
      const listing = await listTable();
      return listing === null ? null : digestOfListing(listing);
    },
    async remove() {
      await runner.nft(["-f", "-"], `table inet ${TABLE} {}\ndelete table inet ${TABLE}\n`);
    },
  };
}
