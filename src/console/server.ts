/**
 * The console's HTTP handler (node:http or node:https calls it; no framework).
 *
 * Every request:
 *   1. its Host must be one this console answers to (421 otherwise: a DNS-rebinding page
 *      names its own host);
 *   2. GET or POST only; security headers on every answer (no script may run, no framing,
 *      no caching, no referrer to other sites);
 *   3. without a live session every path answers 401 with the login form and nothing else;
 *   4. every POST must come from our own pages: Origin is this console, and the form's
 *      token is the session's CSRF token (the login form's, before a session: a token it
 *      also set as a cookie); bodies are URL-encoded forms of at most MAX_BODY bytes;
 *   5. logins are throttled per address and in all (session.ts), checked by the domain's
 *      KDC (auth.ts).
 */
import type * as http from "node:http";
import type { CliEnv } from "../cmdline/env.js";
import type { PasswordCheck } from "./auth.js";
import type { Html } from "./html.js";
import {
  directoryPage,
  firewallPage,
  type Frame,
  loginPage,
  MONITOR_REFRESH_SEC,
  monitorPage,
  PAGES,
  whyPage,
} from "./pages.js";
import { RING_SIZE, Ring, rates, type Sample, sampleOf } from "./samples.js";
import {
  COOKIE,
  LOGIN_COOKIE,
  LoginThrottle,
  parseCookies,
  type Random,
  type Session,
  Sessions,
  sameOrigin,
  sameToken,
  setCookie,
  token,
} from "./session.js";
import {
  explainFlow,
  readDirectory,
  readFirewall,
  readMonitor,
  readStats,
  WHY_FIELDS,
  type WhyForm,
} from "./sources.js";

/** A form is a few short fields: anything larger is refused unread. */
export const MAX_BODY = 8 * 1024;

export interface ConsoleDeps {
  /** The agent's host: its home (control socket, firewall). */
  env: CliEnv;
  /** The DC's home, when this host is a DC (the Directory page). */
  dcEnv: CliEnv | null;
  check: PasswordCheck;
  random: Random;
  now: () => number;
  log: (line: string) => void;
  /** Served over TLS: cookies are Secure, origins https. */
  secure: boolean;
  /** Host header values this console answers to ("127.0.0.1:9390"). */
  hosts: () => ReadonlySet<string>;
}

const HEADERS: Readonly<Record<string, string>> = {
  "Content-Security-Policy":
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  "X-Content-Type-Options": "nosniff",
  "X-Frame-Options": "DENY",
  // not no-referrer: under it a browser sends "Origin: null" on our own forms' POSTs
  "Referrer-Policy": "same-origin",
  "Cache-Control": "no-store",
};

class BodyError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function readForm(req: http.IncomingMessage): Promise<URLSearchParams> {
  return new Promise((resolve, reject) => {
    const type = (req.headers["content-type"] ?? "").split(";")[0]?.trim();
    if (type !== "application/x-www-form-urlencoded")
      return reject(new BodyError(415, "forms only (application/x-www-form-urlencoded)"));
    if (Number(req.headers["content-length"] ?? 0) > MAX_BODY)
      return reject(new BodyError(413, `a form is at most ${MAX_BODY} bytes`));
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        reject(new BodyError(413, `a form is at most ${MAX_BODY} bytes`));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on("end", () => resolve(new URLSearchParams(Buffer.concat(chunks).toString("utf8"))));
    req.on("error", reject);
  });
}

export interface Console {
  handle(req: http.IncomingMessage, res: http.ServerResponse): void;
  /** One sample of the agent's counters into the plots' ring. */
  sample(): Promise<void>;
}

