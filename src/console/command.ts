/**
 * `postern console`: the web console, a process of its own (docs/console.md says why).
 *   1. check the options: the listen address is loopback unless --allow-remote, and a
 *      remote console needs TLS (the password crosses the network);
 *   2. listen (node:http, or node:https with --tls-cert/--tls-key), print the URL;
 *   3. sample the agent's counters every --sample-ms for the plots;
 *   4. serve until SIGTERM or SIGINT.
 */
import * as fs from "node:fs";
import * as http from "node:http";
import * as https from "node:https";
import * as net from "node:net";
import * as path from "node:path";
import type { CliEnv } from "../cmdline/env.js";
import { defineCommand, type Parsed } from "../cmdline/grammar.js";
import { randomBytes } from "../crypto/primitives.js";
import { UsageError } from "../errors.js";
import { memberPasswordCheck } from "./auth.js";
import { SAMPLE_MS } from "./samples.js";
import { createConsole } from "./server.js";

export const DEFAULT_PORT = 9390;

/** "127.0.0.1:9390", "[::1]:9390", "127.0.0.1" -> host and port. */
export function parseListen(text: string): { host: string; port: number } {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([0-9.]+))(?::(\d{1,5}))?$/.exec(text);
  const host = m?.[1] ?? m?.[2];
  if (!m || host === undefined || net.isIP(host) === 0)
    throw new UsageError(
      `console: --listen ${text}: expected ADDR:PORT (an IP address; [::1]:PORT for IPv6)`,
    );
  const port = m[3] === undefined ? DEFAULT_PORT : Number(m[3]);
  if (port > 65535) throw new UsageError(`console: --listen ${text}: port ${port} is above 65535`);
  return { host, port };
}

export function isLoopback(host: string): boolean {
  return /^127\./.test(host) || host === "::1";
}

const hostPort = (host: string, port: number) =>
  net.isIPv6(host) ? `[${host}]:${port}` : `${host}:${port}`;

async function run(p: Parsed, env: CliEnv): Promise<number> {
  const { host, port } = parseListen(p.str("listen") ?? `127.0.0.1:${DEFAULT_PORT}`);
  const cert = p.str("tls-cert");
  const key = p.str("tls-key");
  if ((cert === undefined) !== (key === undefined))
    throw new UsageError("console: --tls-cert and --tls-key go together");
  if (!isLoopback(host)) {
    if (!p.flag("allow-remote"))
      throw new UsageError(
        `console: ${host} is not a loopback address; the console listens on loopback unless --allow-remote is given`,
      );
    if (cert === undefined)
      throw new UsageError(
        "console: a console reachable from the network needs --tls-cert and --tls-key (the administrator's password crosses it)",
      );
  }
  const sampleMs = p.int("sample-ms", SAMPLE_MS, 200, 60_000);
  const dcHome =
    p.str("dc-home") ?? (fs.existsSync(path.join(env.home, "dc")) ? env.home : undefined);
  const names = p.list("server-name");
  let hosts = new Set<string>();
  const app = createConsole({
    env,
    dcEnv: dcHome === undefined ? null : { ...env, home: path.resolve(env.cwd, dcHome) },
    check: memberPasswordCheck(env.home),
    random: randomBytes,
    now: Date.now,
    log: env.err,
    secure: cert !== undefined,
    hosts: () => hosts,
  });
  const tls =
    cert !== undefined && key !== undefined
      ? {
          cert: fs.readFileSync(path.resolve(env.cwd, cert)),
          key: fs.readFileSync(path.resolve(env.cwd, key)),
        }
      : null;
  const server = tls ? https.createServer(tls, app.handle) : http.createServer(app.handle);
  server.requestTimeout = 30_000;
  server.headersTimeout = 10_000;
  server.maxHeadersCount = 50;
  server.maxConnections = 64;
  await new Promise<void>((resolve, reject) => {
    server.once("error", (e) =>
      reject(new UsageError(`console: cannot listen on ${hostPort(host, port)}: ${e.message}`)),
    );
    server.listen(port, host, () => resolve());
  });
  const bound = (server.address() as net.AddressInfo).port;
  // a browser leaves the scheme's default port out of Host
  const withPort = (name: string) =>
    bound === (tls ? 443 : 80) ? [name, `${name}:${bound}`] : [`${name}:${bound}`];
  hosts = new Set(
    [
      net.isIPv6(host) ? `[${host}]` : host,
      ...(isLoopback(host) ? ["localhost"] : []),
      ...names,
    ].flatMap(withPort),
  );
  const url = `${tls ? "https" : "http"}://${hostPort(host, bound)}/`;
  env.out(`console: listening on ${url}`);
  env.err(
    `console: agent ${path.join(env.home, "agent", "agent.sock")}; directory ${dcHome ?? "none (not a DC)"}`,
  );
  await app.sample();
  const timer = setInterval(() => void app.sample(), sampleMs);
  await new Promise<void>((resolve) => {
    const stop = () => {
      process.off("SIGTERM", stop);
      process.off("SIGINT", stop);
      resolve();
    };
    process.on("SIGTERM", stop);
    process.on("SIGINT", stop);
  });
  clearInterval(timer);
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
  env.err("console: stopped");
  return 0;
}

