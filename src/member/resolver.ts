/**
 * A member's stub resolver for the domain's DNS (the DC's server, src/dc/dns): the agent asks
 * it for the addresses of the DNS names in its filters and, before Kerberos in IKE, for the
 * host name of a peer it knows only by address (PTR, then a ticket for host/<name>).
 *
 *  1. the question (RFC 1035 4.1.2): A for a name (a name without a dot gets `domain`
 *     appended, as Windows appends its primary DNS suffix), PTR for an address's reverse
 *     name (RFC 1035 3.5, RFC 3596 2.5), SRV for a service (RFC 2782: the records in try
 *     order, srv.ts; each target's addresses from the additional section, else asked);
 *  2. over UDP from a connected socket, a random 16-bit ID per try (RFC 5452 9.2); a
 *     datagram is taken only when it comes from the server, carries one of our IDs, is a
 *     response and repeats our question (RFC 5452 3.); anything else is ignored;
 *  3. no answer in `timeoutMs`: the next try (new ID); after `tries`, a `dns.timeout` error;
 *  4. TC set (RFC 1035 4.2.1): the same question over TCP (RFC 7766), bounded by `timeoutMs`;
 *  5. the RCODE: NOERROR gives the records (A through a CNAME chain), NXDOMAIN and NODATA
 *     give none; SERVFAIL, REFUSED and the rest are errors, as is an answer that does not
 *     decode. Every error is a ResolverError with one line naming the server and question;
 *  6. several servers (the domain's DCs): asked in order, each within its own bound
 *     (`tries` x `timeoutMs`); a server that is silent, unreachable or errs passes the
 *     question to the next, so one DC down does not stop names (a PTR for a peer never seen
 *     before) while another DC's DNS answers. The server that answered is asked first from
 *     then on, as Windows' DNS client moves a failing server down its list, so a dead DC
 *     costs its bound once, not per question. NXDOMAIN and NODATA are answers: not passed on.
 */
import * as dgram from "node:dgram";
import * as net from "node:net";
import dnsPacket, { type Answer, type DecodedPacket, type Question } from "dns-packet";
import { randomBytes } from "../crypto/primitives.js";
import { reverseNameOf } from "../dc/dns/reverse.js";
import { PosternError } from "../errors.js";
import type { PolicyStore } from "../policy/model.js";
import { orderSrv, type RandomFraction, type SrvRecord, type SrvTarget } from "./srv.js";

export type ResolverErrorCode =
  | "dns.timeout"
  | "dns.unreachable"
  | "dns.servfail"
  | "dns.refused"
  | "dns.rcode"
  | "dns.malformed"
  | "dns.bad-name";

export class ResolverError extends PosternError {
  declare readonly code: ResolverErrorCode;
  constructor(code: ResolverErrorCode, message: string) {
    super(code, message);
    this.name = "ResolverError";
  }
}

export interface DnsServer {
  /** An IP address. */
  host: string;
  port: number;
}

export interface DomainResolverOptions {
  /** The domain's DNS servers (its DCs), in the order asked (header, 6.); at least one. */
  servers: readonly DnsServer[];
  /** Wait for one try's answer (and for the TCP retry), ms. Default 2000. */
  timeoutMs?: number;
  /** UDP tries of one server before `dns.timeout` (or the next server). Default 2. */
  tries?: number;
  /** Appended to a name without a dot (the domain's DNS name). Default: none. */
  domain?: string;
  /** 16-bit query IDs; default: cryptographically random. */
  randomId?: () => number;
  /** The weighted order of SRV records (RFC 2782), uniform in [0, 1); default Math.random. */
  random?: RandomFraction;
}

export interface DomainResolver {
  /** The IPv4 addresses of `name`; [] when it does not exist or has none. */
  lookupA(name: string): Promise<string[]>;
  /** The host name of `address` (lower case, no trailing dot); null when it has none. */
  lookupPtr(address: string): Promise<string | null>;
}

/** SRV lookups (createDomainResolver's answer has them; DomainResolver stays A and PTR). */
export interface SrvResolver {
  /**
   * The servers of `name` (e.g. `_kerberos._udp.bigfirm.com`) in RFC 2782 try order, each
   * with its IPv4 addresses; [] when the name has no SRV records or says "." (no service).
   */
  lookupSrv(name: string): Promise<SrvTarget[]>;
}

