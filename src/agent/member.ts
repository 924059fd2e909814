/**
 * The agent on a domain member: Kerberos as its IKE authentication, from the machine
 * account `postern join` left in `<home>/agent/` (machine-keys.ts).
 *   initiator  1. the responder's IKE identity is its address: its host name comes from a
 *                 PTR lookup in the domain's DNS (as Windows asks DNS for the peer's name),
 *                 kept for PTR_CACHE_MS as a DNS client caches an answer, so a DC (and
 *                 its DNS) going down does not stop new SAs with known peers while
 *                 another DC's KDC answers;
 *              2. a ticket for host/<name> from the machine cache `<home>/agent/krb5cc`
 *                 when one is still valid there, else a TGS exchange with the machine TGT
 *                 (itself from the cache, or a new AS exchange with the keytab, one
 *                 message: kerberos/client); the new tickets are stored in the cache, so
 *                 `postern klist --machine` shows them, after IKE has the ticket and
 *                 without blocking the event loop (the write's fsyncs cost 1-16 ms);
 *              Both are asked for as IKE_SA_INIT leaves (kerberos-auth.ts prepare) and
 *              logged at debug level with their times (PTR, AS, TGS);
 *   responder  3. the keytab's keys accept AP-REQs for any of our principals (NAME$,
 *                 host/NAME, host/fqdn), with one replay cache for the agent's life; the
 *                 peer's groups are the SIDs of the ticket's verified PAC.
 * Group membership thus travels in the TGT: a change is seen once the cache is purged
 * (`postern klist --machine purge`) and the next SA asks for a new TGT (DESIGN decision 7),
 * or at the next reboot: the agent discards a TGT of an earlier boot when it starts
 * (machine-boot.ts, host-policy.ts).
 */
import * as fs from "node:fs";
import { performance } from "node:perf_hooks";
import type { LogLevel } from "../platform/log.js";
import { randomBytes } from "../crypto/primitives.js";
import { type MachineIdentity, machineCcachePath, keytabWriter } from "../member/machine-keys.js";
import { machineClient } from "../member/machine-tgt.js";
import { type BootIdReader, readBootId, recordMachineBoot } from "../member/machine-boot.js";
import type { AuthMethodProvider } from "../ike/auth.js";
import { createKerberosAuth, defaultSpnOf, serviceTicketOf } from "../ike/kerberos-auth.js";
import { createReplayCache } from "../kerberos/acceptor/index.js";
import type { LoginResult } from "../kerberos/client/index.js";
import {
  findServiceTicket,
  findTgt,
  newCcache,
  storeCredential,
} from "../kerberos/client/cache.js";
import {
  type Ccache,
  type Credential,
  readCcacheFile,
  writeCcacheFileAsync,
} from "../kerberos/files/ccache.js";
import { readKeytabFile } from "../kerberos/files/keytab.js";
import { NAME_TYPE, type Principal } from "../kerberos/principal.js";
import { machineKeytabPath, machinePrincipal } from "../member/machine-keys.js";
import { parseIp } from "../policy/ip.js";
import { PosternError } from "../errors.js";

/** What the member needs of the domain's DNS. */
export interface PtrResolver {
  lookupPtr(address: string): Promise<string | null>;
}

export interface Member {
  id: MachineIdentity;
  kerberos: AuthMethodProvider;
  /** After `klist --machine purge`: forget a TGT not yet written and cancel its write. */
  forgetTickets(): void;
}

/** Milliseconds from `t0` to `t1` (default: now), to a tenth, for the debug lines. */
function elapsed(t0: number, t1 = performance.now()): string {
  return (t1 - t0).toFixed(1);
}

/** How long a peer's name from a PTR answer is reused (the domain zone's TTL, 10 min). */
export const PTR_CACHE_MS = 600_000;

/** host/<name>@REALM from "host/<name>". */
function servicePrincipal(spn: string, realm: string): Principal {
  return { realm, name: { nameType: NAME_TYPE.NT_SRV_HST, nameString: spn.split("/") } };
}

