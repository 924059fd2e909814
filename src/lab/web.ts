/**
 * The lab's two small network tools, run inside a host's namespace:
 *   web    server1's secure website: HTTP on port 80 answering the article's page;
 *   fetch  a client's request: GET with a deadline, the outcome as one JSON line
 *          {"served": bool, "status"?, "error"?, "ms", "connectMs"?, "at"}, timed after one
 *          untimed GET on loopback that warms Node's HTTP client (warmUp).
 */
import * as http from "node:http";
import { WELCOME } from "./topology.js";

export async function serveWeb(address: string, port: number): Promise<never> {
  const server = http.createServer((req, res) => {
    res.writeHead(200, { "content-type": "text/html" });
    res.end(`<html><body><h1>${WELCOME}</h1><p>${req.socket.remoteAddress}</p></body></html>\n`);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, address, () => resolve());
  });
  process.stdout.write(`web: ready on ${address}:${port}\n`);
  return new Promise<never>(() => {
    process.once("SIGTERM", () => process.exit(0));
  });
}

export interface FetchOutcome {
  served: boolean;
  status?: number;
  error?: string;
  /** From the request (its first SYN) to the page's last byte, or to the failure. */
  ms: number;
  /** From the request to the TCP connection up: one round trip (SYN, SYN-ACK), IKE's included. */
  connectMs?: number;
  /**
   * When the request began (its first SYN), ms since the epoch to a microsecond: one clock
   * with the agents' "IKE step" lines, for bench/lab.ts's timeline.
   */
  at: number;
}

/**
 * One untimed GET from a server of this process on loopback, so that `ms` times the page
 * and not the tool: Node loads and compiles its HTTP client at the first request, 5-7 ms
 * measured in xpclient's namespace (a cold GET 12-17 ms, the next one in the same process
 * 6.6-10.5 ms, curl 8-11 ms, at load 6-8). A failure here (no loopback) only skips it.
 */
async function warmUp(): Promise<void> {
  const server = http.createServer((_req, res) => res.end(WELCOME));
  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(0, "127.0.0.1", () => resolve());
    });
    const { port } = server.address() as { port: number };
    await once(`http://127.0.0.1:${port}/`, 1000);
  } catch {
    // no loopback in this namespace: the fetch is timed cold
  } finally {
    server.close();
  }
}

export async function fetchPage(url: string, timeoutMs: number): Promise<FetchOutcome> {
  await warmUp();
  return once(url, timeoutMs);
}

function once(url: string, timeoutMs: number): Promise<FetchOutcome> {
  const t0 = performance.now();
  const ms = () => Math.round((performance.now() - t0) * 10) / 10;
  let connectMs: number | undefined;
  const at = Math.round((performance.timeOrigin + t0) * 1000) / 1000;
  const timing = () => ({ ...(connectMs !== undefined ? { connectMs } : {}), at });
  return new Promise((resolve) => {
    const req = http.get(url, { timeout: timeoutMs, agent: false }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => {
        body += c;
      });
      res.on("end", () =>
        resolve({
          served: body.includes(WELCOME),
          status: res.statusCode ?? 0,
          ms: ms(),
          ...timing(),
        }),
      );
      res.on("error", (e) => resolve({ served: false, error: e.message, ms: ms(), ...timing() }));
    });
    req.once("socket", (s) =>
      s.once("connect", () => {
        connectMs = Math.round((performance.now() - t0) * 10) / 10;
      }),
    );
    const timer = setTimeout(() => {
      req.destroy();
      resolve({ served: false, error: `no answer within ${timeoutMs} ms`, ms: ms(), ...timing() });
    }, timeoutMs);
    req.on("error", (e) => {
      clearTimeout(timer);
      resolve({ served: false, error: e.message, ms: ms(), ...timing() });
    });
    req.on("close", () => clearTimeout(timer));
  });
}
