/**
 * The member's Kerberos: its machine TGT and Negotiate (RFC 4559) headers for the DC's API.
 *   machineTgt:  AS exchange with the keytab for NAME$@REALM against the domain's KDCs
 *                (machineClient: found through the SRV records of the domain's DNS,
 *                machine.json's DC address and KDC port when there are none:
 *                kdc-locator.ts), written to
 *                <home>/agent/krb5cc (ccache v4, 0600); a cached TGT is reused until it ends.
 *                The boot it was obtained in is recorded beside it (machine-boot.ts): the
 *                agent discards a TGT of an earlier boot when it starts.
 *   negotiateHeader: a service ticket for host/<dc fqdn> (TGS exchange with the TGT), an
 *                AP-REQ with mutual-required and the 0x8003 checksum (its Bnd binds the
 *                token to one request on the pinned TLS channel: src/dc/api/channel.ts),
 *                wrapped as a GSS krb5 token: `Negotiate <base64>`; `verifyMutual` checks
 *                the DC's AP-REP.
 */
import * as fs from "node:fs";
import * as net from "node:net";
import { randomBytes } from "../crypto/primitives.js";
import {
  GSS_FLAGS_MUTUAL,
  gssChecksum,
  TOK_ID,
  unwrapGssToken,
  wrapGssToken,
} from "../dc/api/gss-krb5.js";
import { DirectoryError } from "../dc/errors.js";
import { buildApReq, createKerberosClient, type KerberosClient } from "../kerberos/client/index.js";
import { verifyApRep } from "../kerberos/client/ap-req.js";
import { findTgt, newCcache } from "../kerberos/client/cache.js";
import type { Credential } from "../kerberos/files/ccache.js";
import { readCcacheFile, writeCcacheFile } from "../kerberos/files/ccache.js";
import { readKeytabFile } from "../kerberos/files/keytab.js";
import type { Authenticator } from "../kerberos/messages/authenticator.js";
import { decodeTicket } from "../kerberos/messages/index.js";
import { NAME_TYPE, type Principal } from "../kerberos/principal.js";
import { createNodeKdcIo, type KdcIo, type TransportOptions } from "../kerberos/transport.js";
import { createLocatingTransport, locateKdcs } from "./kdc-locator.js";
import { createDomainResolver, type DnsServer, type SrvResolver } from "./resolver.js";
import { type BootIdReader, readBootId, recordMachineBoot } from "./machine-boot.js";
import {
  type MachineIdentity,
  machineCcachePath,
  machineKeytabPath,
  machinePrincipal,
} from "./machine-keys.js";

export const DEFAULT_KDC_PORT = 88;

export const DEFAULT_DNS_PORT = 53;
/** Per try of one DNS server: a silent one costs 2 x this, then the next server is asked. */
const LOCATOR_DNS_TIMEOUT_MS = 1000;

export interface MachineKdcDeps {
  /** The domain's DNS; default: machine.json's DC address, port `dc.dnsPort` (absent: 53). */
  resolver?: SrvResolver | null;
  /** Per KDC attempt, ms (transport.ts's default when absent). */
  timeoutMs?: number;
  io?: KdcIo;
  onAttempt?: TransportOptions["onAttempt"];
  /** A client to reuse (machineClient's): its located KDCs and the one that answered. */
  client?: KerberosClient;
}

/** The domain's DNS servers as machine.json names them (none when the DC is a name). */
export function machineDnsServers(id: MachineIdentity): DnsServer[] {
  const hosts = id.dc.dnsServers ?? [id.dc.host];
  const port = id.dc.dnsPort ?? DEFAULT_DNS_PORT;
  return hosts.filter((h) => net.isIP(h) !== 0).map((host) => ({ host, port }));
}

/** A resolver for the domain's DNS servers of machine.json; null when it names none. */
export function machineDnsResolver(id: MachineIdentity): SrvResolver | null {
  const servers = machineDnsServers(id);
  if (servers.length === 0) return null;
  return createDomainResolver({ servers, timeoutMs: LOCATOR_DNS_TIMEOUT_MS });
}

