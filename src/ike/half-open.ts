/**
 * The responder's half-open IKE SAs (IKE_SA_INIT answered, IKE_AUTH not yet done), indexed
 * for the IKE_SA_INIT path, and who may create one more (RFC 7296 §2.4, §2.6):
 *
 *   - at `cookieThreshold` half-open SAs in all, or `sourceThreshold` from one address, a
 *     request must carry a valid COOKIE: a spoofed source never sees it, so a flood from
 *     spoofed addresses stops creating state (and costs no DH) once the threshold is met;
 *   - an address never holds more than `sourceThreshold` half-open SAs: a request from an
 *     address at its limit that returned a valid COOKIE replaces that address's oldest one
 *     whose IKE_AUTH has not arrived (the cookie proves the address; what it held before was
 *     its own or spoofed); when all of them are in IKE_AUTH, the request is refused;
 *   - at `halfOpenLimit` in all, new ones are refused even with a COOKIE.
 *
 * Every operation is O(1) but the per-address list, which is at most `sourceThreshold` long.
 */
import type { IkeSa } from "./types.js";

export interface HalfOpenLimits {
  cookieThreshold: number;
  sourceThreshold: number;
  halfOpenLimit: number;
}

export type Admission =
  | { kind: "admit"; evict: IkeSa | null }
  | { kind: "cookie"; why: string }
  | { kind: "full"; why: string };

export interface HalfOpenTable {
  add(sa: IkeSa): void;
  /** Forgets `sa` (established, closed or evicted); no-op when it is not in the table. */
  remove(sa: IkeSa): void;
  find(spiI: Buffer, address: string): IkeSa | undefined;
  count(): number;
  /** Whether a new IKE_SA_INIT from `address` may create an SA; `cookieValid` runs only if needed. */
  admit(address: string, cookieValid: () => boolean): Admission;
}

const keyOf = (spiI: Buffer, address: string): string => `${spiI.toString("hex")}/${address}`;

export function createHalfOpenTable(limits: () => HalfOpenLimits): HalfOpenTable {
  const byKey = new Map<string, IkeSa>();
  const bySource = new Map<string, IkeSa[]>();
  const keys = new Map<IkeSa, string>();

  return {
    add(sa) {
      const key = keyOf(sa.spiI, sa.remote.address);
      byKey.set(key, sa);
      keys.set(sa, key);
      const list = bySource.get(sa.remote.address);
      if (list) list.push(sa);
      else bySource.set(sa.remote.address, [sa]);
    },
    remove(sa) {
      const key = keys.get(sa);
      if (key === undefined) return;
      keys.delete(sa);
      byKey.delete(key);
      const address = key.slice(key.indexOf("/") + 1);
      const list = bySource.get(address) ?? [];
      const rest = list.filter((x) => x !== sa);
      if (rest.length === 0) bySource.delete(address);
      else bySource.set(address, rest);
    },
    find: (spiI, address) => byKey.get(keyOf(spiI, address)),
    count: () => byKey.size,
    admit(address, cookieValid) {
      const l = limits();
      const total = byKey.size;
      const fromSource = bySource.get(address) ?? [];
      if (total >= l.cookieThreshold || fromSource.length >= l.sourceThreshold) {
        if (!cookieValid()) {
          const why =
            total >= l.cookieThreshold
              ? `${total} half-open IKE SAs`
              : `${fromSource.length} half-open IKE SAs from ${address}`;
          return { kind: "cookie", why };
        }
      }
      if (fromSource.length >= l.sourceThreshold) {
        const idle = fromSource.find((sa) => sa.peerNextId <= 1);
        if (l.sourceThreshold > 0 && !idle)
          return {
            kind: "full",
            why: `${fromSource.length} half-open IKE SAs from ${address}, all in IKE_AUTH`,
          };
        return { kind: "admit", evict: idle ?? null };
      }
      if (total >= l.halfOpenLimit)
        return { kind: "full", why: `${total} half-open IKE SAs, the limit` };
      return { kind: "admit", evict: null };
    },
  };
}
