/**
 * The console's sessions, CSRF tokens, origin checks and login throttle: pure, the clock
 * and randomness injected.
 *
 * A session is a random 256-bit id in a cookie (HttpOnly, SameSite=Strict, Secure over
 * TLS) and a second random token that every POST form carries (`csrf`); both are compared
 * in constant time. Sessions end after IDLE_MS without a request, MAX_AGE_MS after login, at
 * logout, or when MAX_SESSIONS are held and a newer login pushes out the oldest.
 */
import { equalConstantTime } from "../crypto/primitives.js";

export interface Session {
  id: string;
  user: string;
  csrf: string;
  createdMs: number;
  seenMs: number;
}

export interface SessionLimits {
  max: number;
  idleMs: number;
  maxAgeMs: number;
}

export const SESSION_LIMITS: SessionLimits = {
  max: 32,
  idleMs: 15 * 60_000,
  maxAgeMs: 8 * 3600_000,
};

export const COOKIE = "postern_console";
/** The pre-login token's cookie (double submit: the login form carries the same value). */
export const LOGIN_COOKIE = "postern_console_login";

export type Random = (n: number) => Uint8Array;

export const token = (random: Random): string => Buffer.from(random(32)).toString("base64url");

/** Two tokens equal, in time that does not depend on where they differ. */
export function sameToken(a: string | undefined, b: string | undefined): boolean {
  if (a === undefined || b === undefined || a.length !== b.length || a === "") return false;
  return equalConstantTime(Buffer.from(a), Buffer.from(b));
}

export class Sessions {
  readonly #all = new Map<string, Session>();
  constructor(
    private readonly random: Random,
    private readonly now: () => number,
    private readonly limits: SessionLimits = SESSION_LIMITS,
  ) {}

  get size(): number {
    this.#sweep();
    return this.#all.size;
  }

  create(user: string): Session {
    this.#sweep();
    while (this.#all.size >= this.limits.max) {
      const oldest = [...this.#all.values()].sort((a, b) => a.seenMs - b.seenMs)[0];
      if (!oldest) break;
      this.#all.delete(oldest.id);
    }
    const t = this.now();
    const s: Session = {
      id: token(this.random),
      user,
      csrf: token(this.random),
      createdMs: t,
      seenMs: t,
    };
    this.#all.set(s.id, s);
    return s;
  }

  /** The live session with this id (its idle timer restarted), or null. */
  get(id: string | undefined): Session | null {
    if (id === undefined) return null;
    const s = this.#all.get(id);
    if (!s) return null;
    if (this.#expired(s)) {
      this.#all.delete(s.id);
      return null;
    }
    s.seenMs = this.now();
    return s;
  }

  delete(id: string): void {
    this.#all.delete(id);
  }

  #expired(s: Session): boolean {
    const t = this.now();
    return t - s.seenMs > this.limits.idleMs || t - s.createdMs > this.limits.maxAgeMs;
  }

  #sweep(): void {
    for (const s of this.#all.values()) if (this.#expired(s)) this.#all.delete(s.id);
  }
}

/** Cookies of a Cookie header (first value of a name wins; malformed pairs ignored). */
export function parseCookies(header: string | undefined): Map<string, string> {
  const out = new Map<string, string>();
  for (const pair of (header ?? "").split(";").map((p) => p.trim())) {
    const eq = pair.indexOf("=");
    if (eq < 1) continue;
    const name = pair.slice(0, eq).trim();
    if (!out.has(name)) out.set(name, pair.slice(eq + 1).trim());
  }
  return out;
}

export function setCookie(
  name: string,
  value: string,
  opts: { secure: boolean; maxAgeSec?: number },
): string {
  const parts = [`${name}=${value}`, "Path=/", "HttpOnly", "SameSite=Strict"];
  if (opts.secure) parts.push("Secure");
  if (opts.maxAgeSec !== undefined) parts.push(`Max-Age=${opts.maxAgeSec}`);
  return parts.join("; ");
}

/**
 * A POST is from our own pages: its Origin header names this console (scheme and a Host
 * we answer to). Browsers send Origin on every POST; a request without it is refused.
 */
export function sameOrigin(
  origin: string | undefined,
  host: string | undefined,
  secure: boolean,
): boolean {
  if (!origin || !host) return false;
  return origin === `${secure ? "https" : "http"}://${host}`;
}

export interface ThrottleLimits {
  /** Failed logins per address per window. */
  perAddress: number;
  /** Failed logins from everyone per window. */
  total: number;
  windowMs: number;
  /** Addresses remembered at most (the oldest are forgotten first). */
  addresses: number;
}

export const THROTTLE_LIMITS: ThrottleLimits = {
  perAddress: 5,
  total: 30,
  windowMs: 60_000,
  addresses: 1024,
};

/**
 * Failed logins in a sliding window, per address and in all: a password guesser gets 5
 * tries a minute from one address and the console 30 in all, whatever it does.
 */
export class LoginThrottle {
  readonly #byAddress = new Map<string, number[]>();
  #all: number[] = [];
  constructor(
    private readonly now: () => number,
    private readonly limits: ThrottleLimits = THROTTLE_LIMITS,
  ) {}

  /** Whether a login from `address` may be tried now. */
  allowed(address: string): boolean {
    const since = this.now() - this.limits.windowMs;
    this.#all = this.#all.filter((t) => t > since);
    const mine = (this.#byAddress.get(address) ?? []).filter((t) => t > since);
    return mine.length < this.limits.perAddress && this.#all.length < this.limits.total;
  }

  failed(address: string): void {
    const t = this.now();
    const since = t - this.limits.windowMs;
    this.#all.push(t);
    const mine = (this.#byAddress.get(address) ?? []).filter((x) => x > since);
    mine.push(t);
    this.#byAddress.delete(address);
    this.#byAddress.set(address, mine);
    while (this.#byAddress.size > this.limits.addresses) {
      const first = this.#byAddress.keys().next().value;
      if (first === undefined) break;
      this.#byAddress.delete(first);
    }
  }
}