/** A Kerberos client for the machine's realm, its KDCs found through DNS SRV records. */
export function machineClient(id: MachineIdentity, deps: MachineKdcDeps = {}): KerberosClient {
  const resolver = deps.resolver === undefined ? machineDnsResolver(id) : deps.resolver;
  const configured = { host: id.dc.host, port: id.dc.kdcPort ?? DEFAULT_KDC_PORT };
  return createKerberosClient({
    transport: createLocatingTransport({
      io: deps.io ?? createNodeKdcIo(),
      locate: () => locateKdcs({ resolver, domain: id.domain, configured }),
      ...(deps.timeoutMs !== undefined ? { timeoutMs: deps.timeoutMs } : {}),
      ...(deps.onAttempt ? { onAttempt: deps.onAttempt } : {}),
    }),
    now: Date.now,
    randomBytes,
  });
}

/**
 * The machine's TGT: the cached one while valid, else a new one from the keytab (cached,
 * with the current boot from `bootId` recorded beside it).
 */
export async function machineTgt(
  home: string,
  id: MachineIdentity,
  fresh = false,
  bootId: BootIdReader = readBootId,
  kdc: MachineKdcDeps = {},
): Promise<Credential> {
  const cc = machineCcachePath(home);
  if (!fresh && fs.existsSync(cc)) {
    try {
      return findTgt(readCcacheFile(`FILE:${cc}`), Date.now() + 60_000, cc);
    } catch {
      // expired or unreadable: get a new one
    }
  }
  const client = machinePrincipal(id.sam, id.realm);
  const keytab = readKeytabFile(`FILE:${machineKeytabPath(home)}`);
  const r = await (kdc.client ?? machineClient(id, kdc)).login({
    client,
    keys: { kind: "keytab", keytab },
  });
  writeCcacheFile(`FILE:${cc}`, newCcache(client, r.tgt, r.timeOffsetMs));
  // after the cache: a crash between the two leaves no record, which counts as an earlier boot
  recordMachineBoot(home, bootId());
  return r.tgt;
}

/** host/<dc fqdn>@REALM, the DC API's service principal. */
export function dcService(id: MachineIdentity): Principal {
  const host = id.dc.hostName;
  if (!host)
    throw new DirectoryError("dc.auth", "machine.json does not name the DC's host (join again)");
  return {
    realm: id.realm,
    name: { nameType: NAME_TYPE.NT_SRV_HST, nameString: ["host", host.toLowerCase()] },
  };
}

export interface NegotiateContext {
  header: string;
  verifyMutual(wwwAuthenticate: string | undefined): void;
}

/**
 * A Negotiate header for `service` from the machine's TGT (a TGS exchange each call);
 * `bnd` is the request's channel binding (requestBinding), zeros when absent.
 */
export async function negotiateHeader(
  home: string,
  id: MachineIdentity,
  service: Principal = dcService(id),
  bnd?: Uint8Array,
): Promise<NegotiateContext> {
  const client = machineClient(id);
  const tgt = await machineTgt(home, id, false, readBootId, { client });
  const ticket = await client.getServiceTicket(tgt, service);
  const sessionKey = { keytype: ticket.key.keytype, keyvalue: ticket.key.keyvalue };
  const ap = buildApReq({
    ticket: decodeTicket(ticket.ticket),
    sessionKey,
    client: machinePrincipal(id.sam, id.realm),
    nowMs: Date.now(),
    randomBytes,
    mutualRequired: true,
    cksum: gssChecksum(GSS_FLAGS_MUTUAL, bnd),
  });
  const token = wrapGssToken(TOK_ID.apReq, ap.bytes);
  const sent: Authenticator = ap.authenticator;
  return {
    header: `Negotiate ${Buffer.from(token).toString("base64")}`,
    verifyMutual(www) {
      const m = /^Negotiate\s+([A-Za-z0-9+/=]+)/.exec(www ?? "");
      if (!m)
        throw new DirectoryError(
          "dc.auth",
          "the DC did not answer with a Negotiate AP-REP (no mutual authentication)",
        );
      const t = unwrapGssToken(Buffer.from(m[1] as string, "base64"));
      if (typeof t === "string" || t.tokId !== TOK_ID.apRep)
        throw new DirectoryError("dc.auth", `the DC's Negotiate answer is not an AP-REP token`);
      try {
        verifyApRep(t.message, sessionKey, sent);
      } catch (e) {
        throw new DirectoryError(
          "dc.auth",
          `the DC failed mutual authentication: ${(e as Error).message}`,
        );
      }
    },
  };
}