/** The machine account of `home`, or null when this host has not joined a domain. */
export function loadMember(
  home: string,
  dns: PtrResolver,
  now: () => number,
  bootId: BootIdReader = readBootId,
  log: (line: string, level?: LogLevel) => void = () => undefined,
): Member | null {
  const id = keytabWriter.read(home);
  if (id === null) return null;
  const keytab = readKeytabFile(`FILE:${machineKeytabPath(home)}`);
  const cc = machineCcachePath(home);
  // one client for the agent's life: the KDCs it located and the one that answered
  const kdcClient = machineClient(id);
  const names = new Map<string, { name: string; at: number }>();
  const spnOf = async (peerId: string): Promise<string> => {
    if (parseIp(peerId) === null) return defaultSpnOf(peerId);
    const known = names.get(peerId);
    if (known !== undefined && now() - known.at < PTR_CACHE_MS) return `host/${known.name}`;
    const t0 = performance.now();
    const name = await dns.lookupPtr(peerId);
    log(`kerberos: PTR ${peerId}: ${name ?? "no name"} (${elapsed(t0)} ms)`, "debug");
    if (name !== null) names.set(peerId, { name: name.toLowerCase(), at: now() });
    if (name === null)
      throw new PosternError(
        "agent",
        `Kerberos IKE auth: the domain's DNS has no name for ${peerId} (no PTR record), so no host/ ticket can be asked for`,
      );
    return `host/${name.toLowerCase()}`;
  };
  // The cache is written after the ticket goes to IKE, off the event loop: each atomic
  // write is two fsyncs (1-16 ms on the lab's disk), twice per new TGT, all of it on the
  // first page's path before. Until its write lands, a new TGT is kept here so SAs with
  // other peers meanwhile share it; a purge (forgetTickets) drops it and cancels the write.
  let unsaved: Credential | null = null;
  let generation = 0;
  let saving: Promise<void> = Promise.resolve();
  const cachedTgt = (cache: Ccache | null): Credential | null => {
    if (unsaved !== null && unsaved.endtime * 1000 > now() + 60_000) return unsaved;
    if (cache === null) return null;
    try {
      return findTgt(cache, now() + 60_000, cc);
    } catch {
      return null; // expired: a new AS exchange
    }
  };
  const save = (gen: number, login: LoginResult | null, cred: Credential): void => {
    saving = saving
      .then(async () => {
        if (gen !== generation) return; // purged meanwhile: the next SA asks again
        const base = login
          ? newCcache(machinePrincipal(id.sam, id.realm), login.tgt, login.timeOffsetMs)
          : readCache();
        if (base === null) return; // the cache went away (purge): the ticket served its SA
        await writeCcacheFileAsync(`FILE:${cc}`, storeCredential(base, cred));
        if (login) {
          recordMachineBoot(home, bootId());
          if (gen === generation) unsaved = null;
        }
      })
      .catch((e: Error) =>
        log(`kerberos: machine cache ${cc} not written: ${e.message}`, "warning"),
      );
  };
  const readCache = (): Ccache | null => {
    try {
      return fs.existsSync(cc) ? readCcacheFile(`FILE:${cc}`) : null;
    } catch {
      return null; // unreadable: replaced by the next write
    }
  };
  const getServiceTicket = async (spn: string) => {
    const server = servicePrincipal(spn, id.realm);
    const gen = generation;
    const cache = readCache();
    const found = cache && findServiceTicket(cache, server, now() + 60_000);
    if (found) {
      log(`kerberos: ticket for ${spn}: from the cache`, "debug");
      return serviceTicketOf(found);
    }
    const t0 = performance.now();
    let tgt = cachedTgt(cache);
    let login: LoginResult | null = null;
    if (tgt === null) {
      // no TGT (a purge, a reboot): an AS exchange with the keytab
      const keys = {
        kind: "keytab",
        keytab: readKeytabFile(`FILE:${machineKeytabPath(home)}`),
      } as const;
      login = await kdcClient.login({ client: machinePrincipal(id.sam, id.realm), keys });
      tgt = login.tgt;
      if (gen === generation) unsaved = tgt;
    }
    const t1 = performance.now();
    const cred = await kdcClient.getServiceTicket(tgt, server);
    log(
      `kerberos: ticket for ${spn}: ${login ? `AS ${elapsed(t0, t1)} ms, ` : ""}TGS ${elapsed(t1)} ms`,
      "debug",
    );
    save(gen, login, cred);
    return serviceTicketOf(cred);
  };
  const kerberos = createKerberosAuth({
    spnOf,
    initiator: { getServiceTicket, now, randomBytes },
    responder: { keytab, replayCache: createReplayCache({ now }), now, randomBytes },
  });
  const forgetTickets = () => {
    generation++;
    unsaved = null;
  };
  return { id, kerberos, forgetTickets };
}
