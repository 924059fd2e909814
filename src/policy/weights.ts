/**
 * Filter weights: how specific a filter is, so that the most specific matching filter wins
 * (Windows Server 2003 / XP SP2 "filter ordering"; see docs/policy-evaluation.md for the
 * sources and for what is measured there versus chosen here).
 *
 * A weight is a sum of points, each criterion counted on the filter as compiled (after `me`,
 * DNS names and server types became host addresses):
 *
 *   weight = 16 * (srcBits + dstBits)       address specificity, by mask
 *          +  4 * [protocol is specific]
 *          +  1 * [source port is specific]
 *          +  1 * [destination port is specific]
 *
 * srcBits/dstBits: `any` = 0; a subnet = its prefix length (a host = 32 or 128); a range =
 * the family's bits minus the bit length of (to - from), i.e. the prefix of the smallest
 * power-of-two block as large as the range. Address bits are worth 16 points each, so one more
 * mask bit always outweighs protocol and ports together (4 + 1 + 1 = 6 < 16): addresses
 * first, then protocol, then ports.
 *
 * Ties (equal weight) break by action, then by position: block before permit before
 * negotiate; then the earlier rule in the policy; then the earlier filter in its list; then
 * the filter as written before its mirror.
 *
 * Pure: no I/O.
 */
import type { FilterActionKind, IpFamily } from "./model.js";

/** Points per address bit (source or destination mask). */
export const POINTS_PER_ADDRESS_BIT = 16;
/** Points for a specific IP protocol (not "any"). */
export const POINTS_PROTOCOL = 4;
/** Points for a specific source port (not 0). */
export const POINTS_SOURCE_PORT = 1;
/** Points for a specific destination port (not 0). */
export const POINTS_DESTINATION_PORT = 1;

/** One side of a compiled filter: every address, or an inclusive range of one family. */
export type Side = { kind: "any" } | { kind: "range"; family: IpFamily; lo: bigint; hi: bigint };

export function familyWidth(family: IpFamily): number {
  return family === 4 ? 32 : 128;
}

/** Number of bits needed to write n (n >= 0): 0 -> 0, 1 -> 1, 255 -> 8. */
export function bitLength(n: bigint): number {
  return n > 0n ? n.toString(2).length : 0;
}

/** Mask bits of a side: any = 0, a host = 32/128, a /24 = 24, a range as documented above. */
export function sideBits(side: Side): number {
  if (side.kind === "any") return 0;
  const span = side.hi >= side.lo ? side.hi - side.lo : side.lo - side.hi;
  return familyWidth(side.family) - bitLength(span);
}

export interface WeightParts {
  srcBits: number;
  dstBits: number;
  /** 0 = any. */
  protocol: number;
  /** 0 = any. */
  srcPort: number;
  /** 0 = any. */
  dstPort: number;
}

/** The weight of a filter from its parts (see the formula at the top of this file). */
export function weightFromParts(p: WeightParts): number {
  return (
    POINTS_PER_ADDRESS_BIT * (p.srcBits + p.dstBits) +
    (p.protocol !== 0 ? POINTS_PROTOCOL : 0) +
    (p.srcPort !== 0 ? POINTS_SOURCE_PORT : 0) +
    (p.dstPort !== 0 ? POINTS_DESTINATION_PORT : 0)
  );
}

export interface CompiledFilterShape {
  src: Side;
  dst: Side;
  protocol: number;
  srcPort: number;
  dstPort: number;
}

export function weightParts(f: CompiledFilterShape): WeightParts {
  return {
    srcBits: sideBits(f.src),
    dstBits: sideBits(f.dst),
    protocol: f.protocol,
    srcPort: f.srcPort,
    dstPort: f.dstPort,
  };
}

/** The weight of a compiled filter. */
export function filterWeight(f: CompiledFilterShape): number {
  return weightFromParts(weightParts(f));
}

/** "16 x (0 + 32) + 4 protocol + 1 dst port = 517": how a weight was reached. */
export function describeWeight(p: WeightParts): string {
  const terms = [`${POINTS_PER_ADDRESS_BIT} x (${p.srcBits} src bits + ${p.dstBits} dst bits)`];
  if (p.protocol !== 0) terms.push(`${POINTS_PROTOCOL} protocol`);
  if (p.srcPort !== 0) terms.push(`${POINTS_SOURCE_PORT} src port`);
  if (p.dstPort !== 0) terms.push(`${POINTS_DESTINATION_PORT} dst port`);
  return `${terms.join(" + ")} = ${weightFromParts(p)}`;
}

/** Tie-break among equal weights: lower wins. Block, then permit, then negotiate. */
export const ACTION_PRECEDENCE: Readonly<Record<FilterActionKind, number>> = {
  block: 0,
  permit: 1,
  negotiate: 2,
};
