/**
 * The authoritative answer to one DNS message (RFC 1034 4.3.2, RFC 1035 4.1), pure: bytes
 * in, bytes out (or nothing), with a counter per outcome. Wire encoding is dns-packet's.
 *
 *  1. decode; a message that does not decode is counted `malformed` and answered FORMERR
 *     when its 12-byte header is there (so the client stops waiting), else dropped;
 *  2. responses are dropped; opcode UPDATE (RFC 2136) is REFUSED: we accept no unsigned
 *     updates and do not implement TSIG/GSS-TSIG, hosts update through the API; any other
 *     opcode but QUERY is NOTIMP; not exactly one question is FORMERR;
 *  3. a name outside the zone is REFUSED (we are not a resolver: no recursion, RA clear);
 *     AXFR/IXFR are REFUSED; a class other than IN is REFUSED;
 *  4. in the zone: the records of that name and type (ANY: all) with AA set; a name that
 *     exists with none of that type is NODATA (NOERROR, SOA in authority); a name that does
 *     not exist is NXDOMAIN with the SOA in authority (RFC 2308);
 *  5. names under in-addr.arpa and ip6.arpa are answered the same way (AA, NXDOMAIN/NODATA
 *     with an SOA) from the zone's A/AAAA records: PTR to every host name holding the
 *     address (reverse.ts); the SOA is the zone's, owned by the reverse apex;
 *  6. SRV and NS answers carry the targets' addresses as additional records; over UDP an
 *     answer larger than 512 bytes (or the EDNS size offered, at most 1232) is sent empty
 *     with TC set, so the client retries over TCP.
 */
import dnsPacket, {
  type Answer,
  type DecodedPacket,
  type Question,
  type SoaAnswer,
} from "dns-packet";
import {
  addressOfReverseName,
  parseReverseName,
  type ReverseApex,
  type ReverseName,
  reverseApexOf,
} from "./reverse.js";

export interface ZoneSource {
  /** The zone's apex, lower case, no trailing dot. */
  origin(): string;
  soa(): SoaAnswer;
  /** Every record owned by `name` (lower case). */
  recordsAt(name: string): Answer[];
  /** True when `name` owns records or has a descendant that does. */
  nameExists(name: string): boolean;
  /** Host names whose A/AAAA record holds `address` (canonical text), in answer order. */
  namesWithAddress(address: string): { name: string; ttl: number }[];
  /** True when some A/AAAA record of the zone holds an address within the reverse prefix. */
  hasAddressIn(prefix: ReverseName): boolean;
}

export const DNS_OUTCOMES = [
  "answered",
  "nodata",
  "nxdomain",
  "refused-outside-zone",
  "refused-update",
  "refused-other",
  "formerr",
  "notimp",
  "malformed",
  "dropped-response",
  "truncated",
] as const;
export type DnsOutcome = (typeof DNS_OUTCOMES)[number];
export type DnsStats = Record<DnsOutcome, number>;

export function newDnsStats(): DnsStats {
  return Object.fromEntries(DNS_OUTCOMES.map((o) => [o, 0])) as DnsStats;
}

