/**
 * Where a member finds its domain's KDCs and DCs: the domain's DNS SRV records, as Windows'
 * DC locator and MIT's `dns_lookup_kdc` do, so no KDC address is configured by hand.
 *   KDCs  `_kerberos._udp.<domain>` (asked over UDP, TCP after KRB_ERR_RESPONSE_TOO_BIG)
 *         then `_kerberos._tcp.<domain>` (over TCP), each in RFC 2782 order (srv.ts);
 *         the domain publishes neither (or says "." for both): the configured DC
 *         (machine.json's address and KDC port); the DNS server does not answer: the
 *         configured DC too, with a note, as a DNS outage need not stop a KDC on the DC;
 *   DCs   `_ldap._tcp.dc._msdcs.<domain>`.
 * The transport then tries that list in order, each attempt bounded by its timeout, so a
 * refused KDC costs a round trip and a silent one `timeoutMs` (src/kerberos/transport.ts).
 */
import type { KdcAddress } from "../kerberos/config.js";
import {
  createKdcTransport,
  type KdcTransport,
  TransportError,
  type TransportOptions,
} from "../kerberos/transport.js";
import type { SrvResolver } from "./resolver.js";
import { dcSrvName, kdcListOf, kerberosSrvNames, type SrvTarget } from "./srv.js";

export interface KdcLocation {
  kdcs: KdcAddress[];
  /** "srv": from the domain's SRV records; "configured": machine.json's DC. */
  source: "srv" | "configured";
  /** Why the configured DC was used (no SRV records, DNS error). */
  note?: string;
}

export interface KdcLocatorOptions {
  /** The domain's DNS (null: none known, use `configured`). */
  resolver: SrvResolver | null;
  /** The domain's DNS name. */
  domain: string;
  /** The DC of machine.json: used only when DNS names no KDC. */
  configured: KdcAddress;
}

/** The KDCs of the domain in try order (see the header). */
export async function locateKdcs(opts: KdcLocatorOptions): Promise<KdcLocation> {
  const configured = (note: string): KdcLocation => ({
    kdcs: [opts.configured],
    source: "configured",
    note,
  });
  if (opts.resolver === null) return configured("no DNS server known");
  const names = kerberosSrvNames(opts.domain);
  let udp: SrvTarget[];
  let tcp: SrvTarget[];
  try {
    [udp, tcp] = await Promise.all([
      opts.resolver.lookupSrv(names.udp),
      opts.resolver.lookupSrv(names.tcp),
    ]);
  } catch (e) {
    return configured(`SRV lookup failed: ${(e as Error).message}`);
  }
  const kdcs = kdcListOf(udp, tcp);
  if (kdcs.length === 0) return configured(`no SRV records for ${names.udp} or ${names.tcp}`);
  return { kdcs, source: "srv" };
}

/** The domain's DCs (`_ldap._tcp.dc._msdcs.<domain>`), in RFC 2782 order, with addresses. */
export function locateDcs(resolver: SrvResolver, domain: string): Promise<SrvTarget[]> {
  return resolver.lookupSrv(dcSrvName(domain));
}

export interface LocatingTransportOptions extends Omit<TransportOptions, "kdcsOf"> {
  /** The KDCs of a realm, found at the first send (a failure is asked again next time). */
  locate(realm: string): Promise<KdcLocation>;
  /** Told once per lookup where a realm's KDCs came from. */
  onLocated?(realm: string, where: KdcLocation): void;
  /** A realm's list is found again after this long (the SRV records' TTL), ms. */
  relocateAfterMs?: number;
  now?: () => number;
}

/** The zone's SRV TTL (src/dc/dns/source.ts): a new DC shows within this. */
export const DEFAULT_RELOCATE_AFTER_MS = 600_000;

interface Located {
  at: number;
  where: Promise<KdcLocation>;
  /** The KDCs in try order: the one that last answered first (a DC locator's cache). */
  order: KdcAddress[] | null;
}

/**
 * A KdcTransport whose KDC list comes from `locate` (asynchronous, unlike krb5.conf's):
 * the list is found at the first send for a realm and kept (no SRV lookup per exchange),
 * then the plain transport tries it; the KDC that answered is tried first afterwards, so a
 * dead KDC of better priority costs its timeout once per lookup, not once per exchange.
 * When every KDC of a kept list fails, the realm is located again at once and the new list
 * tried (the DCs moved or the first ones died), rather than failing until the list's TTL.
 */
export function createLocatingTransport(opts: LocatingTransportOptions): KdcTransport {
  const now = opts.now ?? Date.now;
  const ttl = opts.relocateAfterMs ?? DEFAULT_RELOCATE_AFTER_MS;
  const realms = new Map<string, Located>();
  const locatedOf = (realm: string): { located: Located; kept: boolean } => {
    const known = realms.get(realm);
    if (known !== undefined && now() - known.at < ttl) return { located: known, kept: true };
    const where = opts.locate(realm).then((w) => {
      opts.onLocated?.(realm, w);
      return w;
    });
    const fresh: Located = { at: now(), where, order: null };
    where.catch(() => realms.delete(realm));
    realms.set(realm, fresh);
    return { located: fresh, kept: false };
  };
  const sendTo = async (located: Located, realm: string, request: Uint8Array) => {
    const kdcs = located.order ?? (await located.where).kdcs;
    let answered: KdcAddress | undefined;
    const reply = await createKdcTransport({
      ...opts,
      kdcsOf: () => kdcs,
      onAttempt(proto, kdc, outcome) {
        if (outcome === "reply") answered = kdc;
        opts.onAttempt?.(proto, kdc, outcome);
      },
    }).send(realm, request);
    if (answered !== undefined) located.order = [answered, ...kdcs.filter((k) => k !== answered)];
    return reply;
  };
  return {
    async send(realm, request) {
      const { located, kept } = locatedOf(realm);
      try {
        return await sendTo(located, realm, request);
      } catch (e) {
        if (!kept || !(e instanceof TransportError) || e.code !== "kdc-unreachable") throw e;
        if (realms.get(realm) === located) realms.delete(realm);
        return sendTo(locatedOf(realm).located, realm, request);
      }
    },
  };
}
