/**
 * `add filter` and `delete filter`.
 * - add: "If the filter list does not exist it will be created." Both sides are parsed by
 *   policy/address.ts; ports need TCP or UDP; the same filter twice in a list is refused.
 * - delete: removes every filter of the list that matches all the fields given (srcaddr
 *   and dstaddr required; a side given without its mask matches that address under any
 *   mask; fields not given match anything). No match is an error.
 */
import { PosternError, UsageError } from "../../errors.js";
import { checkFilterSides, parseFilterSide, type Side } from "../../policy/address.js";
import { FILTER_DEFAULTS } from "../../policy/defaults.js";
import type { AddressSpec, Filter, Protocol } from "../../policy/model.js";
import type { TagSpec } from "../args.js";
import { changeStore, type Ctx } from "./context.js";
import { bool, int, nonEmpty, type Parsed, parseArgs, str } from "./tags.js";

export const ADD_FILTER: TagSpec[] = [
  { tag: "filterlist", required: true },
  { tag: "srcaddr", required: true },
  { tag: "dstaddr", required: true },
  { tag: "description" },
  { tag: "protocol" },
  { tag: "mirrored" },
  { tag: "srcmask" },
  { tag: "dstmask" },
  { tag: "srcport" },
  { tag: "dstport" },
];

export const DELETE_FILTER: TagSpec[] = [
  { tag: "filterlist", required: true },
  { tag: "srcaddr", required: true },
  { tag: "dstaddr", required: true },
  { tag: "protocol" },
  { tag: "srcmask" },
  { tag: "dstmask" },
  { tag: "srcport" },
  { tag: "dstport" },
  { tag: "mirrored" },
];

export const PROTOCOL_NAMES: Record<string, number> = {
  any: 0,
  icmp: 1,
  tcp: 6,
  udp: 17,
  raw: 255,
};

export function parseProtocol(text: string, command: string): Protocol {
  const named = PROTOCOL_NAMES[text.toLowerCase()];
  if (named !== undefined) return named;
  if (/^\d+$/.test(text) && Number(text) <= 255) return Number(text);
  throw new UsageError(
    `${command}: protocol: expected ANY, ICMP, TCP, UDP, RAW or 0-255, got '${text}'`,
  );
}

function side(p: Parsed, s: Side): AddressSpec {
  return parseFilterSide(str(p, `${s}addr`) as string, str(p, `${s}mask`), s);
}

function checkPorts(f: Pick<Filter, "protocol" | "srcPort" | "dstPort">, command: string): void {
  if ((f.srcPort !== 0 || f.dstPort !== 0) && f.protocol !== 6 && f.protocol !== 17) {
    throw new UsageError(`${command}: srcport/dstport need protocol=TCP or UDP`);
  }
}

function prefixed(command: string, fn: () => AddressSpec): AddressSpec {
  try {
    return fn();
  } catch (e) {
    if (e instanceof UsageError) throw new UsageError(`${command}: ${e.message}`);
    throw e;
  }
}

export function parseNewFilter(p: Parsed): Filter {
  const src = prefixed(p.command, () => side(p, "src"));
  const dst = prefixed(p.command, () => side(p, "dst"));
  prefixed(p.command, () => {
    checkFilterSides(src, dst);
    return src;
  });
  const proto = str(p, "protocol");
  const f: Filter = {
    description: str(p, "description") ?? "",
    src,
    dst,
    protocol: proto === undefined ? FILTER_DEFAULTS.protocol : parseProtocol(proto, p.command),
    srcPort: int(p, "srcport", 0, 65535) ?? FILTER_DEFAULTS.srcPort,
    dstPort: int(p, "dstport", 0, 65535) ?? FILTER_DEFAULTS.dstPort,
    mirrored: bool(p, "mirrored") ?? FILTER_DEFAULTS.mirrored,
  };
  checkPorts(f, p.command);
  return f;
}

function sameFilter(a: Filter, b: Filter): boolean {
  const key = (f: Filter) =>
    JSON.stringify([f.src, f.dst, f.protocol, f.srcPort, f.dstPort, f.mirrored]);
  return key(a) === key(b);
}

export async function addFilter(ctx: Ctx, tokens: string[]): Promise<void> {
  const p = parseArgs(tokens, ADD_FILTER, "add filter");
  const listName = nonEmpty(p, "filterlist") as string;
  const filter = parseNewFilter(p);
  await changeStore(ctx, (store) => {
    let fl = store.filterLists.find((x) => x.name.toLowerCase() === listName.toLowerCase());
    if (!fl) {
      fl = {
        guid: ctx.guid(),
        name: listName,
        description: "",
        filters: [],
        lastModified: ctx.stamp(),
      };
      store.filterLists.push(fl);
    }
    if (fl.filters.some((x) => sameFilter(x, filter))) {
      throw new PosternError(
        "duplicate",
        `add filter: the same filter is already in filter list '${fl.name}'`,
      );
    }
    fl.filters.push(filter);
    fl.lastModified = ctx.stamp();
  });
}

function sideMatches(stored: AddressSpec, given: AddressSpec, maskGiven: boolean): boolean {
  if (maskGiven || stored.kind !== "subnet" || given.kind !== "subnet") {
    return JSON.stringify(stored) === JSON.stringify(given);
  }
  return stored.address === given.address && stored.family === given.family;
}

export async function deleteFilter(ctx: Ctx, tokens: string[]): Promise<void> {
  const p = parseArgs(tokens, DELETE_FILTER, "delete filter");
  const listName = str(p, "filterlist") as string;
  const src = prefixed(p.command, () => side(p, "src"));
  const dst = prefixed(p.command, () => side(p, "dst"));
  const protoText = str(p, "protocol");
  const proto = protoText === undefined ? undefined : parseProtocol(protoText, p.command);
  const sp = int(p, "srcport", 0, 65535);
  const dp = int(p, "dstport", 0, 65535);
  const mir = bool(p, "mirrored");
  const matches = (f: Filter) =>
    sideMatches(f.src, src, p.args.has("srcmask")) &&
    sideMatches(f.dst, dst, p.args.has("dstmask")) &&
    (proto === undefined || f.protocol === proto) &&
    (sp === undefined || f.srcPort === sp) &&
    (dp === undefined || f.dstPort === dp) &&
    (mir === undefined || f.mirrored === mir);
  await changeStore(ctx, (store) => {
    const fl = store.filterLists.find((x) => x.name.toLowerCase() === listName.toLowerCase());
    if (!fl)
      throw new PosternError(
        "not-found",
        `delete filter: filter list '${listName}' does not exist`,
      );
    const kept = fl.filters.filter((f) => !matches(f));
    if (kept.length === fl.filters.length) {
      throw new PosternError(
        "not-found",
        `delete filter: no filter in filter list '${fl.name}' matches`,
      );
    }
    fl.filters = kept;
    fl.lastModified = ctx.stamp();
  });
}
