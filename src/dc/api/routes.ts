/**
 * The API's routes, after the transport (server.ts) has read the request:
 *   POST /v1/join         {name, token, address?}  one-time token; no other credential
 *   POST /v1/leave        machine                  account disabled, DNS records removed
 *   POST /v1/dns/update   machine {address}        the machine's own A/AAAA record
 *   POST /v1/principal    machine {name|sid}       a group's or computer's SID or name
 *   GET  /v1/policy       machine                  effective policy; If-None-Match: "<version>" -> 304
 *   POST /v1/changes      machine {since, principals}  long poll: bypass-relevant changes (changes.ts)
 *   POST /v1/admin/<op>   administrator            the admin operations (admin.ts)
 * 1. source over its limit (failed authentications, joins)? 429
 * 2. join: token checked (a refusal spends the source's failed-auth budget)
 * 3. authenticate (a failed credential spends the budget)  4. route  5. JSON answer
 */
import type { Directory } from "../directory.js";
import { DirectoryError } from "../errors.js";
import { effectivePolicy } from "../gpo.js";
import { auditCall } from "../audit.js";
import { findObject, objectByRid, sidOf } from "../objects.js";
import { updateOwnAddress } from "../records.js";
import { ridOf } from "../sids.js";
import { joinWithToken, leaveDomain } from "../tokens.js";
import { type AdminPolicy, runNetworkAdminOp } from "./admin.js";
import { type ChangeHub, changesRoute } from "./changes.js";
import type { ApiRequest, Authenticator, Caller } from "./auth.js";
import type { RateLimiter } from "./limits.js";
import { ADMIN_PREFIX, type AdminApiReply, PROTOCOL_VERSION } from "./protocol.js";

export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly code = "api",
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

export interface RouteDeps {
  dir: Directory;
  authenticators: readonly Authenticator[];
  log: (line: string) => void;
  kdcPort?: (() => number) | undefined;
  dnsPort?: (() => number) | undefined;
  admin: AdminPolicy;
  failedAuth: RateLimiter;
  joins: RateLimiter;
  /** The change subscription (immediate revocation); absent: 404. */
  changes?: ChangeHub;
}

export interface RouteResult {
  status: number;
  body?: unknown;
  etag?: string;
  mutual?: string;
}

export function json(body: Buffer): Record<string, unknown> {
  if (body.length === 0) return {};
  try {
    const v = JSON.parse(body.toString("utf8")) as unknown;
    if (typeof v === "object" && v !== null && !Array.isArray(v))
      return v as Record<string, unknown>;
  } catch {
    // fall through
  }
  throw new HttpError(400, "request body is not a JSON object");
}

function tooMany(limiter: RateLimiter, source: string, what: string): void {
  const s = limiter.retryAfter(source);
  if (s > 0)
    throw new HttpError(429, `too many ${what} from ${source}; retry in ${s} s`, "dc.rate-limit", {
      "retry-after": String(s),
    });
}

function join(deps: RouteDeps, req: ApiRequest, source: string): RouteResult {
  tooMany(deps.joins, source, "joins");
  deps.joins.spend(source);
  const b = json(req.body);
  if (typeof b.name !== "string" || typeof b.token !== "string")
    throw new HttpError(400, "join needs 'name' and 'token'");
  const address = typeof b.address === "string" ? b.address : source;
  let r: ReturnType<typeof joinWithToken>;
  try {
    r = joinWithToken(deps.dir, { name: b.name, token: b.token, address });
  } catch (e) {
    if (e instanceof DirectoryError && e.code === "dc.token") deps.failedAuth.spend(source);
    throw e;
  }
  deps.log(`api: ${r.computer.sam} joined from ${source} (kvno ${r.computer.kvno})`);
  const d = deps.dir.domain();
  return {
    status: 200,
    body: {
      ...r,
      dcHostName: d.dcHostName,
      kdc: deps.kdcPort ? { port: deps.kdcPort() } : undefined,
      dns: deps.dnsPort ? { port: deps.dnsPort() } : undefined,
      keys: r.keys.map((k) => ({
        etype: k.etype,
        kvno: k.kvno,
        key: Buffer.from(k.key).toString("base64"),
      })),
    },
  };
}

async function authenticate(deps: RouteDeps, req: ApiRequest, source: string): Promise<Caller> {
  for (const a of deps.authenticators) {
    const r = await a.authenticate(req);
    if (typeof r === "string") {
      deps.failedAuth.spend(source);
      deps.log(`api: authentication from ${source} failed: ${r}`);
      throw new HttpError(401, `authentication failed: ${r}`, "dc.auth");
    }
    if (r) return r;
  }
  throw new HttpError(401, "authentication required", "dc.auth");
}

