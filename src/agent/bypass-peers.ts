/**
 * Authenticated bypass (the article's "Allow authenticated IPsec bypass"): when an IKE SA
 * comes up whose peer proved, with Kerberos, a PAC holding a SID of the firewall's bypass
 * list (its own or a group's), the IKE SA is admitted: its child SAs are installed with
 * `admitted`, and the data path delivers their packets on the bypass device, which the
 * firewall accepts (docs/firewall.md "Bypass bound to the SA"). The decision belongs to the
 * SA, not to the peer's address: two hosts behind one NAT share an address, not an SA.
 * A peer that authenticated but is not on the list is not admitted: its decrypted packets
 * arrive on the TUN and meet the firewall's exceptions like anyone's.
 * The address also enters the firewall's bypass sets for the SA's lifetime, as a view for
 * `postern firewall peer list`; no rule matches those sets any more.
 *
 * The settings are read at each decision, so `netsh firewall set bypass` applies to the
 * next SA without an agent restart. Decisions are kept for `netsh firewall show state`.
 */
import type { LogLevel } from "../platform/log.js";
import type { BypassSet } from "../firewall/bypass.js";
import { bypassAuthorization } from "../firewall/authorize.js";
import type { FirewallSettings } from "../firewall/model.js";
import type { IkeSaInfo } from "../ike/engine.js";

export interface BypassDecision {
  address: string;
  principal: string | null;
  /** The bypass-list SID that matched, or null. */
  authorizedBy: string | null;
  why: string;
  /** The decision as a code (what the peer may be told: agent/refusal.ts). */
  code: BypassCode;
}

export const BYPASS_CODES = [
  "admitted",
  "no-settings",
  "empty-list",
  "initiator",
  "not-kerberos",
  "no-pac",
  "not-in-list",
  "revoked",
] as const;
export type BypassCode = (typeof BYPASS_CODES)[number];

/**
 * The pure decision for one established IKE SA. `revoked` is immediate revocation's word
 * (agent/revocation.ts): why the directory of now refuses the PAC's principal, or null.
 */
export function decideBypass(
  settings: FirewallSettings | null,
  sa: IkeSaInfo,
  revoked: (principal: string, authTime: string | undefined) => string | null = () => null,
): BypassDecision {
  const address = sa.remote.address;
  const id = sa.identity;
  const principal = id?.principal ?? null;
  const no = (code: BypassCode, why: string): BypassDecision => ({
    address,
    principal,
    authorizedBy: null,
    why,
    code,
  });
  if (settings === null) return no("no-settings", "no firewall settings on this host");
  if (settings.bypass.length === 0) return no("empty-list", "the firewall's bypass list is empty");
  if (sa.initiator)
    return no(
      "initiator",
      `this host started the SA: Kerberos proved ${principal ?? "the peer"}'s name to us, not its groups (only the initiator's ticket carries a PAC)`,
    );
  if (id === null || id.method !== "kerberos")
    return no("not-kerberos", `authenticated by ${sa.auth}, not Kerberos: no group SIDs to check`);
  if (id.userSid === undefined)
    return no("no-pac", `${principal}'s ticket carries no PAC: no group SIDs to check`);
  const sids = [id.userSid, ...(id.groupSids ?? [])];
  const sid = bypassAuthorization(settings, sids);
  if (sid === null)
    return no(
      "not-in-list",
      `${principal} (${sids.length} SIDs in its PAC) holds no SID of the bypass list`,
    );
  const gone = revoked(id.principal, id.authTime);
  if (gone !== null) return no("revoked", `${gone}: its ticket's PAC is stale`);
  const entry = settings.bypass.find((b) => b.sid.toUpperCase() === sid.toUpperCase());
  return {
    address,
    principal,
    authorizedBy: sid,
    why: `${principal} is in ${entry?.name ?? sid} (from its ticket's PAC)`,
    code: "admitted",
  };
}

export interface BypassTracker {
  onEstablished(sa: IkeSaInfo): Promise<BypassDecision>;
  onClosed(spis: string): Promise<void>;
  /** Whether the IKE SA `spis` was admitted (decided, synchronously, by onEstablished). */
  admits(spis: string): boolean;
  /** Current decisions of established SAs, by IKE SA. */
  list(): (BypassDecision & { spis: string; since: string })[];
  /** Decisions taken since the agent started, by reason ("admitted" or the refusal's). */
  counts(): Record<BypassCode, number>;
  /** Immediate revocation: the admitted IKE SA `spis` is admitted no more (the SA's deletion follows). */
  revoke(spis: string, why: string): Promise<void>;
}

export interface BypassTrackerDeps {
  set: BypassSet;
  settings: () => FirewallSettings | null;
  log: (line: string, level?: LogLevel) => void;
  now: () => number;
  /** Immediate revocation's refusal of a principal (decideBypass's `revoked`). */
  revoked?: (principal: string, authTime: string | undefined) => string | null;
}

export function createBypassTracker(deps: BypassTrackerDeps): BypassTracker {
  const bySa = new Map<string, BypassDecision & { spis: string; since: string }>();
  const counts = Object.fromEntries(BYPASS_CODES.map((r) => [r, 0])) as Record<BypassCode, number>;
  const stillAuthorized = (address: string) =>
    [...bySa.values()].some((d) => d.address === address && d.authorizedBy !== null);
  return {
    async onEstablished(sa) {
      let settings: FirewallSettings | null;
      try {
        settings = deps.settings();
      } catch (e) {
        deps.log(`bypass: firewall settings unreadable: ${(e as Error).message}`, "error");
        settings = null;
      }
      const d = decideBypass(settings, sa, deps.revoked);
      counts[d.code]++;
      bySa.set(sa.spis, { ...d, spis: sa.spis, since: new Date(deps.now()).toISOString() });
      if (d.authorizedBy === null) {
        deps.log(`bypass: ${d.address} not admitted: ${d.why}`, "notice");
        return d;
      }
      deps.log(
        `bypass: ${d.address} admitted for ${sa.lifetimeSec ? `${sa.lifetimeSec} s` : "the SA's life"}: ${d.why}`,
      );
      // The admission is the SA's (its child SAs carry it); the set is the record of it.
      try {
        await deps.set.addBypassPeer(d.address, sa.lifetimeSec);
      } catch (e) {
        deps.log(
          `bypass: ${d.address} not recorded in the bypass set: ${(e as Error).message}`,
          "warning",
        );
      }
      return d;
    },
    async onClosed(spis) {
      const d = bySa.get(spis);
      if (!d) return;
      bySa.delete(spis);
      if (d.authorizedBy === null || stillAuthorized(d.address)) return;
      try {
        await deps.set.removeBypassPeer(d.address);
        deps.log(`bypass: ${d.address} removed (its SA is gone)`);
      } catch (e) {
        deps.log(
          `bypass: ${d.address} could not leave the bypass set: ${(e as Error).message}`,
          "warning",
        );
      }
    },
    async revoke(spis, why) {
      const d = bySa.get(spis);
      if (d === undefined || d.authorizedBy === null) return;
      bySa.set(spis, { ...d, authorizedBy: null, code: "revoked", why });
      counts.revoked++;
      if (stillAuthorized(d.address)) return;
      try {
        await deps.set.removeBypassPeer(d.address);
      } catch (e) {
        deps.log(
          `bypass: ${d.address} could not leave the bypass set: ${(e as Error).message}`,
          "warning",
        );
      }
    },
    admits: (spis) => bySa.get(spis)?.authorizedBy != null,
    list: () => [...bySa.values()],
    counts: () => ({ ...counts }),
  };
}
