/**
 * Who is calling the API. An Authenticator looks at a request and says who it is, or null.
 * The API tries each in turn; a request nobody vouches for is refused (401), except the
 * join endpoint, which carries its own one-time token.
 *
 * Kerberos `Negotiate` (RFC 4559, negotiate.ts) names machines, administrators and other
 * users; the machine join credential (machine-auth.ts) is the fallback for members that
 * cannot get a ticket. `mutual` is the WWW-Authenticate value of a successful answer.
 */
import type { Directory } from "../directory.js";
import { MACHINE_SCHEME, parseMachineAuth, verifyMachineAuth } from "./machine-auth.js";

export interface ApiRequest {
  method: string;
  path: string;
  authorization: string | undefined;
  body: Buffer;
  remoteAddress: string;
}

export type Caller = (
  | { kind: "machine"; sam: string; rid: number }
  | { kind: "admin"; name: string }
  | { kind: "user"; name: string }
) & { mutual?: string };

export interface Authenticator {
  /** The scheme named in WWW-Authenticate. */
  scheme: string;
  /** The caller, null when the request is not for this scheme, or a reason string when it is but fails. */
  authenticate(req: ApiRequest): Caller | null | string | Promise<Caller | null | string>;
}

export function createMachineAuthenticator(dir: Directory, clock: () => Date): Authenticator {
  const seen = new Map<string, number>();
  const keyOf = dir.stmt(
    "SELECT o.rid, o.sam, o.enabled, k.key FROM objects o JOIN keys k ON k.rid = o.rid WHERE o.sam = ? AND o.kind = 'computer' AND k.etype = 18 AND k.kvno = ?",
  );
  return {
    scheme: MACHINE_SCHEME,
    authenticate(req) {
      if (!req.authorization) return null;
      const p = parseMachineAuth(req.authorization);
      if (!p) return req.authorization.startsWith(MACHINE_SCHEME) ? "malformed credential" : null;
      const row = keyOf.get(p.sam, p.kvno) as
        | { rid: number; sam: string; enabled: number; key: Buffer }
        | undefined;
      if (!row) return `unknown machine or key version (${p.sam} kvno ${p.kvno})`;
      if (row.enabled !== 1) return `account ${row.sam} is disabled`;
      const why = verifyMachineAuth(p, row.key, req.method, req.path, req.body, clock(), seen);
      return why ?? { kind: "machine", sam: row.sam, rid: row.rid };
    },
  };
}
