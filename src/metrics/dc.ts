/**
 * The DC's metrics (docs/metrics.md): the KDC's, DNS server's and API's counters, read at
 * scrape time, and the directory's size.
 */
import type { KdcServerCounters } from "../kerberos/kdc/server.js";
import { byLabel, createMetrics, type MetricSpec, type MetricsSource, pairs } from "./registry.js";

export interface DcMetricSources {
  /** Absent when the DC serves no Kerberos. */
  kdc?: () => KdcServerCounters;
  dns: { stats: Record<string, number>; queries: Record<string, number> };
  api: () => Record<string, number>;
  /** Objects of the directory by kind (computers, groups, ...). */
  objects: () => Record<string, number>;
}

interface DcSnapshot {
  kdc: KdcServerCounters | null;
  dns: { stats: Record<string, number>; queries: Record<string, number> };
  api: Record<string, number>;
  objects: Record<string, number>;
}

export const DC_METRICS: MetricSpec<DcSnapshot>[] = [
  {
    name: "postern_kdc_requests_total",
    help: "Requests the KDC answered or dropped, by message type (AS-REQ, TGS-REQ, other)",
    type: "counter",
    labelNames: ["type"],
    read: (s) => byLabel("type", s.kdc?.requests),
  },
  {
    name: "postern_kdc_tickets_total",
    help: "Tickets the KDC issued, by request type and the ticket's encryption type (RFC 3961 number)",
    type: "counter",
    labelNames: ["type", "etype"],
    read: (s) => pairs("type", "etype", s.kdc?.tickets ?? {}),
  },
  {
    name: "postern_kdc_errors_total",
    help: "KRB-ERRORs the KDC sent, by RFC 4120 error name",
    type: "counter",
    labelNames: ["code"],
    read: (s) => byLabel("code", s.kdc?.errors),
  },
  {
    name: "postern_kdc_drops_total",
    help: "Requests the KDC dropped without an answer, by reason",
    type: "counter",
    labelNames: ["reason"],
    read: (s) => byLabel("reason", s.kdc?.drops),
  },
  {
    name: "postern_kdc_lookaside_hits_total",
    help: "Retransmitted requests answered from the lookaside cache",
    type: "counter",
    read: (s) => [[{}, s.kdc?.lookasideHits ?? 0]],
  },
  {
    name: "postern_kdc_tcp_rejected_total",
    help: "KDC TCP connections refused or closed by the server, by reason",
    type: "counter",
    labelNames: ["reason"],
    read: (s) => byLabel("reason", s.kdc?.tcpRejected),
  },
  {
    name: "postern_dns_queries_total",
    help: "DNS queries answered, by question type and response code",
    type: "counter",
    labelNames: ["qtype", "rcode"],
    read: (s) => pairs("qtype", "rcode", s.dns.queries),
  },
  {
    name: "postern_dns_outcomes_total",
    help: "DNS messages by outcome (answered, nxdomain, refused-update, malformed, truncated, ...)",
    type: "counter",
    labelNames: ["outcome"],
    read: (s) => byLabel("outcome", s.dns.stats),
  },
  {
    name: "postern_api_requests_total",
    help: "HTTPS API requests answered, by route and HTTP status",
    type: "counter",
    labelNames: ["route", "status"],
    read: (s) => pairs("route", "status", s.api),
  },
  {
    name: "postern_directory_objects",
    help: "Objects in the directory, by kind",
    type: "gauge",
    labelNames: ["kind"],
    read: (s) => byLabel("kind", s.objects),
  },
];

export function dcMetrics(src: DcMetricSources): MetricsSource {
  return createMetrics(
    () => ({
      kdc: src.kdc ? src.kdc() : null,
      dns: { stats: { ...src.dns.stats }, queries: { ...src.dns.queries } },
      api: src.api(),
      objects: src.objects(),
    }),
    DC_METRICS,
  );
}