const DEFAULT_TIMEOUT_MS = 2000;
const DEFAULT_TRIES = 2;
const MAX_CNAME_HOPS = 8;
const FILTER_NAME_CONCURRENCY = 8;

interface Exchange {
  server: DnsServer;
  timeoutMs: number;
  tries: number;
  randomId: () => number;
}

export function createDomainResolver(opts: DomainResolverOptions): DomainResolver & SrvResolver {
  if (opts.servers.length === 0)
    throw new ResolverError("dns.bad-name", "no DNS server given for the domain");
  for (const s of opts.servers) {
    if (net.isIP(s.host) === 0)
      throw new ResolverError("dns.bad-name", `DNS server '${s.host}' is not an IP address`);
  }
  const exchanges: Exchange[] = opts.servers.map((server) => ({
    server,
    timeoutMs: opts.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    tries: Math.max(1, opts.tries ?? DEFAULT_TRIES),
    randomId: opts.randomId ?? (() => randomBytes(2).readUInt16BE(0)),
  }));
  const ask = (q: Question) => queryInTurn(exchanges, q);
  const random = opts.random ?? Math.random;
  const lookupA = async (name: string) => {
    const qname = qualify(name, opts.domain);
    return addressesOf((await ask({ type: "A", name: qname })).answers, qname);
  };
  return {
    lookupA,
    async lookupSrv(name) {
      const qname = qualify(name, undefined);
      const p = await ask({ type: "SRV", name: qname });
      const records: SrvRecord[] = [];
      for (const a of p.answers) {
        if (a.type === "SRV" && sameName(a.name, qname)) {
          const { priority = 0, weight = 0, port, target } = a.data;
          records.push({ priority, weight, port, target: canonical(target) || "." });
        }
      }
      const out: SrvTarget[] = [];
      for (const r of orderSrv(records, random)) {
        const glue = addressesOf(p.additionals, r.target);
        // a target that does not resolve is kept without addresses (its callers skip it)
        const asked = glue.length > 0 ? glue : await lookupA(r.target).catch(() => []);
        out.push({ ...r, addresses: asked });
      }
      return out;
    },
    async lookupPtr(address) {
      const qname = reverseNameOf(address.trim());
      if (!qname) {
        throw new ResolverError("dns.bad-name", `'${address}' is not an IPv4 or IPv6 address`);
      }
      const { answers } = await ask({ type: "PTR", name: qname });
      const ptr = answers.find((a) => a.type === "PTR" && sameName(a.name, qname));
      return ptr?.type === "PTR" ? canonical(ptr.data) : null;
    },
  };
}

/** The A records of `name` in `records`, through a CNAME chain there. */
function addressesOf(records: Answer[], name: string): string[] {
  let target = canonical(name);
  for (let hop = 0; hop < MAX_CNAME_HOPS; hop++) {
    const cname = records.find((a) => a.type === "CNAME" && sameName(a.name, target));
    if (cname?.type !== "CNAME") break;
    target = canonical(cname.data);
  }
  const out: string[] = [];
  for (const a of records) {
    if (a.type === "A" && sameName(a.name, target) && !out.includes(a.data)) out.push(a.data);
  }
  return out;
}

/** Lower case, no trailing dot. */
function canonical(name: string): string {
  return name.toLowerCase().replace(/\.$/, "");
}

function sameName(a: string, b: string): boolean {
  return canonical(a) === canonical(b);
}

/** RFC 1035 2.3.4: labels of 1-63 octets, a name of at most 253 characters (no root dot). */
function qualify(name: string, domain: string | undefined): string {
  const n = canonical(name.trim());
  const fq = !n.includes(".") && domain ? `${n}.${canonical(domain)}` : n;
  const labels = fq.split(".");
  if (fq.length === 0 || fq.length > 253 || labels.some((l) => l.length === 0 || l.length > 63)) {
    throw new ResolverError("dns.bad-name", `'${name}' is not a valid DNS name`);
  }
  return fq;
}

function questionAt(ex: Exchange, q: Question): string {
  return `${ex.server.host}:${ex.server.port} for ${q.name} ${q.type}`;
}

interface Sections {
  answers: Answer[];
  additionals: Answer[];
}

/**
 * One question to the servers in turn (header, 6.): the first answer wins and its server
 * moves to the front of `exchanges`; when none answers, the one server's error, or one line
 * naming what each server did.
 */
