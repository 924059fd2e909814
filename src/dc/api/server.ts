/**
 * The DC's API over TLS (default port 9389; routes in routes.ts, the channel in channel.ts).
 * Flow per connection and request:
 *   1. TCP accepted only within the limits (limits.ts): connections in all and per source;
 *      a connection idle for `idleTimeoutMs` (TLS handshake included) is closed, and one
 *      whose headers drip in slower than `headersTimeoutMs` is cut off;
 *   2. TLS with the DC's certificate (certificate.ts), TLS 1.2 at least;
 *   3. the body read up to `maxBodyBytes` (413 above it, announced or streamed);
 *   4. route (rate limits, authentication, the operation) and answer JSON; an error is one
 *      line {error, code} with its status: 400/401/403/404/413/429, 500 with nothing inside.
 */
import * as https from "node:https";
import type * as http from "node:http";
import type * as net from "node:net";
import { DirectoryError } from "../errors.js";
import type { Directory } from "../directory.js";
import type { AdminPolicy } from "./admin.js";
import { AdminRefusal } from "./admin.js";
import type { Authenticator } from "./auth.js";
import { type ApiLimits, createRateLimiter, DEFAULT_API_LIMITS } from "./limits.js";
import { ADMIN_OPS, ADMIN_PREFIX } from "./protocol.js";
import { HttpError, type RouteDeps, route } from "./routes.js";
import { createChangeHub } from "./changes.js";

export interface ApiServer {
  port(): number;
  /** Requests answered, by "ROUTE STATUS" (e.g. "/v1/policy 200"), for metrics. */
  requests(): Record<string, number>;
  close(): Promise<void>;
}

export interface ApiDeps {
  dir: Directory;
  authenticators: readonly Authenticator[];
  log: (line: string) => void;
  /** The KDC's port (the member's TGT comes from it), known once the KDC runs. */
  kdcPort?: () => number;
  /** The domain DNS server's port (the member asks it for the KDCs' SRV records). */
  dnsPort?: () => number;
  /** The DC's certificate and key (PEM). */
  tls: { certPem: string; keyPem: string };
  /** Where network backups may go. */
  admin: AdminPolicy;
  limits?: Partial<ApiLimits>;
  now?: () => number;
}

function statusOf(e: DirectoryError): number {
  if (e.code === "dc.token" || e.code === "dc.auth") return 403;
  if (e.code === "dc.not-found") return 404;
  return 400;
}

function readBody(req: http.IncomingMessage, max: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const announced = Number(req.headers["content-length"] ?? 0);
    if (announced > max) {
      reject(
        new HttpError(413, `request body of ${announced} bytes; at most ${max}`, "dc.too-large"),
      );
      return;
    }
    const parts: Buffer[] = [];
    let n = 0;
    req.on("data", (c: Buffer) => {
      n += c.length;
      if (n > max) {
        req.removeAllListeners("data");
        req.pause();
        reject(new HttpError(413, `request body larger than ${max} bytes`, "dc.too-large"));
      } else parts.push(c);
    });
    req.on("end", () => resolve(Buffer.concat(parts)));
    req.on("error", reject);
  });
}

/** Counts TCP connections in all and per source; refuses those above the limits. */
function limitConnections(server: https.Server, limits: ApiLimits, log: (l: string) => void) {
  const perSource = new Map<string, number>();
  server.maxConnections = limits.maxConnections;
  server.on("connection", (sock: net.Socket) => {
    const src = sock.remoteAddress ?? "?";
    const n = (perSource.get(src) ?? 0) + 1;
    if (n > limits.maxConnectionsPerSource) {
      log(`api: ${src} has ${n - 1} connections open; refusing another`);
      sock.destroy();
      return;
    }
    perSource.set(src, n);
    sock.setTimeout(limits.idleTimeoutMs, () => sock.destroy());
    sock.once("close", () => {
      const left = (perSource.get(src) ?? 1) - 1;
      if (left <= 0) perSource.delete(src);
      else perSource.set(src, left);
    });
  });
}

