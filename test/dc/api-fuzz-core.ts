/**
 * Fuzzing of the DC API's request handling (issue 14, "Show": the API's JSON), shared by the
 * bounded slice in api-fuzz.test.ts and the long run in bench/fuzz-api.ts.
 * Each input is a request (method, path, Authorization, body) made from a seeded PRNG:
 * valid requests mutated, random JSON, random bytes, prototype names, Negotiate and
 * PosternMachine headers with random or mutated fields. It goes through `route()` (as
 * the server calls it after TLS and body reading) and, as an administrator, through
 * `runNetworkAdminOp()` with random params. An outcome is fine when it is an answer or a
 * typed refusal (HttpError, AdminRefusal, PosternError: a 4xx line); anything else is a
 * crash (the server would answer 500), and an input that takes over 1 s is a hang.
 */
import { createMachineAuthenticator } from "../../src/dc/api/auth.js";
import { AdminRefusal, runNetworkAdminOp } from "../../src/dc/api/admin.js";
import { createRateLimiter } from "../../src/dc/api/limits.js";
import { createNegotiateAuthenticator } from "../../src/dc/api/negotiate.js";
import { ADMIN_OPS } from "../../src/dc/api/protocol.js";
import { HttpError, type RouteDeps, route } from "../../src/dc/api/routes.js";
import type { Directory } from "../../src/dc/directory.js";
import { isPosternError } from "../../src/errors.js";

export interface FuzzResult {
  inputs: number;
  crashes: { input: string; error: string }[];
  hangs: number;
  statuses: Map<number | string, number>;
  peakRssMb: number;
}

/** xorshift32: the same inputs for the same seed. */
function prng(seed: number) {
  let x = seed >>> 0 || 1;
  const next = () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 0x1_0000_0000;
  };
  const int = (n: number) => Math.floor(next() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)] as T;
  return { next, int, pick };
}
type Rng = ReturnType<typeof prng>;

const WORDS = [
  "__proto__",
  "constructor",
  "prototype",
  "toString",
  "name",
  "token",
  "address",
  "group",
  "member",
  "file",
  "store",
  "settings",
  "sid",
  "XPCLIENT$",
  "Domain Admins",
  "trusted",
  "",
  "a".repeat(300),
  "../../etc/passwd",
  "/tmp/x.db",
  "S-1-5-21-1-2-3-512",
  "198.18.0.30",
  "::1",
  "\u0000",
  "\u202e",
  "pjt1.AAAAAAAAAAAA.BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB",
];

function randomJson(r: Rng, depth = 0): unknown {
  switch (r.int(depth > 3 ? 5 : 8)) {
    case 0:
      return null;
    case 1:
      return r.next() < 0.5;
    case 2:
      return r.pick([0, -1, 1.5, 1e308, Number.MAX_SAFE_INTEGER, r.int(100000)]);
    case 3:
    case 4:
      return r.pick(WORDS);
    case 5:
      return Array.from({ length: r.int(4) }, () => randomJson(r, depth + 1));
    default: {
      const o: Record<string, unknown> = {};
      for (let i = r.int(5); i > 0; i--) o[r.pick(WORDS)] = randomJson(r, depth + 1);
      return o;
    }
  }
}

function mutateBytes(r: Rng, b: Buffer): Buffer {
  const out = Buffer.from(b);
  for (let i = r.int(4); i >= 0 && out.length > 0; i--) out[r.int(out.length)] = r.int(256);
  return r.next() < 0.2 ? out.subarray(0, r.int(out.length + 1)) : out;
}

function body(r: Rng): Buffer {
  switch (r.int(5)) {
    case 0:
      return Buffer.alloc(0);
    case 1:
      return Buffer.from(Array.from({ length: r.int(64) }, () => r.int(256)));
    case 2:
      return mutateBytes(r, Buffer.from(JSON.stringify({ name: "xpclient", token: WORDS[25] })));
    default:
      return Buffer.from(JSON.stringify(randomJson(r)));
  }
}

const PATHS = ["/v1/join", "/v1/leave", "/v1/dns/update", "/v1/principal", "/v1/policy", "/"];