async function queryInTurn(exchanges: Exchange[], q: Question): Promise<Sections> {
  const failed: ResolverError[] = [];
  for (const ex of [...exchanges]) {
    try {
      const r = await query(ex, q);
      const at = exchanges.indexOf(ex);
      if (at > 0) exchanges.unshift(...exchanges.splice(at, 1));
      return r;
    } catch (e) {
      if (!(e instanceof ResolverError)) throw e;
      failed.push(e);
    }
  }
  const last = failed[failed.length - 1] as ResolverError;
  if (failed.length === 1) throw last;
  throw new ResolverError(
    last.code,
    `no DNS server answered ${q.name} ${q.type}: ${failed.map((e) => e.message).join("; ")}`,
  );
}

/** One question to one server: UDP with tries, TCP when truncated. */
async function query(ex: Exchange, q: Question): Promise<Sections> {
  let p = await udpExchange(ex, q);
  if (p.flag_tc) p = await tcpExchange(ex, q);
  const rcode = (p as { rcode?: string }).rcode ?? "NOERROR";
  switch (rcode) {
    case "NOERROR":
    case "NXDOMAIN":
      return { answers: p.answers ?? [], additionals: p.additionals ?? [] };
    case "SERVFAIL":
      throw new ResolverError(
        "dns.servfail",
        `DNS server failure (SERVFAIL) at ${questionAt(ex, q)}`,
      );
    case "REFUSED":
      throw new ResolverError("dns.refused", `DNS query refused (REFUSED) by ${questionAt(ex, q)}`);
    default:
      throw new ResolverError("dns.rcode", `DNS error ${rcode} from ${questionAt(ex, q)}`);
  }
}

/** The question of a response, when it is exactly ours (RFC 5452 3.). */
function answersQuestion(p: DecodedPacket, q: Question): boolean {
  const qs = p.questions ?? [];
  const first = qs[0];
  return (
    qs.length === 1 && first !== undefined && first.type === q.type && sameName(first.name, q.name)
  );
}

function encodeQuery(id: number, q: Question): Buffer {
  return dnsPacket.encode({
    type: "query",
    id,
    flags: dnsPacket.RECURSION_DESIRED,
    questions: [{ ...q, class: "IN" }],
  });
}

function udpExchange(ex: Exchange, q: Question): Promise<DecodedPacket> {
  return new Promise((resolve, reject) => {
    const sock = dgram.createSocket(net.isIPv6(ex.server.host) ? "udp6" : "udp4");
    const ids = new Set<number>();
    let tries = 0;
    let ignored = 0;
    let timer: NodeJS.Timeout | undefined;
    let done = false;
    const finish = (err: ResolverError | null, p?: DecodedPacket) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.close();
      if (err) reject(err);
      else resolve(p as DecodedPacket);
    };
    const unreachable = (e: Error) =>
      finish(
        new ResolverError(
          "dns.unreachable",
          `DNS server unreachable at ${questionAt(ex, q)}: ${e.message}`,
        ),
      );
    const sendTry = () => {
      if (tries >= ex.tries) {
        const note = ignored > 0 ? ` (${ignored} unmatched datagrams ignored)` : "";
        const what = `after ${ex.tries} tries of ${ex.timeoutMs} ms${note}`;
        finish(new ResolverError("dns.timeout", `no DNS answer from ${questionAt(ex, q)} ${what}`));
        return;
      }
      tries++;
      let id = ex.randomId() & 0xffff;
      for (let i = 0; i < 8 && ids.has(id); i++) id = ex.randomId() & 0xffff;
      ids.add(id);
      sock.send(encodeQuery(id, q), (e) => e && unreachable(e));
      timer = setTimeout(sendTry, ex.timeoutMs);
    };
    sock.on("error", unreachable);
    sock.on("message", (msg, rinfo) => {
      if (rinfo.port !== ex.server.port || msg.length < 12 || !ids.has(msg.readUInt16BE(0))) {
        ignored++;
        return;
      }
      let p: DecodedPacket;
      try {
        p = dnsPacket.decode(msg);
      } catch (e) {
        const why = (e as Error).message;
        finish(
          new ResolverError(
            "dns.malformed",
            `malformed DNS answer from ${questionAt(ex, q)}: ${why}`,
          ),
        );
        return;
      }
      if (p.type !== "response" || !answersQuestion(p, q)) {
        ignored++;
        return;
      }
      finish(null, p);
    });
    // node calls back with the error when the connect fails (no route): nothing to send on
    sock.connect(ex.server.port, ex.server.host, (e?: Error) => (e ? unreachable(e) : sendTry()));
  });
}