const RCODE = { NOERROR: 0, FORMERR: 1, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const;
const RCODE_NAME: Record<number, string> = Object.fromEntries(
  Object.entries(RCODE).map(([k, v]) => [v, k]),
);
const OPCODE: Record<string, number> = { QUERY: 0, IQUERY: 1, STATUS: 2, NOTIFY: 4, UPDATE: 5 };
const UDP_MIN = 512;
const UDP_MAX = 1232;

/** A header-only reply for a message we could not decode: same id, QR, FORMERR. */
function formErrFromHeader(msg: Buffer): Buffer {
  const out = Buffer.alloc(12);
  out.writeUInt16BE(msg.readUInt16BE(0), 0);
  out.writeUInt16BE(0x8000 | (msg.readUInt16BE(2) & 0x7800) | RCODE.FORMERR, 2);
  return out;
}

/**
 * Whether a decoded name can be echoed as it was asked. dns-packet decodes label bytes as
 * UTF-8 and joins labels with "." unescaped: bytes that are not UTF-8 come back as U+FFFD
 * (3 bytes each, so a 63-byte label re-encodes longer than RFC 1035's 63), and a "." inside
 * a label re-encodes as an empty label that ends the name early; either reply is one no
 * client can parse.
 */
function echoable(name: string): boolean {
  if (name === "." || name === "") return true;
  if (name.includes("\ufffd")) return false;
  return name.split(".").every((label) => label !== "" && Buffer.byteLength(label) <= 63);
}

function inZone(name: string, origin: string): boolean {
  return name === origin || name.endsWith(`.${origin}`);
}

interface Reply {
  rcode: number;
  aa: boolean;
  answers: Answer[];
  authorities: Answer[];
  additionals: Answer[];
  outcome: DnsOutcome;
}

function resolve(q: Question, zone: ZoneSource): Reply {
  const name = q.name.toLowerCase().replace(/\.$/, "");
  const empty = { answers: [], authorities: [], additionals: [] };
  const reverse = reverseApexOf(name);
  if (!reverse && !inZone(name, zone.origin()))
    return { rcode: RCODE.REFUSED, aa: false, ...empty, outcome: "refused-outside-zone" };
  if (
    q.type === "AXFR" ||
    q.type === "IXFR" ||
    (q.class !== undefined && q.class !== "IN" && q.class !== "ANY")
  ) {
    return { rcode: RCODE.REFUSED, aa: false, ...empty, outcome: "refused-other" };
  }
  if (reverse) return resolveReverse(q, name, reverse, zone);
  return fromRecords(q, zone.recordsAt(name), () => zone.nameExists(name), zone.soa(), zone);
}

/** Reverse names: derived from the forward zone's A/AAAA records (reverse.ts). */
function resolveReverse(q: Question, name: string, apex: ReverseApex, zone: ZoneSource): Reply {
  const soa: SoaAnswer = { ...zone.soa(), name: apex };
  const parsed = parseReverseName(name);
  const records: Answer[] = [];
  if (name === apex) {
    records.push(soa, { type: "NS", name: apex, ttl: 3600, data: zone.soa().data.mname });
  }
  const address = parsed ? addressOfReverseName(parsed) : null;
  if (address) {
    for (const h of zone.namesWithAddress(address))
      records.push({ type: "PTR", name, ttl: h.ttl, data: h.name });
  }
  const exists = () => parsed !== null && zone.hasAddressIn(parsed);
  return fromRecords(q, records, exists, soa, zone);
}

/** The answer from the records a name owns: answered, NODATA or NXDOMAIN (RFC 2308). */
function fromRecords(
  q: Question,
  all: Answer[],
  exists: () => boolean,
  soa: Answer,
  zone: ZoneSource,
): Reply {
  const answers = (q.type as string) === "ANY" ? all : all.filter((r) => r.type === q.type);
  if (answers.length > 0)
    return {
      rcode: RCODE.NOERROR,
      aa: true,
      answers,
      authorities: [],
      additionals: glue(answers, zone),
      outcome: "answered",
    };
  const authorities = [soa];
  if (all.length > 0 || exists())
    return {
      rcode: RCODE.NOERROR,
      aa: true,
      answers: [],
      authorities,
      additionals: [],
      outcome: "nodata",
    };
  return {
    rcode: RCODE.NXDOMAIN,
    aa: true,
    answers: [],
    authorities,
    additionals: [],
    outcome: "nxdomain",
  };
}

function glue(answers: Answer[], zone: ZoneSource): Answer[] {
  const targets = new Set<string>();
  for (const a of answers) {
    if (a.type === "SRV") targets.add(a.data.target.toLowerCase());
    if (a.type === "NS") targets.add(String(a.data).toLowerCase());
  }
  return [...targets].flatMap((t) =>
    zone.recordsAt(t).filter((r) => r.type === "A" || r.type === "AAAA"),
  );
}

/**
 * Answers one message. `udp`: the transport is UDP (size limits and TC apply; an answer
 * more than `maxUdpAmplification` times the query's size is truncated too, so a spoofed
 * source never gets a large answer to a small question). Returns null when nothing is to
 * be sent.
 */
export function answerMessage(
  msg: Buffer,
  zone: ZoneSource,
  stats: DnsStats,
  udp: boolean,
  maxUdpAmplification = Number.POSITIVE_INFINITY,
  /** Answered queries counted by "TYPE RCODE" (metrics), when given. */
  queries?: Record<string, number>,
): Buffer | null {
  let query: DecodedPacket;
  try {
    query = dnsPacket.decode(msg);
  } catch {
    stats.malformed++;
    return msg.length >= 12 && (msg.readUInt16BE(2) & 0x8000) === 0 ? formErrFromHeader(msg) : null;
  }
  if (query.type === "response") {
    stats["dropped-response"]++;
    return null;
  }
  if (!(query.questions ?? []).every((q) => echoable(q.name))) {
    stats.malformed++;
    return formErrFromHeader(msg);
  }
  const opcodeName = (query as { opcode?: string }).opcode ?? "QUERY";
  const opcode = OPCODE[opcodeName] ?? 0;
  const questions = query.questions ?? [];
  const opt = (query.additionals ?? []).find((a) => a.type === "OPT");
  let reply: Reply;
  if (opcodeName === "UPDATE") {
    reply = {
      rcode: RCODE.REFUSED,
      aa: false,
      answers: [],
      authorities: [],
      additionals: [],
      outcome: "refused-update",
    };
  } else if (opcodeName !== "QUERY") {
    reply = {
      rcode: RCODE.NOTIMP,
      aa: false,
      answers: [],
      authorities: [],
      additionals: [],
      outcome: "notimp",
    };
  } else if (questions.length !== 1) {
    reply = {
      rcode: RCODE.FORMERR,
      aa: false,
      answers: [],
      authorities: [],
      additionals: [],
      outcome: "formerr",
    };
  } else {
    reply = resolve(questions[0] as Question, zone);
  }
  const rd = (query.flags ?? 0) & dnsPacket.RECURSION_DESIRED;
  const edns: Answer[] = opt
    ? [
        {
          type: "OPT",
          name: ".",
          udpPayloadSize: UDP_MAX,
          extendedRcode: 0,
          ednsVersion: 0,
          flags: 0,
          flag_do: false,
          options: [],
        },
      ]
    : [];
  const build = (r: Reply, tc: boolean) =>
    dnsPacket.encode({
      type: "response",
      id: query.id ?? 0,
      flags:
        (opcode << 11) |
        (r.aa ? dnsPacket.AUTHORITATIVE_ANSWER : 0) |
        (tc ? dnsPacket.TRUNCATED_RESPONSE : 0) |
        rd |
        r.rcode,
      questions: opcodeName === "QUERY" ? questions : [],
      answers: r.answers,
      authorities: r.authorities,
      additionals: [...r.additionals, ...edns],
    });
  let out = build(reply, false);
  const limit = udp
    ? Math.min(
        opt && "udpPayloadSize" in opt
          ? Math.min(Math.max(opt.udpPayloadSize, UDP_MIN), UDP_MAX)
          : UDP_MIN,
        maxUdpAmplification * msg.length,
      )
    : 65535;
  if (out.length > limit) {
    stats.truncated++;
    out = build({ ...reply, answers: [], authorities: [], additionals: [] }, true);
  }
  stats[reply.outcome]++;
  if (queries) {
    const key = `${questions.length === 1 ? (questions[0] as Question).type : "-"} ${RCODE_NAME[reply.rcode] ?? reply.rcode}`;
    queries[key] = (queries[key] ?? 0) + 1;
  }
  return out;
}