function authorization(r: Rng): string | undefined {
  const b64 = () =>
    Buffer.from(Array.from({ length: r.int(200) }, () => r.int(256))).toString("base64");
  switch (r.int(6)) {
    case 0:
      return undefined;
    case 1:
      return `Negotiate ${b64()}`;
    case 2:
      // a GSS / SPNEGO lead-in with random insides
      return `Negotiate ${Buffer.concat([Buffer.from([0x60, r.int(256), 0x06, r.pick([6, 9])]), Buffer.from(b64(), "base64")]).toString("base64")}`;
    case 3:
      return `PosternMachine name="${r.pick(WORDS)}", kvno="${r.int(5)}", ts="${new Date().toISOString()}", nonce="${r.int(1e9)}", mac="${b64()}"`;
    case 4:
      return r.pick(WORDS);
    default:
      return `${r.pick(["Negotiate", "PosternMachine", "Basic"])} ${r.pick(WORDS)}`;
  }
}

function typed(e: unknown): boolean {
  return e instanceof HttpError || e instanceof AdminRefusal || isPosternError(e);
}

/** `n` inputs from `seed` against `dir` (a throwaway directory); never throws for an input. */
export async function fuzzApi(
  dir: Directory,
  home: string,
  n: number,
  seed = 1,
): Promise<FuzzResult> {
  const r = prng(seed);
  dir.db.pragma("synchronous = OFF"); // a throwaway directory: parsing is fuzzed, not durability
  const now = () => dir.deps.clock().getTime();
  const unlimited = { burst: 1e12, perMinute: 1e12 };
  const deps: RouteDeps = {
    dir,
    authenticators: [
      createNegotiateAuthenticator(dir, { now, certFingerprint: new Uint8Array(32) }),
      createMachineAuthenticator(dir, dir.deps.clock),
    ],
    log: () => {},
    admin: { home },
    failedAuth: createRateLimiter(unlimited, now),
    joins: createRateLimiter(unlimited, now),
  };
  const res: FuzzResult = { inputs: 0, crashes: [], hangs: 0, statuses: new Map(), peakRssMb: 0 };
  const count = (k: number | string) => res.statuses.set(k, (res.statuses.get(k) ?? 0) + 1);
  for (let i = 0; i < n; i++) {
    const asAdmin = r.next() < 0.4;
    const drawn = r.next() < 0.8 ? r.pick(ADMIN_OPS) : r.pick(WORDS);
    // as an administrator, not the ones that write files or change the admin's login
    const op =
      asAdmin && (drawn === "backup" || drawn === "admin.set-password") ? "group.show" : drawn;
    const req = {
      method: r.pick(["GET", "POST", "PUT", "DELETE", "OPTIONS"]),
      path: r.next() < 0.3 ? `/v1/admin/${op}` : r.pick(PATHS),
      authorization: authorization(r),
      body: body(r),
      remoteAddress: r.pick(["127.0.0.1", "::ffff:198.18.0.30", "", "::1"]),
    };
    const params = randomJson(r);
    const t0 = Date.now();
    try {
      if (asAdmin) {
        const p = typeof params === "object" && params && !Array.isArray(params) ? params : {};
        await runNetworkAdminOp(dir, deps.admin, "fuzz", op, p as Record<string, unknown>);
        count("admin ok");
      } else count((await route(deps, req, undefined)).status);
    } catch (e) {
      if (typed(e))
        count(e instanceof HttpError || e instanceof AdminRefusal ? e.status : "refused");
      else
        res.crashes.push({
          input: JSON.stringify({ asAdmin, op, params, ...req, body: req.body.toString("base64") }),
          error: `${(e as Error).name}: ${(e as Error).message}`,
        });
    }
    if (Date.now() - t0 > 1000) res.hangs++;
    res.inputs++;
    if (i % 1000 === 0)
      res.peakRssMb = Math.max(res.peakRssMb, process.memoryUsage().rss / 1048576);
  }
  res.peakRssMb = Math.max(res.peakRssMb, process.memoryUsage().rss / 1048576);
  return res;
}
