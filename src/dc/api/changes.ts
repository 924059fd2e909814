/**
 * POST /v1/changes: the subscription immediate revocation waits on (agent/revocation.ts,
 * member/dc-changes.ts). A machine asks
 *   {"since": SEQ|null, "principals": ["XPCLIENT$@BIGFIRM.TEST", ...]}
 * and is answered, once a change that can alter a computer's bypass has been committed
 * after SEQ (at once when `since` is null or already behind), or after WAIT_MS with none:
 *   {"seq": SEQ', "standings": [{principal, exists, enabled, sids, keySetAt}] | null}
 * The sequence is the audit log's row id (every change writes one, in its transaction:
 * directory.ts), so a change made by any process on the database is seen: one timer per
 * DC reads the rows added since the last look, only while someone waits.
 * Bounded: WAIT_MS < the API's idle timeout; MAX_WAITERS in all and MAX_PER_MACHINE per
 * machine account (429 beyond); MAX_WATCHED principals per question; close() answers every
 * waiter (a DC that stops ends the long polls; the members reconnect with backoff).
 */
import type { Directory } from "../directory.js";
import { effectiveGroupRids } from "../groups.js";
import type { ObjectRow } from "../objects.js";
import { findObject } from "../objects.js";
import { accountSid } from "../sids.js";
import { HttpError, json, type RouteResult } from "./routes.js";

/** Changes that decide a computer's bypass: its state, its keys, the groups it is in. */
const RELEVANT = new Set([
  "computer.disable",
  "computer.enable",
  "computer.delete",
  "computer.leave",
  "computer.reset-key",
  "computer.set-enctypes",
  "group.add-member",
  "group.remove-member",
  "group.delete",
]);

/** A long poll is answered after this long with nothing (below the API's 15 s idle timeout). */
export const WAIT_MS = 10_000;
/** How often the audit log is read while someone waits. */
export const LOOK_MS = 250;
export const MAX_WAITERS = 512;
export const MAX_PER_MACHINE = 2;
/** Principals in one question. */
export const MAX_WATCHED = 256;

interface Waiter {
  since: number;
  machine: string;
  done: (seq: number) => void;
}

export interface ChangeHub {
  /** The sequence of the last relevant change (0: none since the DC started reading). */
  seq(): number;
  /** Resolves with the sequence once a relevant change is past `since`, or after `ms`. */
  waitPast(since: number, machine: string, ms: number): Promise<number>;
  waiters(): number;
  close(): void;
}

export function createChangeHub(dir: Directory): ChangeHub {
  const rows = dir.stmt("SELECT id, action FROM audit WHERE id > ? ORDER BY id");
  const top = dir.stmt("SELECT COALESCE(MAX(id), 0) AS id FROM audit");
  let scanned = (top.get() as { id: number }).id;
  let relevant = scanned;
  const waiting = new Set<Waiter>();
  let timer: NodeJS.Timeout | null = null;
  let closed = false;
  const look = () => {
    for (const r of rows.all(scanned) as { id: number; action: string }[]) {
      scanned = r.id;
      if (RELEVANT.has(r.action)) relevant = r.id;
    }
    for (const w of waiting) if (relevant > w.since) w.done(relevant);
  };
  const arm = () => {
    if (timer !== null || closed) return;
    timer = setInterval(() => {
      look();
      if (waiting.size === 0 && timer !== null) {
        clearInterval(timer);
        timer = null;
      }
    }, LOOK_MS);
  };
  return {
    seq() {
      look();
      return relevant;
    },
    waitPast(since, machine, ms) {
      look();
      // past the log's end: a database restored from a backup; the member starts over
      if (relevant > since || since > scanned || closed) return Promise.resolve(relevant);
      if (waiting.size >= MAX_WAITERS)
        throw new HttpError(429, "too many change subscriptions open", "dc.rate-limit", {
          "retry-after": "5",
        });
      let mine = 0;
      for (const w of waiting) if (w.machine === machine) mine++;
      if (mine >= MAX_PER_MACHINE)
        throw new HttpError(
          429,
          `${machine} already has ${mine} change subscriptions open`,
          "dc.rate-limit",
          { "retry-after": "5" },
        );
      return new Promise((resolve) => {
        const w: Waiter = {
          since,
          machine,
          done: (seq) => {
            clearTimeout(t);
            waiting.delete(w);
            resolve(seq);
          },
        };
        const t = setTimeout(() => w.done(relevant), ms);
        waiting.add(w);
        arm();
      });
    },
    waiters: () => waiting.size,
    close() {
      closed = true;
      if (timer !== null) clearInterval(timer);
      timer = null;
      for (const w of waiting) w.done(relevant);
    },
  };
}

/** "XPCLIENT$@REALM" or "host/xp.bigfirm.test@REALM": its account, if in this domain. */
function accountOf(dir: Directory, principal: string): ObjectRow | undefined {
  const at = principal.lastIndexOf("@");
  const name = at < 0 ? principal : principal.slice(0, at);
  if (at >= 0 && principal.slice(at + 1).toUpperCase() !== dir.domain().realm) return undefined;
  if (name.includes("/"))
    return dir
      .stmt("SELECT o.* FROM spns s JOIN objects o ON o.rid = s.rid WHERE s.spn = ?")
      .get(name) as ObjectRow | undefined;
  const row = findObject(dir, name);
  return row?.kind === "computer" || row?.kind === "user" ? row : undefined;
}

export interface Standing {
  principal: string;
  exists: boolean;
  enabled: boolean;
  sids: string[];
  keySetAt: string | null;
}

export function standingOf(dir: Directory, principal: string): Standing {
  const row = accountOf(dir, principal);
  if (row === undefined)
    return { principal, exists: false, enabled: false, sids: [], keySetAt: null };
  const domain = dir.domainSid();
  const groups = effectiveGroupRids(dir, row.rid, row.primary_group_rid);
  const reset = dir
    .stmt("SELECT MAX(at) AS at FROM audit WHERE target = ? AND action = 'computer.reset-key'")
    .get(row.sam) as { at: string | null };
  return {
    principal,
    exists: true,
    enabled: row.enabled === 1,
    sids: [row.rid, ...groups].map((rid) => accountSid(domain, rid)),
    keySetAt: reset.at,
  };
}

/** The route: the caller is a machine (routes.ts checked it). */
export async function changesRoute(
  dir: Directory,
  hub: ChangeHub,
  machine: string,
  body: Buffer,
): Promise<RouteResult> {
  const b = json(body);
  const since = b.since === null || b.since === undefined ? null : b.since;
  if (since !== null && (typeof since !== "number" || !Number.isSafeInteger(since) || since < 0))
    throw new HttpError(400, "changes: 'since' must be null or a sequence number");
  const principals = b.principals ?? [];
  if (
    !Array.isArray(principals) ||
    principals.length > MAX_WATCHED ||
    !principals.every((p) => typeof p === "string" && p.length > 0 && p.length <= 256)
  )
    throw new HttpError(
      400,
      `changes: 'principals' must be at most ${MAX_WATCHED} principal names`,
    );
  const seq = since === null ? hub.seq() : await hub.waitPast(since, machine, WAIT_MS);
  const changed = seq !== since;
  return {
    status: 200,
    body: {
      seq,
      standings: changed ? (principals as string[]).map((p) => standingOf(dir, p)) : null,
    },
  };
}
