/**
 * Immediate revocation's watch on Active Directory (Samba AD, Windows AD): AD has no push
 * a member may subscribe to, so the agent polls, as the machine (its TGT from the keytab,
 * LDAP sealed with Kerberos, as gpupdate reads the GPOs: ad-gpo.ts):
 *
 *   every `pollMs` (DEFAULT_POLL_MS; MIN_POLL_MS .. MAX_POLL_MS)
 *     read the rootDSE's highestCommittedUSN; unchanged since the cursor: nothing changed;
 *     else search computers and groups with uSNChanged > cursor (a member removed from a
 *     group changes the group's uSNChanged, a disabled account or a key reset the
 *     account's): one or more found, the standings of the watched principals are read;
 *   after WAIT_MS with nothing: `standings: null`, as postern's DC answers its long poll.
 *
 * A standing (directory-watch.ts) from the account (sAMAccountName NAME$ of the realm):
 * exists, enabled (userAccountControl without ACCOUNTDISABLE 0x2), SIDs (objectSid, the
 * constructed tokenGroups of the object: nested groups, the primary group among them, and
 * the primary group from primaryGroupID besides), keySetAt (pwdLastSet, a FILETIME).
 * Principals of another realm are not answered for (that domain's DC decides them).
 *
 * One sealed connection is kept and reused; it is opened again after MAX_CONNECTION_MS
 * (AD may close a connection whose ticket expired) or after any error. A DC that fails
 * makes the next question go to the next DC: machine.json's first, then those the domain's
 * DNS names (_ldap._tcp.dc._msdcs, RFC 2782 order, asked of machine.json's DC at the first
 * question and every RELOCATE_MS, so the list is known before that DC fails); the agent
 * backs off between failures (agent/revocation.ts). Deleted accounts are not seen by the change search (AD hides
 * them), but deletion removes an account from its groups, whose change is.
 */
import { decodeSid } from "../gpipsec/secdesc.js";
import {
  connectLdap,
  domainToDn,
  escapeFilterValue,
  firstText,
  type LdapConnection,
  type LdapEntry,
} from "../ldap/client.js";
import type { DirectoryStanding, DirectoryWatch, WatchAnswer } from "./directory-watch.js";
import { locateDcs } from "./kdc-locator.js";
import type { MachineIdentity } from "./machine-keys.js";
import { DEFAULT_KDC_PORT, machineDnsResolver, machineTgt } from "./machine-tgt.js";

export const DEFAULT_POLL_MS = 2_000;
export const MIN_POLL_MS = 500;
export const MAX_POLL_MS = 60_000;
/** The domain's DCs are looked up again (SRV) after this long (the zone's SRV TTL). */
export const RELOCATE_MS = 600_000;
/** One question's bound, as postern DC's long poll (dc/api/changes.ts WAIT_MS). */
export const WAIT_MS = 10_000;
/** A connection is opened again after this long (its ticket's life is longer). */
export const MAX_CONNECTION_MS = 30 * 60_000;

const ACCOUNTDISABLE = 0x2;
/** 100 ns intervals between 1601-01-01 and 1970-01-01. */
const FILETIME_UNIX_EPOCH = 116_444_736_000_000_000n;

/** pwdLastSet (a FILETIME in decimal) as ISO 8601; 0 (must change) or absent: null. */
export function filetimeToIso(text: string | undefined): string | null {
  if (text === undefined || !/^\d+$/.test(text)) return null;
  const ft = BigInt(text);
  if (ft === 0n) return null;
  return new Date(Number((ft - FILETIME_UNIX_EPOCH) / 10_000n)).toISOString();
}

/** `NAME$@REALM` -> NAME$ when REALM is `realm` (case-insensitive); else null. */
export function samOf(principal: string, realm: string): string | null {
  const at = principal.lastIndexOf("@");
  if (at <= 0) return null;
  if (principal.slice(at + 1).toUpperCase() !== realm.toUpperCase()) return null;
  const name = principal.slice(0, at);
  return name.includes("/") ? null : name;
}

/** The search for accounts and groups changed after `usn`. */
export function changedFilter(usn: bigint): string {
  return `(&(|(objectClass=computer)(objectClass=group))(uSNChanged>=${usn + 1n}))`;
}

