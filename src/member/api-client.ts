/**
 * The member's side of the DC's HTTP API: one JSON request, optionally signed with the
 * machine's join credential (src/dc/api/machine-auth.ts). Bounded by a timeout.
 */
import * as http from "node:http";
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
}

/** `ADDRESS`, `ADDRESS:PORT` or `[V6]:PORT`. */
export function parseDcAddress(text: string, defaultPort: number): ApiTarget {
  const m = /^\[([^\]]+)\](?::(\d+))?$/.exec(text) ?? /^([^:]+)(?::(\d+))?$/.exec(text);
  if (!m) return { host: text, port: defaultPort };
  return { host: m[1] as string, port: m[2] ? Number(m[2]) : defaultPort };
}

export function apiRequest(
  target: ApiTarget,
  method: string,
  path: string,
  body: unknown,
  cred?: MachineCredential,
  headers: Record<string, string> = {},
  timeoutMs = 15_000,
): Promise<ApiResponse> {
  const data = Buffer.from(body === undefined ? "" : JSON.stringify(body));
  const h: Record<string, string> = {
    "content-type": "application/json",
    "content-length": String(data.length),
    ...headers,
  };
  if (cred) h.authorization = signRequest(cred, method, path, data, new Date());
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: target.host, port: target.port, method, path, headers: h, timeout: timeoutMs },
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
