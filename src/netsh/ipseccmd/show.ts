/**
 * `ipseccmd show filters|policies|auth|stats|sas|all` (query mode), answered by the running
 * agent's monitor over its control socket, as `netsh ipsec dynamic show` is:
 *   filters  -> main mode and quick mode filters (mmfilter, qmfilter)
 *   policies -> each rule's quick mode policy: its filter action and action (from qmfilter)
 *   auth     -> each main mode filter's authentication methods (from mmfilter)
 *   stats    -> IKE and IPsec statistics (dstats)
 *   sas      -> main mode and quick mode SAs (mmsas, qmsas)
 *   all      -> all of the above
 * Several words may be combined; --json prints one document keyed by word. No agent: one
 * line, exit 1.
 */
import type { CliEnv } from "../../cmdline/env.js";
import type { FilterView, MmFilterView } from "../../control/protocol.js";
import type { AgentRequest } from "../ipsec-dynamic/index.js";
import {
  authName,
  formatMmFilters,
  formatMmSas,
  formatQmFilters,
  formatQmSas,
  formatStats,
} from "../ipsec-dynamic/format.js";
import { SHOW_WORDS, type ShowWord } from "./switches.js";

const RULE = "-".repeat(78);

export function formatPolicies(fs: readonly FilterView[]): string[] {
  const seen = new Map<string, FilterView>();
  for (const f of fs) if (!seen.has(f.rule)) seen.set(f.rule, f);
  if (seen.size === 0) return ["Quick Mode Policies", RULE, "No quick mode policies."];
  return [
    "Quick Mode Policies",
    RULE,
    ...[...seen.values()].map(
      (f) => `${f.rule.padEnd(24)}: ${f.filteraction} (${f.action.toUpperCase()})`,
    ),
  ];
}

export function formatAuth(fs: readonly MmFilterView[]): string[] {
  if (fs.length === 0) return ["Main Mode Authentication Methods", RULE, "No main mode filters."];
  return [
    "Main Mode Authentication Methods",
    RULE,
    ...fs.map(
      (f) => `${`${f.rule} ${f.src} <-> ${f.dst}`.padEnd(24)}: ${f.auth.map(authName).join(", ")}`,
    ),
  ];
}

async function section(
  word: Exclude<ShowWord, "all">,
  home: string,
  request: AgentRequest,
): Promise<{ doc: unknown; lines: string[] }> {
  switch (word) {
    case "filters": {
      const mm = await request(home, "mmfilter");
      const qm = await request(home, "qmfilter");
      return {
        doc: { mmfilter: mm, qmfilter: qm },
        lines: [...formatMmFilters(mm), "", ...formatQmFilters(qm)],
      };
    }
    case "policies": {
      const qm = await request(home, "qmfilter");
      return { doc: qm, lines: formatPolicies(qm) };
    }
    case "auth": {
      const mm = await request(home, "mmfilter");
      return { doc: mm, lines: formatAuth(mm) };
    }
    case "stats": {
      const s = await request(home, "dstats");
      return { doc: s, lines: formatStats(s, "all") };
    }
    case "sas": {
      const mm = await request(home, "mmsas");
      const qm = await request(home, "qmsas");
      return {
        doc: { mmsas: mm, qmsas: qm },
        lines: [...formatMmSas(mm, "list"), "", ...formatQmSas(qm, "list")],
      };
    }
  }
}

export async function runShow(
  env: CliEnv,
  what: readonly ShowWord[],
  request: AgentRequest,
): Promise<void> {
  const words = what.includes("all") ? SHOW_WORDS.filter((w) => w !== "all") : [...new Set(what)];
  const doc: Record<string, unknown> = {};
  const lines: string[] = [];
  for (const w of words as Exclude<ShowWord, "all">[]) {
    const s = await section(w, env.home, request);
    doc[w] = s.doc;
    if (lines.length > 0) lines.push("");
    lines.push(...s.lines);
  }
  env.out(env.json ? JSON.stringify(doc, null, 2) : lines.join("\n"));
}