/** The search for the watched accounts, by sAMAccountName. */
export function accountsFilter(sams: readonly string[]): string {
  const names = sams.map((s) => `(sAMAccountName=${escapeFilterValue(s)})`).join("");
  return `(&(objectClass=user)(|${names}))`;
}

/** A standing from the account's entry and its tokenGroups (undefined entry: no account). */
export function standingOf(
  principal: string,
  e: LdapEntry | undefined,
  tokenGroups: readonly Buffer[],
): DirectoryStanding {
  if (e === undefined)
    return { principal, exists: false, enabled: false, sids: [], keySetAt: null };
  const sidBytes = e.attributes.get("objectsid")?.[0];
  const sid = sidBytes ? decodeSid(sidBytes, 0).sid : null;
  const sids = new Set<string>();
  if (sid !== null) sids.add(sid);
  for (const g of tokenGroups) sids.add(decodeSid(g, 0).sid);
  const primary = firstText(e, "primaryGroupID");
  if (sid !== null && primary !== undefined && /^\d+$/.test(primary))
    sids.add(`${sid.slice(0, sid.lastIndexOf("-"))}-${primary}`);
  const uac = Number(firstText(e, "userAccountControl") ?? 0);
  return {
    principal,
    exists: true,
    enabled: (uac & ACCOUNTDISABLE) === 0,
    sids: [...sids],
    keySetAt: filetimeToIso(firstText(e, "pwdLastSet")),
  };
}

export interface AdWatchOptions {
  /** How often the DC is asked (clamped to MIN_POLL_MS .. MAX_POLL_MS). */
  pollMs?: number;
  /** One question's bound (default WAIT_MS). */
  waitMs?: number;
  /** Told when the watch moves to another DC. */
  log?: (line: string) => void;
}

interface Dc {
  host: string;
  name: string;
  kdcPort: number;
}

export function clampPoll(ms: number | undefined): number {
  if (ms === undefined || !Number.isFinite(ms)) return DEFAULT_POLL_MS;
  return Math.min(MAX_POLL_MS, Math.max(MIN_POLL_MS, Math.round(ms)));
}