export const consoleCommand = defineCommand({
  name: "console",
  summary: "the web console: IP Security Monitor, Windows Firewall, Directory, Why?",
  help: `postern console - the web console

SYNOPSIS
  postern console [--listen ADDR:PORT] [--allow-remote] [--tls-cert FILE --tls-key FILE]
                  [--server-name NAME]... [--dc-home DIR] [--sample-ms N]

DESCRIPTION
  Serves the state of this host as web pages, as Windows' MMC snap-ins showed it:

    IP Security Monitor  main mode (IKE) and quick mode SAs: peers, principals, algorithms,
                         lifetimes, bytes; drops by reason; plots of throughput and drops
                         over the last 10 minutes; reloads itself every 5 s
    Windows Firewall     mode, exceptions, the bypass list, the live bypass decision of
                         each IKE SA and why, recent drops with the peer's identity
    Directory            (on a DC) computers, groups with nested members, GPO links and
                         what each computer effectively gets
    Why?                 a form: source, destination, protocol, ports -> postern explain's
                         trace, step by step

  It reads the running agent over its control socket (<home>/agent/agent.sock), the
  firewall's settings and logs under <home>/firewall/, and the DC through its admin socket
  (the DC's home: --dc-home, or <home> when it holds a DC). It runs in the foreground until
  SIGTERM or SIGINT and prints "console: listening on URL" when it serves.

  Log in with a domain administrator's name and password (Administrator, BIGFIRM\\NAME or
  NAME@REALM): the domain's KDC checks it (an AS exchange), this host's keytab checks the
  KDC (a ticket for this host's own host/ principal), and the ticket's PAC must hold Domain
  Admins or be the Administrator's. No page and no data is served without a session (401);
  sessions are cookies (HttpOnly, SameSite=Strict, Secure with TLS) that end after 15
  minutes idle, 8 hours, or at Log out; every form carries a per-session token and must
  come from the console's own origin; failed logins are limited to 5 a minute per address
  and 30 a minute in all.

OPTIONS
  --listen ADDR:PORT  where to listen (default 127.0.0.1:${DEFAULT_PORT}; port 0 picks one)
  --allow-remote      allow a non-loopback address (then --tls-cert and --tls-key are needed)
  --tls-cert FILE, --tls-key FILE
                      serve HTTPS with this PEM certificate and key
  --server-name NAME  a further host name browsers use to reach the console (repeatable);
                      requests naming any other host are refused (DNS rebinding)
  --dc-home DIR       the DC's home, for the Directory page (default: <home> if it holds one)
  --sample-ms N       how often the plots sample the agent's counters (default ${SAMPLE_MS})

EXIT STATUS
  0 stopped by a signal; 2 bad options or the address cannot be listened on.

EXAMPLES
  On server1, then open http://127.0.0.1:${DEFAULT_PORT}/ in a browser on server1:
    postern console
  On a DC reached from an administrator's workstation:
    postern console --listen 10.0.0.10:${DEFAULT_PORT} --allow-remote \\
      --tls-cert /etc/postern/console.pem --tls-key /etc/postern/console.key \\
      --server-name dc1.bigfirm.com

SEE ALSO
  postern explain, netsh ipsec dynamic show mmsas, netsh firewall show state,
  docs/console.md
`,
  options: [
    {
      name: "listen",
      type: "string",
      value: "ADDR:PORT",
      help: `where to listen (default 127.0.0.1:${DEFAULT_PORT})`,
    },
    { name: "allow-remote", type: "boolean", help: "allow a non-loopback listen address" },
    {
      name: "tls-cert",
      type: "string",
      value: "FILE",
      help: "PEM certificate (HTTPS)",
      complete: "file",
    },
    {
      name: "tls-key",
      type: "string",
      value: "FILE",
      help: "PEM private key (HTTPS)",
      complete: "file",
    },
    {
      name: "server-name",
      type: "string",
      value: "NAME",
      multiple: true,
      help: "a further host name of the console",
    },
    {
      name: "dc-home",
      type: "string",
      value: "DIR",
      help: "the DC's home (Directory page)",
      complete: "file",
    },
    { name: "sample-ms", type: "string", value: "N", help: "plot sampling period in ms" },
  ],
  run,
});