export function createConsole(deps: ConsoleDeps): Console {
  const sessions = new Sessions(deps.random, deps.now);
  const throttle = new LoginThrottle(deps.now);
  const ring = new Ring<Sample>(RING_SIZE);

  const send = (
    res: http.ServerResponse,
    status: number,
    body: Html | string,
    extra: Record<string, string | string[]> = {},
  ) => {
    res.writeHead(status, {
      ...HEADERS,
      "Content-Type":
        typeof body === "string" ? "text/plain; charset=utf-8" : "text/html; charset=utf-8",
      ...extra,
    });
    res.end(String(body));
  };

  const seeOther = (res: http.ServerResponse, to: string, cookies: string[] = []) => {
    res.writeHead(303, {
      ...HEADERS,
      Location: to,
      ...(cookies.length ? { "Set-Cookie": cookies } : {}),
    });
    res.end();
  };

  /**
   * The login form and its pre-login token (the same value in a cookie and in the form).
   * A token the browser already holds is kept: the page's own favicon request would
   * otherwise replace the cookie under the form that is being filled in.
   */
  const login = (
    req: http.IncomingMessage,
    res: http.ServerResponse,
    status: number,
    message: string | null,
    cookies: string[] = [],
  ) => {
    const held = parseCookies(req.headers.cookie).get(LOGIN_COOKIE);
    const t = held && /^[A-Za-z0-9_-]{43}$/.test(held) ? held : token(deps.random);
    send(res, status, loginPage(t, message), {
      "Set-Cookie": [
        ...cookies,
        setCookie(LOGIN_COOKIE, t, { secure: deps.secure, maxAgeSec: 600 }),
      ],
    });
  };

  const address = (req: http.IncomingMessage) => req.socket.remoteAddress ?? "?";

  async function postLogin(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    cookies: Map<string, string>,
  ) {
    const form = await readForm(req);
    if (!sameToken(form.get("login") ?? undefined, cookies.get(LOGIN_COOKIE)))
      return login(
        req,
        res,
        403,
        "the login form expired or did not come from this console: try again",
      );
    const from = address(req);
    if (!throttle.allowed(from)) {
      deps.log(`console: login from ${from} refused: too many failures, wait a minute`);
      return send(res, 429, "too many failed logins: wait a minute", { "Retry-After": "60" });
    }
    const r = await deps.check(form.get("user") ?? "", form.get("password") ?? "");
    if (!r.ok) {
      throttle.failed(from);
      deps.log(`console: ${r.log} (from ${from})`);
      return login(req, res, 401, r.why);
    }
    const s = sessions.create(r.principal);
    deps.log(`console: ${r.principal} logged in from ${from}`);
    seeOther(res, "/monitor", [
      setCookie(COOKIE, s.id, { secure: deps.secure }),
      setCookie(LOGIN_COOKIE, "", { secure: deps.secure, maxAgeSec: 0 }),
    ]);
  }

  const frameOf = (
    s: Session,
    title: string,
  ): Frame & { user: { name: string; csrf: string } } => ({
    title,
    user: { name: s.user, csrf: s.csrf },
  });

  const emptyWhy = (): WhyForm => ({ src: "", dst: "", proto: "tcp", sport: "", dport: "" });

  async function page(s: Session, path: string): Promise<Html | null> {
    const title = PAGES.find((p) => p.path === path)?.title;
    if (!title) return null;
    const frame = frameOf(s, title);
    switch (path) {
      case "/monitor":
        return monitorPage(
          { ...frame, refreshSec: MONITOR_REFRESH_SEC },
          await readMonitor(deps.env.home),
          rates(ring.items()),
          deps.now(),
        );
      case "/firewall":
        return firewallPage(frame, await readFirewall(deps.env.home));
      case "/directory":
        return directoryPage(frame, deps.dcEnv ? await readDirectory(deps.dcEnv) : null);
      default:
        return whyPage(frame, emptyWhy(), null);
    }
  }

  async function route(req: http.IncomingMessage, res: http.ServerResponse) {
    const host = req.headers.host;
    if (!host || !deps.hosts().has(host))
      return send(res, 421, "this console does not answer to that host name");
    const method = req.method ?? "";
    if (method !== "GET" && method !== "POST")
      return send(res, 405, "GET or POST only", { Allow: "GET, POST" });
    const path = new URL(req.url ?? "/", "http://console").pathname;
    const cookies = parseCookies(req.headers.cookie);
    if (method === "POST" && !sameOrigin(req.headers.origin, host, deps.secure)) {
      deps.log(
        `console: POST ${path} from ${address(req)} refused: Origin ${req.headers.origin ?? "absent"}`,
      );
      return send(res, 403, "refused: this form did not come from this console (Origin)");
    }
    if (method === "POST" && path === "/login") return postLogin(req, res, cookies);
    const s = sessions.get(cookies.get(COOKIE));
    if (!s) return login(req, res, 401, null);
    if (method === "GET") {
      if (path === "/") return seeOther(res, "/monitor");
      const body = await page(s, path);
      return body ? send(res, 200, body) : send(res, 404, "no such page");
    }
    const form = await readForm(req);
    if (!sameToken(form.get("csrf") ?? undefined, s.csrf)) {
      deps.log(`console: POST ${path} from ${address(req)} refused: no or wrong CSRF token`);
      return send(res, 403, "refused: the form's token is missing or wrong (reload the page)");
    }
    if (path === "/logout") {
      sessions.delete(s.id);
      deps.log(`console: ${s.user} logged out`);
      return login(req, res, 200, "Logged out.", [
        setCookie(COOKIE, "", { secure: deps.secure, maxAgeSec: 0 }),
      ]);
    }
    if (path === "/why") {
      const f = emptyWhy();
      for (const k of WHY_FIELDS) f[k] = (form.get(k) ?? "").trim().slice(0, 64);
      return send(res, 200, whyPage(frameOf(s, "Why?"), f, await explainFlow(deps.env, f)));
    }
    return send(res, 404, "no such form");
  }

  return {
    handle(req, res) {
      route(req, res).catch((e: unknown) => {
        if (e instanceof BodyError) return send(res, e.status, e.message);
        deps.log(`console: ${req.method} ${req.url}: ${(e as Error).message}`);
        if (!res.headersSent) send(res, 500, "internal error (see the console's log)");
        else res.destroy();
      });
    },
    async sample() {
      const s = await readStats(deps.env.home);
      if (s.ok) ring.push(sampleOf(s.value, deps.now()));
    },
  };
}