/** RFC 7766 / RFC 1035 4.2.2: one length-prefixed question and answer over TCP. */
function tcpExchange(ex: Exchange, q: Question): Promise<DecodedPacket> {
  return new Promise((resolve, reject) => {
    const id = ex.randomId() & 0xffff;
    const msg = encodeQuery(id, q);
    const frame = Buffer.alloc(2 + msg.length);
    frame.writeUInt16BE(msg.length, 0);
    msg.copy(frame, 2);
    const sock = net.connect(ex.server.port, ex.server.host);
    let buf = Buffer.alloc(0);
    let done = false;
    const finish = (err: ResolverError | null, p?: DecodedPacket) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      if (err) reject(err);
      else resolve(p as DecodedPacket);
    };
    const malformed = (why: string) =>
      finish(
        new ResolverError(
          "dns.malformed",
          `malformed DNS answer over TCP from ${questionAt(ex, q)}: ${why}`,
        ),
      );
    const timer = setTimeout(
      () =>
        finish(
          new ResolverError(
            "dns.timeout",
            `no DNS answer over TCP from ${questionAt(ex, q)} in ${ex.timeoutMs} ms`,
          ),
        ),
      ex.timeoutMs,
    );
    sock.on("connect", () => sock.write(frame));
    sock.on("error", (e) =>
      finish(
        new ResolverError(
          "dns.unreachable",
          `DNS server unreachable over TCP at ${questionAt(ex, q)}: ${e.message}`,
        ),
      ),
    );
    sock.on("close", () => malformed("connection closed before the answer"));
    sock.on("data", (chunk) => {
      buf = Buffer.concat([buf, chunk]);
      if (buf.length < 2 || buf.length < 2 + buf.readUInt16BE(0)) return;
      let p: DecodedPacket;
      try {
        p = dnsPacket.decode(buf.subarray(2, 2 + buf.readUInt16BE(0)));
      } catch (e) {
        malformed((e as Error).message);
        return;
      }
      if (p.id !== id || p.type !== "response" || !answersQuestion(p, q)) {
        malformed("the answer's ID or question is not ours");
        return;
      }
      finish(null, p);
    });
  });
}

/** Every DNS name the store's filters use, as written (src/policy/model.ts AddressSpec). */
export function filterDnsNames(store: PolicyStore): string[] {
  const names = new Set<string>();
  for (const list of store.filterLists) {
    for (const f of list.filters) {
      for (const s of [f.src, f.dst]) if (s.kind === "dns") names.add(s.name);
    }
  }
  return [...names];
}

/**
 * Resolves every DNS name of the store's filters once (names that differ only in case or a
 * trailing dot share one query). `names` maps each name as written to its addresses, so the
 * caller's ExpandContext.resolve is `(n) => names.get(n) ?? []`. A name that does not
 * resolve maps to [] with a note: its filters then match nothing, as on Windows when a name
 * does not resolve at policy assignment.
 */
export async function resolveFilterNames(
  store: PolicyStore,
  resolver: DomainResolver,
): Promise<{ names: Map<string, string[]>; notes: string[] }> {
  const written = filterDnsNames(store);
  const keys = [...new Set(written.map(canonical))];
  const results = new Map<string, string[] | Error>();
  let next = 0;
  const worker = async () => {
    while (next < keys.length) {
      const key = keys[next++] as string;
      try {
        results.set(key, await resolver.lookupA(key));
      } catch (e) {
        results.set(key, e instanceof Error ? e : new Error(String(e)));
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(FILTER_NAME_CONCURRENCY, keys.length) }, worker));
  const names = new Map<string, string[]>();
  const notes: string[] = [];
  for (const name of written) {
    const r = results.get(canonical(name));
    if (Array.isArray(r) && r.length > 0) {
      names.set(name, r);
      continue;
    }
    names.set(name, []);
    const why = r instanceof Error ? r.message : "no A record";
    notes.push(`filter name '${name}' did not resolve (${why}): its filters match nothing`);
  }
  return { names, notes };
}
