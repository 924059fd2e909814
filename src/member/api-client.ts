/**
 * The member's side of the DC's API: one JSON request over TLS to a pinned certificate,
 * optionally signed with the machine's join credential (src/dc/api/machine-auth.ts).
 *   1. TCP + TLS to host:port (no CA: the DC's certificate is self-signed);
 *   2. the certificate's SHA-256 must equal the pinned fingerprint (src/dc/api/channel.ts),
 *      else the connection is closed before a byte of the request is sent;
 *   3. one HTTP/1.1 request on that connection, the JSON answer read; bounded by a timeout.
 */
import * as http from "node:http";
import * as tls from "node:tls";
import { equalFingerprints, fingerprintOf, formatFingerprint } from "../dc/api/channel.js";
import { type MachineCredential, signRequest } from "../dc/api/machine-auth.js";
import { DirectoryError } from "../dc/errors.js";

export interface ApiResponse {
  status: number;
  body: Record<string, unknown>;
  etag: string | undefined;
  /** The answer's WWW-Authenticate (Negotiate's AP-REP for mutual authentication). */
  wwwAuthenticate?: string | undefined;
}

export interface ApiTarget {
  host: string;
  port: number;
  /** SHA-256 of the DC's certificate: the only certificate this client talks to. */
  fingerprint: Uint8Array;
}

/** The bytes a request body is sent as (the same for signing and sending). */
export function requestBody(body: unknown): Buffer {
  return Buffer.from(body === undefined ? "" : JSON.stringify(body));
}

/** A TLS connection to the DC whose certificate matches the pin, or a DirectoryError. */
export function connectPinned(target: ApiTarget, timeoutMs: number): Promise<tls.TLSSocket> {
  const where = `${target.host}:${target.port}`;
  return new Promise((resolve, reject) => {
    const sock = tls.connect({
      host: target.host,
      port: target.port,
      rejectUnauthorized: false,
      minVersion: "TLSv1.2",
      ...(/^[\d.]+$|:/.test(target.host) ? {} : { servername: target.host }),
    });
    const fail = (why: string) => {
      sock.destroy();
      reject(new DirectoryError("dc.running", `cannot reach the DC at ${where}: ${why}`));
    };
    const timer = setTimeout(() => fail(`no TLS handshake in ${timeoutMs / 1000} s`), timeoutMs);
    sock.once("error", (e) => {
      clearTimeout(timer);
      fail(e.message);
    });
    sock.once("secureConnect", () => {
      clearTimeout(timer);
      const raw = sock.getPeerCertificate().raw;
      const got = raw ? fingerprintOf(raw) : new Uint8Array();
      if (!equalFingerprints(got, target.fingerprint)) {
        sock.destroy();
        reject(
          new DirectoryError(
            "dc.auth",
            `the DC at ${where} presented certificate SHA-256 ${formatFingerprint(got)}, not the pinned ${formatFingerprint(target.fingerprint)}: nothing sent (is it the DC? was its certificate renewed?)`,
          ),
        );
        return;
      }
      sock.removeAllListeners("error");
      resolve(sock);
    });
  });
}

/** `ADDRESS`, `ADDRESS:PORT` or `[V6]:PORT`. */
export function parseDcAddress(text: string, defaultPort: number): { host: string; port: number } {
  const m = /^\[([^\]]+)\](?::(\d+))?$/.exec(text) ?? /^([^:]+)(?::(\d+))?$/.exec(text);
  if (!m) return { host: text, port: defaultPort };
  return { host: m[1] as string, port: m[2] ? Number(m[2]) : defaultPort };
}

export async function apiRequest(
  target: ApiTarget,
  method: string,
  path: string,
  body: unknown,
  cred?: MachineCredential,
  headers: Record<string, string> = {},
  timeoutMs = 15_000,
  signal?: AbortSignal,
): Promise<ApiResponse> {
  const data = requestBody(body);
  const h: Record<string, string> = {
    "content-type": "application/json",
    "content-length": String(data.length),
    ...headers,
  };
  if (cred) h.authorization = signRequest(cred, method, path, data, new Date());
  const sock = await connectPinned(target, timeoutMs);
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: target.host,
        port: target.port,
        method,
        path,
        headers: h,
        timeout: timeoutMs,
        createConnection: () => sock,
      },
      (res) => {
        const parts: Buffer[] = [];
        res.on("data", (c: Buffer) => parts.push(c));
        res.on("end", () => {
          const text = Buffer.concat(parts).toString("utf8");
          let parsed: Record<string, unknown> = {};
          try {
            parsed = text ? (JSON.parse(text) as Record<string, unknown>) : {};
          } catch {
            parsed = { error: `non-JSON answer: ${text.slice(0, 80)}` };
          }
          resolve({
            status: res.statusCode ?? 0,
            body: parsed,
            etag: res.headers.etag,
            wwwAuthenticate: res.headers["www-authenticate"],
          });
        });
      },
    );
    req.on("timeout", () => req.destroy(new Error(`no answer in ${timeoutMs / 1000} s`)));
    // a long poll (/v1/changes) ends with its agent
    if (signal?.aborted) req.destroy(new Error("aborted"));
    else signal?.addEventListener("abort", () => req.destroy(new Error("aborted")), { once: true });
    req.on("error", (e) =>
      reject(
        new DirectoryError(
          "dc.running",
          `cannot reach the DC at ${target.host}:${target.port}: ${e.message}`,
        ),
      ),
    );
    req.end(data);
  });
}

/** The body of a non-2xx answer as one error line. */
export function apiError(what: string, r: ApiResponse): DirectoryError {
  const msg = typeof r.body.error === "string" ? r.body.error : `HTTP ${r.status}`;
  const code = r.body.code === "dc.token" ? "dc.token" : "dc.auth";
  return new DirectoryError(code, `${what}: ${msg}`);
}
