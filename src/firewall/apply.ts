/**
 * The applier: compiles the settings and loads the firewall's chains in one `nft -f`
 * transaction (platform/nftables.ts owns the table).
 * 1. read the loaded state in one call (`nft -j list ruleset inet`): the digest in the
 *    comment of the first rule of chain `input` and the number of bypass elements;
 * 2. read the host's connected subnets, only when a scope needs them (SUBNET, LocalSubnet);
 *    and the listening ports of the allowed programs (programs.ts: read again each time);
 * 3. compile; if the loaded digest is the same, stop (nothing changes);
 * 4. load "create what is missing, delete chains input and output, add the new ones"
 *    atomically. The bypass sets and the agent's chains are not touched: their elements
 *    and the steering stay as they are.
 * The table is never removed by the applier's death: it stays in the kernel (fail closed).
 */
import { removeTableScript, TABLE } from "../platform/nftables.js";
import { compileRuleset, DIGEST_COMMENT, needsLocalSubnets } from "./compile.js";
import type { FirewallSettings } from "./model.js";
import type { NftRunner } from "./nft.js";
import { programPortsFor } from "./programs.js";

export interface ApplyResult {
  /** false when the loaded ruleset already had this digest (nothing was loaded). */
  changed: boolean;
  digest: string;
  /** Bypass elements in the sets, kept across the change. */
  keptPeers: number;
}

export interface Applier {
  apply(settings: FirewallSettings, opts?: { force?: boolean }): Promise<ApplyResult>;
  /** The digest of the loaded firewall chains, or null when there are none. */
  loadedDigest(): Promise<string | null>;
  /** Removes table inet postern, all parts (used by tests and `postern firewall remove`). */
  remove(): Promise<void>;
}

export interface ApplierDeps {
  runner: NftRunner;
  bypassDevice?: string;
}

const DIGEST_RE = new RegExp(`${DIGEST_COMMENT} ([0-9a-f]+)`);

/** The digest in `comment "postern firewall <digest>"` of `nft list table` text. */
export function digestOfListing(text: string): string | null {
  return DIGEST_RE.exec(text)?.[1] ?? null;
}

interface LoadedState {
  digest: string | null;
  /** Elements in bypass4 and bypass6. */
  peers: number;
}

interface RulesetJson {
  nftables: {
    set?: { table: string; name: string; elem?: unknown[] };
    rule?: { table: string; chain: string; comment?: string };
  }[];
}

/** Parses `nft -j list ruleset inet` into what the applier needs. */
export function parseLoadedState(json: string): LoadedState {
  const doc = JSON.parse(json) as RulesetJson;
  const state: LoadedState = { digest: null, peers: 0 };
  for (const item of doc.nftables) {
    const { set, rule } = item;
    if (set && set.table === TABLE && (set.name === "bypass4" || set.name === "bypass6"))
      state.peers += set.elem?.length ?? 0;
    if (rule && rule.table === TABLE && rule.chain === "input" && state.digest === null)
      state.digest = digestOfListing(rule.comment ?? "");
  }
  return state;
}

export function createApplier(deps: ApplierDeps): Applier {
  const { runner } = deps;
  const loadedState = async (): Promise<LoadedState> =>
    parseLoadedState(await runner.nft(["-j", "list", "ruleset", "inet"]));

  return {
    async apply(settings, opts = {}) {
      const loaded = await loadedState();
      const localSubnets = needsLocalSubnets(settings) ? await runner.localSubnets() : [];
      const compiled = compileRuleset({
        settings,
        localSubnets,
        programPorts: programPortsFor(settings, runner.netns),
        bypassDevice: deps.bypassDevice,
      });
      if (loaded.digest === compiled.digest && !opts.force) {
        return { changed: false, digest: compiled.digest, keptPeers: 0 };
      }
      await runner.nft(["-f", "-"], compiled.script);
      return { changed: true, digest: compiled.digest, keptPeers: loaded.peers };
    },
    async loadedDigest() {
      return (await loadedState()).digest;
    },
    async remove() {
      await runner.nft(["-f", "-"], removeTableScript());
    },
  };
}
