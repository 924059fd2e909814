/**
 * The bypass sets: peers that authenticated with IPsec and belong to an authorized group.
 * The agent adds a peer when its SA comes up (timeout = the SA's lifetime) and removes it
 * when the SA goes. Each call is one `nft add|delete element` transaction (creating the
 * table and sets first when missing, platform/nftables.ts): no reload of the ruleset.
 * At start-up the agent empties both sets (`clearBypassPeers`): entries of an agent that
 * died belong to SAs that died with it; live SAs refill them.
 */
import { declareTableScript, flushBypassScript, TABLE } from "../platform/nftables.js";
import { formatIp, parseIp } from "../policy/ip.js";
import { FirewallError } from "./errors.js";
import type { NftRunner } from "./nft.js";

export interface BypassPeer {
  address: string;
  /** Seconds left, or null when the element never expires. */
  expiresSec: number | null;
}

export interface BypassSet {
  /** Adds (or refreshes) a peer; timeoutSec 0 = no timeout. */
  addBypassPeer(address: string, timeoutSec: number): Promise<void>;
  removeBypassPeer(address: string): Promise<void>;
  listBypassPeers(): Promise<BypassPeer[]>;
}

function setFor(address: string): { set: string; addr: string } {
  const ip = parseIp(address);
  if (!ip) throw new FirewallError("bad-address", `bypass peer: '${address}' is not an IP address`);
  return { set: ip.family === 4 ? "bypass4" : "bypass6", addr: formatIp(ip) };
}

interface SetJson {
  nftables: { set?: { elem?: (string | { elem: { val: string; expires?: number } })[] } }[];
}

/** Parses `nft -j list set` output into peers. */
export function parseSetElements(json: string): BypassPeer[] {
  const doc = JSON.parse(json) as SetJson;
  const out: BypassPeer[] = [];
  for (const item of doc.nftables) {
    for (const e of item.set?.elem ?? []) {
      if (typeof e === "string") out.push({ address: e, expiresSec: null });
      else out.push({ address: e.elem.val, expiresSec: e.elem.expires ?? null });
    }
  }
  return out;
}

export function createBypassSet(runner: NftRunner): BypassSet {
  return {
    async addBypassPeer(address, timeoutSec) {
      const { set, addr } = setFor(address);
      if (!Number.isInteger(timeoutSec) || timeoutSec < 0) {
        throw new FirewallError("bad-settings", `bypass timeout: ${timeoutSec} is not >= 0`);
      }
      const t = timeoutSec > 0 ? ` timeout ${timeoutSec}s` : "";
      // delete+add in one transaction refreshes the timeout of an existing element.
      const elements =
        `add element inet ${TABLE} ${set} { ${addr} }\n` +
        `delete element inet ${TABLE} ${set} { ${addr} }\n` +
        `add element inet ${TABLE} ${set} { ${addr}${t} }\n`;
      // Elements only, first: a batch that also declares the table and its sets makes the
      // kernel's commit wait (25-40 ms measured, against 0.2-0.5 ms for the elements alone;
      // docs/benchmarks.md). Only when the table or set is missing does the write declare them.
      try {
        await runner.nft(["-f", "-"], elements);
      } catch {
        await runner.nft(["-f", "-"], declareTableScript() + elements);
      }
    },
    async removeBypassPeer(address) {
      const { set, addr } = setFor(address);
      await runner.nft(
        ["-f", "-"],
        `${declareTableScript()}add element inet ${TABLE} ${set} { ${addr} }\ndelete element inet ${TABLE} ${set} { ${addr} }\n`,
      );
    },
    async listBypassPeers() {
      const out: BypassPeer[] = [];
      for (const set of ["bypass4", "bypass6"]) {
        out.push(...parseSetElements(await runner.nft(["-j", "list", "set", "inet", TABLE, set])));
      }
      return out;
    },
  };
}

/** Empties both bypass sets (creating them when missing): the agent's start-up. */
export async function clearBypassPeers(runner: NftRunner): Promise<void> {
  await runner.nft(["-f", "-"], flushBypassScript());
}
