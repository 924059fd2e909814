/**
 * The one owner of postern's nftables state: table `inet postern` (DESIGN.md decision 5).
 *
 * Three parts of postern put chains in it; each part owns fixed chain names, and only this
 * module writes the table, so no part can clobber another's chains:
 *   firewall  input, output        (firewall/compile.ts: Windows Firewall semantics)
 *   steering  spd_out, protect_out (datapath/steering.ts: marks into the TUN, fail closed)
 *   guard     ipsec_in             (agent/inbound-guard.ts: cleartext that policy protects)
 * plus the sets bypass4/bypass6, which every write declares and none deletes (the agent
 * fills them from live SAs; a ruleset change keeps them), and mbr_resp, the firewall's
 * 3-second record of this host's multicast/broadcast queries (firewall/compile.ts).
 *
 * A write is one plan (the parts it replaces, or null to remove a part) compiled to one
 * `nft -f` script, loaded as one transaction: either all of it or none of it:
 *   table inet postern { sets; every named chain }  (create what is missing: deletes cannot fail)
 *   delete chain ... for every chain of every named part
 *   table inet postern { the new chains of the parts given }
 *   table inet postern_dp {} + delete table inet postern_dp  (stale tables of older versions,
 *   table inet postern_agent_in {} + delete ...                removed by every write)
 * Parts not named stay as they are: `netsh firewall set` from the CLI replaces the firewall
 * chains and leaves the running agent's steering and guard in place.
 *
 * Pure text here; NftRunner or NetConfig (platform/commands.ts, routing.ts) loads it.
 */
import { PosternError } from "../errors.js";
import type { NftRunner } from "./commands.js";

export const TABLE = "postern";

export type TablePart = "firewall" | "steering" | "guard";

/** The chains each part owns. */
export const PART_CHAINS: Readonly<Record<TablePart, readonly string[]>> = {
  firewall: ["input", "output"],
  steering: ["spd_out", "protect_out"],
  guard: ["ipsec_in"],
};

/** Tables of versions before the one-table owner: removed by every write. */
export const LEGACY_TABLES = ["postern_dp", "postern_agent_in"] as const;

export const BYPASS_SETS = {
  bypass4: "ipv4_addr",
  bypass6: "ipv6_addr",
} as const;
export type BypassSetName = keyof typeof BYPASS_SETS;

/** One chain as a part compiles it. */
export interface ChainText {
  name: string;
  /** A base chain's `type ... hook ... priority ...; policy ...;` line; none for a regular one. */
  hook?: string;
  /** Statements in order (one rule per entry). */
  rules: readonly string[];
}

/** What one write replaces: a part's chains, or null to remove the part. */
export type TablePlan = Partial<Record<TablePart, readonly ChainText[] | null>>;

/** A part that emits a chain it does not own: a bug in postern, refused before nft runs. */
export class TablePlanError extends PosternError {
  constructor(message: string) {
    super("table-plan", message);
    this.name = "TablePlanError";
  }
}

function checkPart(part: TablePart, chains: readonly ChainText[]): void {
  const owned = PART_CHAINS[part];
  for (const c of chains) {
    if (!owned.includes(c.name))
      throw new TablePlanError(
        `table ${TABLE}: part ${part} emitted chain '${c.name}', which it does not own (${owned.join(", ")})`,
      );
  }
}

function chainBlock(c: ChainText): string {
  const body = [...(c.hook ? [c.hook] : []), ...c.rules];
  return [`  chain ${c.name} {`, ...body.map((l) => `    ${l}`), "  }"].join("\n");
}

/**
 * The firewall's record of multicast/broadcast queries this host sent, by protocol and
 * source port; each element lives 3 s (Windows' window for unicast answers).
 */
export const RESPONSE_SET = "mbr_resp";

/** Declares the table, both bypass sets and the response set (no-ops when they exist). */
function declareSets(): string[] {
  return [
    ...Object.entries(BYPASS_SETS).map(
      ([name, type]) => `  set ${name} { type ${type}; flags timeout; }`,
    ),
    `  set ${RESPONSE_SET} { type inet_proto . inet_service; flags dynamic, timeout; timeout 3s; }`,
  ];
}

/** The one-transaction script for a plan. */
export function tableScript(plan: TablePlan): string {
  const parts = (Object.keys(PART_CHAINS) as TablePart[]).filter((p) => plan[p] !== undefined);
  const replaced = parts.flatMap((p) => PART_CHAINS[p]);
  const fresh: ChainText[] = [];
  for (const p of parts) {
    const chains = plan[p];
    if (!chains) continue;
    checkPart(p, chains);
    fresh.push(...chains);
  }
  const lines = [
    `table inet ${TABLE} {`,
    ...declareSets(),
    ...replaced.map((c) => `  chain ${c} {}`),
    "}",
    ...replaced.map((c) => `delete chain inet ${TABLE} ${c}`),
  ];
  if (fresh.length) lines.push(`table inet ${TABLE} {`, ...fresh.map(chainBlock), "}");
  for (const t of LEGACY_TABLES) lines.push(`table inet ${t} {}`, `delete table inet ${t}`);
  return `${lines.join("\n")}\n`;
}

/** Creates the table and the bypass sets when missing, changing nothing that exists. */
export function declareTableScript(): string {
  return [`table inet ${TABLE} {`, ...declareSets(), "}", ""].join("\n");
}

/** Empties both bypass sets (agent start-up: stale peers go, live SAs refill them). */
export function flushBypassScript(): string {
  return [
    `table inet ${TABLE} {`,
    ...declareSets(),
    "}",
    ...Object.keys(BYPASS_SETS).map((s) => `flush set inet ${TABLE} ${s}`),
    "",
  ].join("\n");
}

/** Removes the whole table and the stale ones (`postern firewall remove`, tests). */
export function removeTableScript(): string {
  return [
    ...[TABLE, ...LEGACY_TABLES].flatMap((t) => [`table inet ${t} {}`, `delete table inet ${t}`]),
    "",
  ].join("\n");
}

/** The owner as an object over a runner: what an agent core takes as its nftables dep. */
export interface NftTable {
  /** Loads a plan (several parts at once: one transaction). */
  write(plan: TablePlan): Promise<void>;
  /** Empties the bypass sets. */
  clearBypass(): Promise<void>;
  /** Removes the table and the stale ones. */
  remove(): Promise<void>;
}

export function createNftTable(runner: Pick<NftRunner, "nft">): NftTable {
  const load = async (script: string) => {
    await runner.nft(["-f", "-"], script);
  };
  return {
    write: (plan) => load(tableScript(plan)),
    clearBypass: () => load(flushBypassScript()),
    remove: () => load(removeTableScript()),
  };
}
