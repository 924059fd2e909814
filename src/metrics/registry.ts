/**
 * Metrics read from state the process already keeps, at scrape time (the pull model of
 * node_exporter and strongSwan's exporters): the agent's control answers, the KDC's and the
 * DNS server's counters. Nothing on the packet path or in an exchange is added for them.
 *
 * prom-client (docs/dependencies.md) writes the text format; each metric here is a
 * prom-client metric whose collect() copies one value per label set out of the snapshot
 * that `load` took for this scrape, so a label set that disappeared (a deleted SA) is
 * gone from the next scrape, and a counter is exactly the count the process keeps.
 */
import client from "prom-client";

export type Labels = Record<string, string>;
export type Sample = readonly [Labels, number];

export interface MetricSpec<S> {
  name: string;
  help: string;
  type: "counter" | "gauge";
  labelNames?: readonly string[];
  /** The samples of this metric in snapshot `s` (an unlabelled metric: one sample, `{}`). */
  read: (s: S) => Iterable<Sample>;
}

export interface MetricsSource {
  /** The exposition text (Prometheus text format 0.0.4). */
  render(): Promise<string>;
  contentType: string;
}

/**
 * A registry over `specs`; `load` takes the snapshot of one scrape. Scrapes are serialised,
 * so each one's metrics come from one snapshot.
 */
export function createMetrics<S>(
  load: () => Promise<S> | S,
  specs: MetricSpec<S>[],
): MetricsSource {
  const registry = new client.Registry();
  let current: S | undefined;
  for (const spec of specs) {
    const labelNames = [...(spec.labelNames ?? [])];
    const read = () => (current === undefined ? [] : spec.read(current));
    if (spec.type === "counter") {
      new client.Counter({
        name: spec.name,
        help: spec.help,
        labelNames,
        registers: [registry],
        collect() {
          this.reset();
          for (const [labels, v] of read()) if (v > 0) this.inc(labels, v);
          // An unlabelled counter is shown at 0 too (reset() leaves it at 0).
        },
      });
    } else {
      new client.Gauge({
        name: spec.name,
        help: spec.help,
        labelNames,
        registers: [registry],
        collect() {
          this.reset();
          for (const [labels, v] of read()) this.set(labels, v);
        },
      });
    }
  }
  let chain: Promise<unknown> = Promise.resolve();
  return {
    contentType: registry.contentType,
    render() {
      const next = chain.then(async () => {
        current = await load();
        try {
          return await registry.metrics();
        } finally {
          current = undefined;
        }
      });
      chain = next.catch(() => undefined);
      return next;
    },
  };
}

/** The samples of a `{key: count}` record under one label (e.g. reason). */
export function byLabel(
  label: string,
  counts: Record<string, number> | undefined,
  extra: Labels = {},
): Sample[] {
  return Object.entries(counts ?? {}).map(([k, v]) => [{ ...extra, [label]: k }, v] as const);
}

/** How many items fall in each label set (a gauge of counts, e.g. SAs by state). */
export function countBy<T>(items: Iterable<T>, labels: (t: T) => Labels): Sample[] {
  const m = new Map<string, [Labels, number]>();
  for (const t of items) {
    const l = labels(t);
    const k = JSON.stringify(l);
    const e = m.get(k);
    if (e) e[1]++;
    else m.set(k, [l, 1]);
  }
  return [...m.values()];
}

/** `{"A B": n}` as samples labelled `{[a]: A, [b]: B}` (keys split at the first space). */
export function pairs(a: string, b: string, counts: Record<string, number>): Sample[] {
  return Object.entries(counts).map(([k, v]) => {
    const i = k.indexOf(" ");
    return [{ [a]: i < 0 ? k : k.slice(0, i), [b]: i < 0 ? "" : k.slice(i + 1) }, v] as const;
  });
}
