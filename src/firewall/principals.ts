/**
 * Names of computers and groups <-> SIDs, for the bypass list. The directory (the DC) will
 * provide the real resolver; until one is configured, the local resolver accepts SIDs and
 * the names listed in `<home>/firewall/principals.json`:
 *
 *     { "trusted": "S-1-5-21-1-2-3-1105", "XPCLIENT$": "S-1-5-21-1-2-3-1107" }
 *
 * Names compare case-insensitively, as Windows account names do.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { FirewallError } from "./errors.js";
import { isSid, parseSid } from "./sddl.js";

export interface PrincipalResolver {
  /** name (group, `COMPUTER$`) or SID -> SID. Throws unknown-principal. */
  toSid(nameOrSid: string): Promise<string>;
  /** SID -> name, or undefined when unknown. */
  toName(sid: string): Promise<string | undefined>;
}

export function principalsFile(home: string): string {
  return path.join(home, "firewall", "principals.json");
}

/** A resolver over a fixed map (tests, and the local map file). */
export function createMapResolver(map: Readonly<Record<string, string>>): PrincipalResolver {
  const entries = Object.entries(map).map(([n, s]) => [n, parseSid(s)] as const);
  return {
    async toSid(nameOrSid) {
      if (/^S-/i.test(nameOrSid)) return parseSid(nameOrSid);
      const hit = entries.find(([n]) => n.toLowerCase() === nameOrSid.toLowerCase());
      if (hit) return hit[1];
      const kind = nameOrSid.endsWith("$") ? "computer" : "group";
      throw new FirewallError(
        "unknown-principal",
        `unknown ${kind} '${nameOrSid}': no domain controller configured; give its SID`,
      );
    },
    async toName(sid) {
      return entries.find(([, s]) => s === sid)?.[0];
    },
  };
}

/** The default resolver until the DC exists: SIDs, plus `<home>/firewall/principals.json`. */
export function createLocalResolver(home: string): PrincipalResolver {
  const file = principalsFile(home);
  let map: Record<string, string> = {};
  if (fs.existsSync(file)) {
    try {
      const parsed = JSON.parse(fs.readFileSync(file, "utf8")) as unknown;
      if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw 0;
      for (const [k, v] of Object.entries(parsed)) {
        if (typeof v !== "string" || !isSid(v)) throw 0;
        map[k] = v;
      }
    } catch {
      throw new FirewallError(
        "bad-settings",
        `${file}: expected a JSON object of name -> SID ("trusted": "S-1-5-21-...")`,
      );
    }
  } else {
    map = {};
  }
  return createMapResolver(map);
}
