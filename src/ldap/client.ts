/**
 * postern's LDAPv3 client for Active Directory (Samba AD, Windows AD), as adcli uses it:
 *
 *   1. a service ticket for ldap/<dc fqdn>@REALM from our own Kerberos client (a TGT from a
 *      password, a keytab, a ccache, or one the caller already holds);
 *   2. TCP to the DC (389), SASL GSSAPI bind with mutual authentication and a sealed
 *      security layer (sasl-gssapi.ts): no password and no attribute value in clear;
 *   3. operations: search (paged, RFC 2696, so AD's 1000-entry limit is not hit), add,
 *      modify, delete, the rootDSE; a result other than success is an LdapError naming the
 *      operation, the DN, the result code and the server's diagnostic, on one line.
 */
import { randomBytes } from "../crypto/primitives.js";
import { findTgt, offsetFromHeader } from "../kerberos/client/cache.js";
import { createKerberosClient, KdcError, type KerberosClient } from "../kerberos/client/index.js";
import { KRB_ERROR_CODE } from "../kerberos/messages/error-codes.js";
import { type Credential, readCcacheFile } from "../kerberos/files/ccache.js";
import { readKeytabFile } from "../kerberos/files/keytab.js";
import { NAME_TYPE, parsePrincipal, type Principal } from "../kerberos/principal.js";
import { createKdcTransport, createNodeKdcIo, TransportError } from "../kerberos/transport.js";
import { PosternError } from "../errors.js";
import { type Conn, openConn, type Response } from "./conn.js";
import { LdapError, LOCAL_CODE, resultName } from "./errors.js";
import {
  addRequest,
  type Change,
  type Control,
  decodeEntry,
  deleteRequest,
  modifyRequest,
  pagedCookie,
  pagedControl,
  saslBind,
  searchRequest,
  type Scope,
  unbind,
} from "./messages.js";
import { createGssapiClient } from "./sasl-gssapi.js";

export { childDn, domainToDn, escapeDnValue } from "./dn.js";
export { LdapError } from "./errors.js";
export { encodeFilter, escapeFilterValue } from "./filter.js";
export type { Control } from "./messages.js";

export interface LdapEntry {
  dn: string;
  /** Attribute names lower-cased; values as the server sent them. */
  attributes: Map<string, Buffer[]>;
}

/** The first value of `attr` as UTF-8 text, or undefined when the entry has none. */
export function firstText(e: LdapEntry, attr: string): string | undefined {
  return e.attributes.get(attr.toLowerCase())?.[0]?.toString("utf8");
}

export interface LdapModification {
  op: "add" | "delete" | "replace";
  type: string;
  values: (string | Buffer)[];
}

export interface SearchOptions {
  base: string;
  scope: Scope;
  filter: string;
  attributes?: string[];
  /** Extra request controls (the paged-results control is added by the client). */
  controls?: Control[];
  /** Entries per page (RFC 2696); default 500, 0 = one unpaged request. */
  pageSize?: number;
}

export interface LdapConnection {
  search(o: SearchOptions): Promise<LdapEntry[]>;
  add(dn: string, attributes: Record<string, (string | Buffer)[]>): Promise<void>;
  modify(dn: string, changes: LdapModification[]): Promise<void>;
  delete(dn: string): Promise<void>;
  /** The rootDSE: defaultNamingContext, dnsHostName, configurationNamingContext, ... */
  rootDse(): Promise<LdapEntry>;
  /** The principal we are bound as. */
  readonly boundAs: Principal;
  /** The KDC's clock minus ours, as Kerberos learned it (KRB_AP_ERR_SKEW); 0 when in step. */
  readonly clockOffsetMs: number;
  close(): Promise<void>;
}

/** Who binds: a TGT comes from one of these, then a ticket for ldap/<dcName>. */
export type LdapCredentials =
  | { kind: "password"; principal: string; password: string }
  | { kind: "keytab"; principal: string; keytab: string }
  /** A ccache file (MIT v4, as `kinit` or postern's machine TGT writes it). */
  | { kind: "ccache"; ccache: string }
  | { kind: "tgt"; tgt: Credential; timeOffsetMs?: number };