export function createAdWatch(
  home: string,
  id: MachineIdentity,
  o: AdWatchOptions = {},
): DirectoryWatch {
  const pollMs = clampPoll(o.pollMs);
  const waitMs = o.waitMs ?? WAIT_MS;
  const base = domainToDn(id.domain);
  const configured: Dc = {
    host: id.dc.host,
    name: id.dc.hostName ?? id.dc.host,
    kdcPort: id.dc.kdcPort ?? DEFAULT_KDC_PORT,
  };
  let dcs: Dc[] = [configured];
  let at = 0;
  let conn: { ldap: LdapConnection; openedAt: number; dc: Dc } | null = null;

  const drop = () => {
    const c = conn;
    conn = null;
    if (c) void c.ldap.close().catch(() => undefined);
  };

  /** The DCs to try: machine.json's, then those of DNS (a failed lookup keeps the list). */
  const relocate = async () => {
    const resolver = machineDnsResolver(id);
    if (resolver === null) return;
    try {
      const found = await locateDcs(resolver, id.domain);
      const more = found
        .filter((t) => t.addresses.length > 0)
        .map((t) => ({ host: t.addresses[0]!, name: t.target, kdcPort: DEFAULT_KDC_PORT }))
        .filter((d) => d.host !== configured.host);
      dcs = [configured, ...more];
    } catch {
      // DNS down: the DCs already known
    }
  };

  /** The long poll and the agent's probe of a new principal share one connection. */
  let opening: Promise<LdapConnection> | null = null;
  const connect = async (): Promise<LdapConnection> => {
    const dc = dcs[at % dcs.length]!;
    const tgt = await machineTgt(home, id);
    const ldap = await connectLdap({
      host: dc.host,
      dcName: dc.name,
      credentials: { kind: "tgt", tgt },
      kdc: { host: dc.host, port: dc.kdcPort },
      timeoutMs: 5_000,
    });
    conn = { ldap, openedAt: Date.now(), dc };
    return ldap;
  };
  const open = (): Promise<LdapConnection> => {
    if (conn !== null && Date.now() - conn.openedAt < MAX_CONNECTION_MS)
      return Promise.resolve(conn.ldap);
    if (opening === null) {
      drop();
      opening = connect().finally(() => {
        opening = null;
      });
    }
    return opening;
  };

  const highest = async (ldap: LdapConnection): Promise<bigint> => {
    const v = firstText(await ldap.rootDse(), "highestCommittedUSN");
    if (v === undefined || !/^\d+$/.test(v))
      throw new Error("the DC's rootDSE has no highestCommittedUSN");
    return BigInt(v);
  };

  const standings = async (
    ldap: LdapConnection,
    principals: readonly string[],
  ): Promise<DirectoryStanding[]> => {
    const bySam = new Map<string, string>();
    for (const p of principals) {
      const sam = samOf(p, id.realm);
      if (sam !== null) bySam.set(sam.toLowerCase(), p);
    }
    if (bySam.size === 0) return [];
    const entries = await ldap.search({
      base,
      scope: "sub",
      filter: accountsFilter([...bySam.keys()]),
      attributes: [
        "sAMAccountName",
        "objectSid",
        "userAccountControl",
        "pwdLastSet",
        "primaryGroupID",
      ],
    });
    const found = new Map(
      entries.map((e) => [(firstText(e, "sAMAccountName") ?? "").toLowerCase(), e]),
    );
    const out: DirectoryStanding[] = [];
    for (const [sam, principal] of bySam) {
      const e = found.get(sam);
      // tokenGroups is constructed: only a base search returns it
      const groups =
        e === undefined
          ? []
          : ((
              await ldap.search({
                base: e.dn,
                scope: "base",
                filter: "(objectClass=*)",
                attributes: ["tokenGroups"],
                pageSize: 0,
              })
            )[0]?.attributes.get("tokengroups") ?? []);
      out.push(standingOf(principal, e, groups));
    }
    return out;
  };

  const sleep = (ms: number, signal: AbortSignal) =>
    new Promise<void>((resolve) => {
      const t = setTimeout(done, ms);
      function done() {
        clearTimeout(t);
        signal.removeEventListener("abort", done);
        resolve();
      }
      signal.addEventListener("abort", done, { once: true });
    });

  const ask = async (
    cursor: string | null,
    principals: readonly string[],
    signal: AbortSignal,
  ): Promise<WatchAnswer> => {
    const ldap = await open();
    if (cursor === null) {
      const now = await highest(ldap);
      return { cursor: String(now), standings: await standings(ldap, principals) };
    }
    let usn = BigInt(cursor);
    const until = Date.now() + waitMs;
    for (;;) {
      if (signal.aborted) throw new Error("aborted");
      const now = await highest(ldap);
      if (now > usn) {
        const changed = await ldap.search({
          base,
          scope: "sub",
          filter: changedFilter(usn),
          attributes: ["uSNChanged"],
        });
        usn = now;
        if (changed.length > 0)
          return { cursor: String(usn), standings: await standings(ldap, principals) };
      }
      const left = until - Date.now();
      if (left <= 0) return { cursor: String(usn), standings: null };
      await sleep(Math.min(pollMs, left), signal);
    }
  };

  /** The DC list is read at the first question (while machine.json's DC, our DNS, is up). */
  let locatedAt = Number.NEGATIVE_INFINITY;
  const locate = async () => {
    if (Date.now() - locatedAt < RELOCATE_MS) return;
    locatedAt = Date.now();
    await relocate();
  };
  return {
    kind: "ad",
    async wait(cursor, principals, signal) {
      if (signal.aborted) throw new Error("aborted");
      await locate();
      try {
        return await ask(cursor, principals, signal);
      } catch (e) {
        const was = conn?.dc ?? dcs[at % dcs.length]!;
        drop();
        if (signal.aborted) throw e;
        at = (at + 1) % dcs.length;
        const next = dcs[at]!;
        if (next !== was) o.log?.(`revocation: ${was.name} failed; next, the DC ${next.name}`);
        throw e;
      }
    },
  };
}
