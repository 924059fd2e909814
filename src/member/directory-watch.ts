/**
 * What immediate revocation (agent/revocation.ts) asks of a directory, whichever it is:
 *   postern's DC  a long poll on the DC's API, as the machine (dc-changes.ts)
 *   AD / Samba    uSNChanged polling over sealed LDAP, as the machine (ad-changes.ts)
 * Both answer the same question: "has anything that decides a computer's bypass changed
 * since `cursor`? if so, where do these principals stand now?".
 */

/** A principal as the directory holds it now. */
export interface DirectoryStanding {
  /** The principal as it was asked for ("XPCLIENT$@BIGFIRM.TEST"). */
  principal: string;
  /** false: no such account any more (deleted, or never there). */
  exists: boolean;
  enabled: boolean;
  /** The account's SID and those of every group it is in, nested, its primary group too. */
  sids: string[];
  /** When its keys were last reset (ISO 8601, the directory's clock), or null: never. */
  keySetAt: string | null;
}

export interface WatchAnswer {
  /** Where the next wait starts. */
  cursor: string;
  /** The standings of the principals asked for, or null: nothing changed. */
  standings: DirectoryStanding[] | null;
}

export interface DirectoryWatch {
  /** postern-dc or ad (logs). */
  readonly kind: string;
  /**
   * Resolves when the directory changed after `cursor` (at once when `cursor` is null),
   * with the standings of `principals`; or, after the source's own bounded wait, with
   * `standings: null`. Rejects when the directory cannot be reached (the caller backs off).
   */
  wait(
    cursor: string | null,
    principals: readonly string[],
    signal: AbortSignal,
  ): Promise<WatchAnswer>;
}

/** At most this many principals in one question (the DC refuses more). */
export { MAX_WATCHED } from "../dc/api/changes.js";