export interface ConnectOptions {
  host: string;
  port?: number;
  /** The DC's fqdn: the service ticket is for ldap/<dcName>. */
  dcName: string;
  credentials: LdapCredentials;
  /** The KDC to ask (default: the DC itself, port 88: every AD DC is a KDC). */
  kdc?: { host: string; port?: number };
  /** Per request and for the connection (default 10 s). */
  timeoutMs?: number;
  /** Every byte sent and received, as on the wire (tests check the sealing). */
  onWire?: (direction: "out" | "in", bytes: Buffer) => void;
}

export const LDAP_PORT = 389;
export const DEFAULT_PAGE_SIZE = 500;

/** REALM from a DC's fqdn: everything after the first label, upper-cased. */
function realmOf(dcName: string): string {
  const dot = dcName.indexOf(".");
  if (dot < 0) throw new LdapError(34, `LDAP: the DC name ${dcName} is not a fully qualified name`);
  return dcName
    .slice(dot + 1)
    .replace(/\.$/, "")
    .toUpperCase();
}

/** Kerberos failures as LdapErrors: 91 when no KDC answers, 49 for a refused login. */
function asLdapError(e: unknown): unknown {
  if (e instanceof LdapError) return e;
  if (e instanceof TransportError) return new LdapError(LOCAL_CODE.connectError, e.message);
  if (e instanceof PosternError) return new LdapError(49, `Kerberos: ${e.message}`);
  return e;
}

/** The ticket for the DC and the KDC's clock minus ours (the authenticator must use it). */
async function serviceTicket(o: ConnectOptions): Promise<{ ticket: Credential; offsetMs: number }> {
  const realm = realmOf(o.dcName);
  const kdc = { host: o.kdc?.host ?? o.host, port: o.kdc?.port ?? 88 };
  const c = o.credentials;
  let offset = c.kind === "tgt" ? (c.timeOffsetMs ?? 0) : 0;
  let tgt: Credential;
  if (c.kind === "ccache") {
    const cc = readCcacheFile(c.ccache.includes(":") ? c.ccache : `FILE:${c.ccache}`);
    offset = offsetFromHeader(cc);
    tgt = findTgt(cc, Date.now() + offset, c.ccache);
  } else if (c.kind === "tgt") {
    tgt = c.tgt;
  }
  const client: KerberosClient = createKerberosClient({
    transport: createKdcTransport({
      io: createNodeKdcIo(),
      kdcsOf: () => [kdc],
      // AD's AS-REPs carry a PAC and never fit UDP (interop notes): TCP from the start
      udpPreferenceLimit: 1,
      timeoutMs: Math.min(o.timeoutMs ?? 10_000, 3000),
    }),
    now: Date.now,
    randomBytes,
    timeOffsetMs: offset,
  });
  if (c.kind === "password" || c.kind === "keytab") {
    const principal = parsePrincipal(c.principal, realm);
    const keys =
      c.kind === "password"
        ? ({ kind: "password", password: c.password } as const)
        : ({ kind: "keytab", keytab: readKeytabFile(`FILE:${c.keytab}`) } as const);
    tgt = (await client.login({ client: principal, keys })).tgt;
  }
  const spn = (service: string): Principal => ({
    realm: tgt!.server.realm || realm,
    name: { nameType: NAME_TYPE.NT_SRV_HST, nameString: [service, o.dcName.toLowerCase()] },
  });
  let ticket: Credential;
  try {
    ticket = await client.getServiceTicket(tgt!, spn("ldap"));
  } catch (e) {
    // A Samba DC run without its dnsupdate service never registers ldap/<fqdn>
    // (samba_spnupdate does); host/<fqdn> names the same account, whose keys LDAP accepts.
    if (!(e instanceof KdcError && e.errorCode === KRB_ERROR_CODE.KDC_ERR_S_PRINCIPAL_UNKNOWN))
      throw e;
    ticket = await client.getServiceTicket(tgt!, spn("host"));
  }
  return { ticket, offsetMs: client.timeOffsetMs };
}

