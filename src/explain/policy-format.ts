/**
 * The policy step in text: every matching filter, the winner and why, and the decision
 * (`postern ipsec explain`, and `postern explain --verbose`).
 */
import type { Explanation, FilterMatch } from "../policy/evaluate.js";
import { type Flow, portText, protocolName } from "./flow.js";

function matchLines(m: FilterMatch, winner: boolean): string[] {
  const dir =
    m.direction === "mirrored"
      ? "its mirror: source and destination swapped"
      : `as written, mirrored=${m.mirrored ? "yes" : "no"}`;
  return [
    `  ${winner ? "*" : " "} weight ${m.weight}  rule "${m.rule}": filter list "${m.filterlist}" filter ${m.filterIndex} (${dir})`,
    `      ${m.src} port ${portText(m.srcPort)} -> ${m.dst} port ${portText(m.dstPort)}, protocol ${protocolName(m.protocol)} => ${m.action} ("${m.filteraction}")`,
    `      weight: ${m.weightText}`,
  ];
}

export function formatExplanation(e: Explanation, packet: Flow, me: readonly string[]): string {
  const proto = protocolName(packet.protocol);
  const lines = [
    `Packet:   ${proto} ${packet.src} port ${portText(packet.srcPort)} -> ${packet.dst} port ${portText(packet.dstPort)}`,
    `Policy:   ${e.policy === null ? "(none)" : `"${e.policy}"`}`,
    `Me:       ${me.length > 0 ? me.join(", ") : "(no address)"}`,
  ];
  if (e.matches.length > 0) {
    lines.push("Matching filters, most specific first (* = the winner):");
    for (const [i, m] of e.matches.entries()) lines.push(...matchLines(m, i === 0));
    lines.push(`Why:      ${e.reason}`);
  } else {
    lines.push("Matching filters: none");
  }
  for (const note of e.notes) lines.push(`Note:     ${note}`);
  const decision =
    e.action === "none"
      ? `none (${e.matches.length === 0 ? e.reason : "no action"})`
      : `${e.action} (rule "${e.rule}", filter action "${e.filteraction}")`;
  lines.push(`Decision: ${decision}`);
  return lines.join("\n");
}