export async function route(
  deps: RouteDeps,
  req: ApiRequest,
  ifNoneMatch: string | undefined,
): Promise<RouteResult> {
  const source = req.remoteAddress.replace(/^::ffff:/, "");
  tooMany(deps.failedAuth, source, "failed authentications");
  if (req.method === "POST" && req.path === "/v1/join") return join(deps, req, source);
  let caller: Caller;
  try {
    caller = await authenticate(deps, req, source);
  } catch (e) {
    if (req.path.startsWith(ADMIN_PREFIX))
      auditCall(
        deps.dir,
        `unauthenticated ${source}`,
        "api.admin",
        req.path.slice(ADMIN_PREFIX.length, ADMIN_PREFIX.length + 64),
        `refused: ${(e as Error).message}`.slice(0, 300),
      );
    throw e;
  }
  const actor =
    caller.kind === "machine" ? `machine:${caller.sam}` : `${caller.kind}:${caller.name}`;
  const r = await routeAuthenticated(deps, req, caller, `${actor} (api ${source})`, ifNoneMatch);
  return caller.mutual ? { ...r, mutual: caller.mutual } : r;
}

function machine(caller: Caller): { sam: string; rid: number } {
  if (caller.kind === "user") throw new HttpError(403, `${caller.name} is not a machine account`);
  if (caller.kind !== "machine") throw new HttpError(403, "this endpoint is for joined machines");
  return caller;
}

/**
 * A group's or computer's SID from its name, or its name from its SID, for a member's
 * `netsh firewall add bypass name=trusted` (the bypass list holds SIDs).
 */
function lookupPrincipal(dir: Directory, b: Record<string, unknown>) {
  let row: ReturnType<typeof findObject>;
  if (typeof b.name === "string") row = findObject(dir, b.name);
  else if (typeof b.sid === "string") {
    const rid = ridOf(dir.domainSid(), b.sid);
    row = rid === null ? undefined : objectByRid(dir, rid);
  } else throw new HttpError(400, "principal lookup needs 'name' or 'sid'");
  if (!row || (row.kind !== "group" && row.kind !== "computer"))
    throw new HttpError(404, `no group or computer ${String(b.name ?? b.sid)} in the domain`);
  return { name: row.sam, sid: sidOf(dir, row.rid), kind: row.kind };
}

async function admin(
  deps: RouteDeps,
  req: ApiRequest,
  caller: Caller,
  actor: string,
): Promise<RouteResult> {
  const op = req.path.slice(ADMIN_PREFIX.length);
  if (caller.kind !== "admin") {
    auditCall(deps.dir, actor, "api.admin", op.slice(0, 64), "refused: not an administrator");
    throw new HttpError(403, "administrators only");
  }
  const result = await runNetworkAdminOp(deps.dir, deps.admin, actor, op, json(req.body));
  const body: AdminApiReply = { v: PROTOCOL_VERSION, result: result ?? null };
  return { status: 200, body };
}

async function routeAuthenticated(
  deps: RouteDeps,
  req: ApiRequest,
  caller: Caller,
  actor: string,
  ifNoneMatch: string | undefined,
): Promise<RouteResult> {
  const { dir } = deps;
  if (req.method === "POST" && req.path === "/v1/leave") {
    leaveDomain(dir, actor, machine(caller).sam);
    return { status: 200, body: { left: machine(caller).sam } };
  }
  if (req.method === "POST" && req.path === "/v1/dns/update") {
    const b = json(req.body);
    if (typeof b.address !== "string") throw new HttpError(400, "dns update needs 'address'");
    return { status: 200, body: updateOwnAddress(dir, actor, machine(caller).sam, b.address) };
  }
  if (req.method === "POST" && req.path === "/v1/principal") {
    machine(caller);
    return { status: 200, body: lookupPrincipal(dir, json(req.body)) };
  }
  if (req.method === "GET" && req.path === "/v1/policy") {
    const p = effectivePolicy(dir, machine(caller).sam);
    const etag = `"${p.version}"`;
    if (ifNoneMatch === etag) return { status: 304, etag };
    return { status: 200, body: p, etag };
  }
  if (req.method === "POST" && req.path === "/v1/changes" && deps.changes)
    return changesRoute(dir, deps.changes, machine(caller).sam, req.body);
  if (req.method === "POST" && req.path.startsWith(ADMIN_PREFIX))
    return admin(deps, req, caller, actor);
  throw new HttpError(404, `no such endpoint: ${req.method} ${req.path}`);
}