function check(r: Response, what: string): void {
  if (r.result.resultCode !== 0) {
    const diag = r.result.diagnosticMessage.trim();
    throw new LdapError(
      r.result.resultCode,
      `LDAP ${what}: ${resultName(r.result.resultCode)}${diag ? `: ${diag}` : ""}`,
    );
  }
}

/** SASL GSSAPI bind, then every message sealed. */
async function bind(conn: Conn, ticket: Credential, offsetMs: number, where: string) {
  const gss = createGssapiClient({ ticket, nowMs: Date.now() + offsetMs, randomBytes });
  let creds: Buffer | undefined = gss.initial();
  for (let step = 0; step < 4; step++) {
    const r = await conn.request(saslBind("GSSAPI", creds));
    if (r.result.resultCode === 0) {
      conn.seal(gss.session());
      return;
    }
    if (r.result.resultCode !== 14) check(r, `bind to ${where}`);
    creds = gss.next(r.result.serverSaslCreds ?? Buffer.alloc(0));
  }
  throw new LdapError(49, `LDAP bind to ${where}: SASL GSSAPI did not finish in 4 steps`);
}

export async function connectLdap(o: ConnectOptions): Promise<LdapConnection> {
  const port = o.port ?? LDAP_PORT;
  const where = `${o.dcName} (${o.host}:${port})`;
  const timeoutMs = o.timeoutMs ?? 10_000;
  let got: Awaited<ReturnType<typeof serviceTicket>>;
  try {
    got = await serviceTicket(o);
  } catch (e) {
    throw asLdapError(e);
  }
  const ticket = got.ticket;
  const conn = await openConn(o.host, port, timeoutMs, o.onWire);
  try {
    await bind(conn, ticket, got.offsetMs, where);
  } catch (e) {
    await conn.close();
    throw e;
  }

  async function search(s: SearchOptions): Promise<LdapEntry[]> {
    const size = s.pageSize ?? DEFAULT_PAGE_SIZE;
    const out: LdapEntry[] = [];
    let cookie: Buffer = Buffer.alloc(0);
    for (;;) {
      const controls = [...(s.controls ?? []), ...(size > 0 ? [pagedControl(size, cookie)] : [])];
      const r = await conn.request(searchRequest(s), controls);
      check(r, `search ${s.filter} under ${s.base || "the rootDSE"}`);
      for (const m of r.entries) out.push(decodeEntry(m.op));
      cookie = size > 0 ? pagedCookie(r.controls) : Buffer.alloc(0);
      if (cookie.length === 0) return out;
    }
  }

  return {
    boundAs: ticket.client,
    clockOffsetMs: got.offsetMs,
    search,
    async add(dn, attributes) {
      check(await conn.request(addRequest(dn, attributes)), `add ${dn}`);
    },
    async modify(dn, changes: Change[]) {
      check(await conn.request(modifyRequest(dn, changes)), `modify ${dn}`);
    },
    async delete(dn) {
      check(await conn.request(deleteRequest(dn)), `delete ${dn}`);
    },
    async rootDse() {
      const [e] = await search({ base: "", scope: "base", filter: "(objectClass=*)", pageSize: 0 });
      if (!e) throw new LdapError(32, `LDAP ${where}: no rootDSE`);
      return e;
    },
    async close() {
      conn.send(unbind());
      await conn.close();
    },
  };
}

/**
 * The rootDSE read without a bind (RFC 4512 §5.1: AD and Samba answer it anonymously):
 * dnsHostName and defaultNamingContext of a DC known only by its address. Nothing secret
 * is asked or sent.
 */
export async function readRootDseAnonymously(
  host: string,
  port = LDAP_PORT,
  timeoutMs = 5000,
): Promise<LdapEntry> {
  const conn = await openConn(host, port, timeoutMs);
  try {
    const r = await conn.request(
      searchRequest({ base: "", scope: "base", filter: "(objectClass=*)" }),
    );
    check(r, `rootDSE of ${host}:${port}`);
    const m = r.entries[0];
    if (!m) throw new LdapError(32, `LDAP ${host}:${port}: no rootDSE`);
    return decodeEntry(m.op);
  } finally {
    await conn.close();
  }
}