const ROUTES = [
  "/v1/join",
  "/v1/leave",
  "/v1/dns/update",
  "/v1/principal",
  "/v1/policy",
  "/v1/changes",
];

/** A request's route as a metrics label: a known route, "/v1/admin/<op>", else "other". */
function routeLabel(url: string | undefined): string {
  const path = (url ?? "").split("?")[0] as string;
  if (ROUTES.includes(path)) return path;
  if (
    path.startsWith(ADMIN_PREFIX) &&
    (ADMIN_OPS as readonly string[]).includes(path.slice(ADMIN_PREFIX.length))
  )
    return path;
  return "other";
}

function sendError(
  res: http.ServerResponse,
  e: unknown,
  deps: ApiDeps,
  send: (s: number, b: unknown, h?: Record<string, string>) => void,
): void {
  if (e instanceof HttpError) {
    const challenge: Record<string, string> =
      e.status === 401
        ? { "www-authenticate": deps.authenticators.map((a) => a.scheme).join(", ") }
        : {};
    if (e.status === 413) res.shouldKeepAlive = false;
    send(e.status, { error: e.message, code: e.code }, { ...challenge, ...e.headers });
  } else if (e instanceof AdminRefusal) {
    send(e.status, { error: e.message, code: e.code });
  } else if (e instanceof DirectoryError) {
    send(statusOf(e), { error: e.message, code: e.code });
  } else {
    deps.log(`api: internal error: ${(e as Error).message}`);
    send(500, { error: "internal error", code: "internal" });
  }
}

export async function startApiServer(
  deps: ApiDeps,
  host: string,
  port: number,
): Promise<ApiServer> {
  const limits: ApiLimits = { ...DEFAULT_API_LIMITS, ...deps.limits };
  const now = deps.now ?? Date.now;
  const routeDeps: RouteDeps = {
    dir: deps.dir,
    authenticators: deps.authenticators,
    log: deps.log,
    kdcPort: deps.kdcPort,
    dnsPort: deps.dnsPort,
    admin: deps.admin,
    failedAuth: createRateLimiter(limits.failedAuth, now),
    joins: createRateLimiter(limits.joins, now),
    changes: createChangeHub(deps.dir),
  };
  const requests: Record<string, number> = {};
  const server = https.createServer(
    {
      cert: deps.tls.certPem,
      key: deps.tls.keyPem,
      minVersion: "TLSv1.2",
      handshakeTimeout: limits.idleTimeoutMs,
      // node checks the header and request timeouts this often (default 30 s)
      connectionsCheckingInterval: Math.min(1_000, limits.headersTimeoutMs),
    },
    async (req, res) => {
      const send = (status: number, body: unknown, headers: Record<string, string> = {}) => {
        const key = `${routeLabel(req.url)} ${status}`;
        requests[key] = (requests[key] ?? 0) + 1;
        const text = body === undefined ? "" : `${JSON.stringify(body)}\n`;
        res.writeHead(status, { "content-type": "application/json", ...headers });
        res.end(text);
      };
      try {
        const body = await readBody(req, limits.maxBodyBytes);
        const path = new URL(req.url ?? "/", "https://dc").pathname;
        const r = await route(
          routeDeps,
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
        sendError(res, e, deps, send);
      }
    },
  );
  limitConnections(server, limits, deps.log);
  server.requestTimeout = limits.requestTimeoutMs;
  server.headersTimeout = limits.headersTimeoutMs;
  server.keepAliveTimeout = 5_000;
  server.on("tlsClientError", (_e, sock) => sock.destroy());
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  return {
    port: () => (server.address() as { port: number }).port,
    requests: () => ({ ...requests }),
    close: () =>
      new Promise<void>((resolve) => {
        // the long polls are answered first, so their members reconnect to the next DC
        routeDeps.changes?.close();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
