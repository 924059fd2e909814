/**
 * The DC's HTTP API (default port 9389). Routes:
 *   POST /v1/join         {name, token, address?}  one-time token; no other credential
 *   POST /v1/leave        machine                  account disabled, DNS records removed
 *   POST /v1/dns/update   machine {address}        the machine's own A/AAAA record
 *   GET  /v1/policy       machine                  effective policy; If-None-Match: "<version>" -> 304
 *   POST /v1/admin/<op>   administrator            the admin operations (Negotiate as Administrator or a Domain Admin)
 * Flow per request: 1. read the body (at most 64 KiB) 2. authenticate (join excepted)
 * 3. route 4. answer JSON; a DirectoryError is 400/403/404 with {error, code} in one line.
 */
import * as http from "node:http";
import type { Directory } from "../directory.js";
import { DirectoryError } from "../errors.js";
import { effectivePolicy } from "../gpo.js";
import { runOp } from "../ops.js";
import { findObject, objectByRid, sidOf } from "../objects.js";
import { updateOwnAddress } from "../records.js";
import { ridOf } from "../sids.js";
import { joinWithToken, leaveDomain } from "../tokens.js";
import type { ApiRequest, Authenticator, Caller } from "./auth.js";

export interface ApiServer {
  port(): number;
  close(): Promise<void>;
}

const MAX_BODY = 64 * 1024;

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly code = "api",
  ) {
    super(message);
  }
}

function statusOf(e: DirectoryError): number {
  if (e.code === "dc.token" || e.code === "dc.auth") return 403;
  if (e.code === "dc.not-found") return 404;
  return 400;
}

function readBody(req: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let n = 0;
    req.on("data", (c: Buffer) => {
      n += c.length;
      if (n > MAX_BODY) {
        reject(new HttpError(413, `request body larger than ${MAX_BODY} bytes`));
        req.destroy();
      } else parts.push(c);
    });
    req.on("end", () => resolve(Buffer.concat(parts)));
    req.on("error", reject);
  });
}

function json(body: Buffer): Record<string, unknown> {
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

export interface ApiDeps {
  dir: Directory;
  authenticators: readonly Authenticator[];
  log: (line: string) => void;
  /** The KDC's port (the member's TGT comes from it), known once the KDC runs. */
  kdcPort?: () => number;
}

async function authenticate(deps: ApiDeps, req: ApiRequest): Promise<Caller> {
  for (const a of deps.authenticators) {
    const r = await a.authenticate(req);
    if (typeof r === "string") throw new HttpError(401, `authentication failed: ${r}`, "dc.auth");
    if (r) return r;
  }
  throw new HttpError(401, "authentication required", "dc.auth");
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

async function route(
  deps: ApiDeps,
  req: ApiRequest,
  ifNoneMatch: string | undefined,
): Promise<{ status: number; body?: unknown; etag?: string; mutual?: string }> {
  const { dir } = deps;
  if (req.method === "POST" && req.path === "/v1/join") {
    const b = json(req.body);
    if (typeof b.name !== "string" || typeof b.token !== "string")
      throw new HttpError(400, "join needs 'name' and 'token'");
    const address =
      typeof b.address === "string" ? b.address : req.remoteAddress.replace(/^::ffff:/, "");
    const r = joinWithToken(dir, { name: b.name, token: b.token, address });
    deps.log(`api: ${r.computer.sam} joined from ${req.remoteAddress} (kvno ${r.computer.kvno})`);
    const d = dir.domain();
    return {
      status: 200,
      body: {
        ...r,
        dcHostName: d.dcHostName,
        kdc: deps.kdcPort ? { port: deps.kdcPort() } : undefined,
        keys: r.keys.map((k) => ({
          etype: k.etype,
          kvno: k.kvno,
          key: Buffer.from(k.key).toString("base64"),
        })),
      },
    };
  }
  const caller = await authenticate(deps, req);
  const actor =
    caller.kind === "machine" ? `machine:${caller.sam}` : `${caller.kind}:${caller.name}`;
  const r = await routeAuthenticated(deps, req, caller, actor, ifNoneMatch);
  return caller.mutual ? { ...r, mutual: caller.mutual } : r;
}

async function routeAuthenticated(
  deps: ApiDeps,
  req: ApiRequest,
  caller: Caller,
  actor: string,
  ifNoneMatch: string | undefined,
): Promise<{ status: number; body?: unknown; etag?: string }> {
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
  if (req.method === "POST" && req.path.startsWith("/v1/admin/")) {
    if (caller.kind !== "admin") throw new HttpError(403, "administrators only");
    return {
      status: 200,
      body: { result: (await runOp(dir, actor, req.path.slice(10), json(req.body))) ?? null },
    };
  }
  throw new HttpError(404, `no such endpoint: ${req.method} ${req.path}`);
}

export async function startApiServer(
  deps: ApiDeps,
  host: string,
  port: number,
): Promise<ApiServer> {
  const server = http.createServer(async (req, res) => {
    const send = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      const text = body === undefined ? "" : `${JSON.stringify(body)}\n`;
      res.writeHead(status, { "content-type": "application/json", ...headers });
      res.end(text);
    };
    try {
      const body = await readBody(req);
      const path = new URL(req.url ?? "/", "http://dc").pathname;
      const r = await route(
        deps,
        {
          method: req.method ?? "GET",
          path,
          authorization: req.headers.authorization,
          body,
          remoteAddress: req.socket.remoteAddress ?? "",
        },
        req.headers["if-none-match"],
      );
      const headers: Record<string, string> = r.etag ? { etag: r.etag } : {};
      if (r.mutual) headers["www-authenticate"] = r.mutual;
      send(r.status, r.body, headers);
    } catch (e) {
      if (e instanceof HttpError) {
        const challenge: Record<string, string> =
          e.status === 401
            ? { "www-authenticate": deps.authenticators.map((a) => a.scheme).join(", ") }
            : {};
        send(e.status, { error: e.message, code: e.code }, challenge);
      } else if (e instanceof DirectoryError) {
        if (e.code === "dc.token")
          deps.log(`api: join from ${req.socket.remoteAddress} refused: ${e.message}`);
        send(statusOf(e), { error: e.message, code: e.code });
      } else {
        deps.log(`api: internal error: ${(e as Error).message}`);
        send(500, { error: "internal error", code: "internal" });
      }
    }
  });
  server.requestTimeout = 30_000;
  server.headersTimeout = 10_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  return {
    port: () => (server.address() as { port: number }).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
