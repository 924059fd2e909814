/**
 * The applier: compiles the settings and loads them with one `nft -f` transaction.
 * 1. read the loaded state in one call (`nft -j list sets inet`): the digest in set
 *    bypass4's comment and the bypass elements with their remaining timeouts;
 * 2. read the host's connected subnets, only when a scope needs them (SUBNET, LocalSubnet);
 * 3. compile; if the loaded digest is the same, stop (nothing changes);
 * 4. load "create-if-missing, delete, new table, re-add the bypass elements" atomically.
 * The table is never removed by the applier's death: it stays in the kernel (fail closed).
 */
import { compileRuleset, needsLocalSubnets, TABLE } from "./compile.js";
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

interface LoadedState {
  digest: string | null;
  /** `add element` lines re-creating the bypass elements. */
  elements: string[];
}

type ElemJson = string | { elem: { val: string; expires?: number } };
interface SetsJson {
  nftables: { set?: { table: string; name: string; comment?: string; elem?: ElemJson[] } }[];
}

/** Parses `nft -j list sets inet` into what the applier needs. */
export function parseLoadedState(json: string): LoadedState {
  const doc = JSON.parse(json) as SetsJson;
  const state: LoadedState = { digest: null, elements: [] };
  for (const item of doc.nftables) {
    const set = item.set;
    if (!set || set.table !== TABLE || (set.name !== "bypass4" && set.name !== "bypass6")) continue;
    if (set.name === "bypass4") state.digest = digestOfListing(`comment "${set.comment ?? ""}"`);
    for (const e of set.elem ?? []) {
      const [val, exp] = typeof e === "string" ? [e, undefined] : [e.elem.val, e.elem.expires];
      const t = exp === undefined ? "" : ` timeout ${Math.max(1, exp)}s`;
      state.elements.push(`add element inet ${TABLE} ${set.name} { ${val}${t} }`);
    }
  }
  return state;
}

export function createApplier(deps: ApplierDeps): Applier {
  const { runner } = deps;
  const loadedState = async (): Promise<LoadedState> =>
    parseLoadedState(await runner.nft(["-j", "list", "sets", "inet"]));

  return {
    async apply(settings, opts = {}) {
      const loaded = await loadedState();
      const localSubnets = needsLocalSubnets(settings) ? await runner.localSubnets() : [];
      const compiled = compileRuleset({ settings, localSubnets, tunDevice: deps.tunDevice });
      if (loaded.digest === compiled.digest && !opts.force) {
        return { changed: false, digest: compiled.digest, keptPeers: 0 };
      }
      const keep = loaded.elements;
      await runner.nft(["-f", "-"], `${compiled.script}${keep.map((l) => `${l}\n`).join("")}`);
      return { changed: true, digest: compiled.digest, keptPeers: keep.length };
    },
    async loadedDigest() {
      return (await loadedState()).digest;
    },
    async remove() {
      await runner.nft(["-f", "-"], `table inet ${TABLE} {}\ndelete table inet ${TABLE}\n`);
    },
  };
}
