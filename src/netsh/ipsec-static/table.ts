/**
 * `show ... format=table`: one row per object under a header and a dashed rule, as 2003's
 * netsh prints tables. wide=yes (the default) widens columns to fit; wide=no keeps every
 * column at its narrow width and cuts longer values with "...".
 */
import { formatAddressSpec } from "../../policy/address.js";
import type {
  Filter,
  FilterAction,
  FilterList,
  Policy,
  PolicyStore,
  Rule,
} from "../../policy/model.js";
import { formatQmSecMethod } from "../../policy/secmethods.js";
import { formatTime, portLabel, protocolLabel, yesNo } from "./render.js";

export interface Column {
  title: string;
  /** Width when wide=no. */
  narrow: number;
}

function cut(s: string, w: number): string {
  return s.length <= w ? s : `${s.slice(0, Math.max(0, w - 3))}...`;
}

export function table(cols: readonly Column[], rows: readonly string[][], wide: boolean): string[] {
  const widths = cols.map((c, i) =>
    wide ? Math.max(c.title.length, ...rows.map((r) => (r[i] ?? "").length)) : c.narrow,
  );
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => {
        const w = widths[i] as number;
        return (wide ? c : cut(c, w)).padEnd(w);
      })
      .join("  ")
      .trimEnd();
  return [
    line(cols.map((c) => c.title)),
    widths.map((w) => "-".repeat(w)).join("  "),
    ...rows.map(line),
  ];
}

export function policyTable(ps: readonly Policy[], wide: boolean): string[] {
  return table(
    [
      { title: "Policy Name", narrow: 30 },
      { title: "Last Modified", narrow: 22 },
      { title: "Assigned", narrow: 8 },
      { title: "Rules", narrow: 5 },
    ],
    ps.map((p) => [p.name, formatTime(p.lastModified), yesNo(p.assigned), String(p.rules.length)]),
    wide,
  );
}

export function filterListTable(fls: readonly FilterList[], wide: boolean): string[] {
  return table(
    [
      { title: "FilterList Name", narrow: 30 },
      { title: "No. of Filters", narrow: 14 },
      { title: "Last Modified", narrow: 22 },
    ],
    fls.map((f) => [f.name, String(f.filters.length), formatTime(f.lastModified)]),
    wide,
  );
}

export function filterTable(fs: readonly Filter[], wide: boolean): string[] {
  return table(
    [
      { title: "Source", narrow: 20 },
      { title: "Destination", narrow: 20 },
      { title: "Protocol", narrow: 8 },
      { title: "SrcPort", narrow: 7 },
      { title: "DstPort", narrow: 7 },
      { title: "Mirrored", narrow: 8 },
    ],
    fs.map((f) => [
      formatAddressSpec(f.src),
      formatAddressSpec(f.dst),
      protocolLabel(f.protocol),
      portLabel(f.srcPort),
      portLabel(f.dstPort),
      yesNo(f.mirrored),
    ]),
    wide,
  );
}

export function filterActionTable(fas: readonly FilterAction[], wide: boolean): string[] {
  return table(
    [
      { title: "FilterAction Name", narrow: 30 },
      { title: "Action", narrow: 9 },
      { title: "Security Methods", narrow: 30 },
    ],
    fas.map((f) => [
      f.name,
      f.action.toUpperCase(),
      f.action === "negotiate" ? f.qmSecMethods.map(formatQmSecMethod).join(" ") : "",
    ]),
    wide,
  );
}

export function ruleTable(rules: readonly Rule[], store: PolicyStore, wide: boolean): string[] {
  return table(
    [
      { title: "ID", narrow: 3 },
      { title: "Rule Name", narrow: 20 },
      { title: "FilterList", narrow: 20 },
      { title: "FilterAction", narrow: 20 },
      { title: "Tunnel", narrow: 15 },
      { title: "Activated", narrow: 9 },
    ],
    rules.map((r) => [
      String(r.id),
      r.name,
      store.filterLists.find((x) => x.guid === r.filterList)?.name ?? "?",
      store.filterActions.find((x) => x.guid === r.filterAction)?.name ?? "?",
      r.tunnel ?? "NONE",
      yesNo(r.active),
    ]),
    wide,
  );
}
