/**
 * The lab's two small network tools, run inside a host's namespace:
 *   web    server1's secure website: HTTP on port 80 answering the article's page;
 *   fetch  a client's request: GET with a deadline, the outcome as one JSON line
 *          {"served": bool, "status"?, "body"?, "error"?, "ms"}.
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
  ms: number;
}

export function fetchPage(url: string, timeoutMs: number): Promise<FetchOutcome> {
  const t0 = performance.now();
  const ms = () => Math.round(performance.now() - t0);
  return new Promise((resolve) => {
    const req = http.get(url, { timeout: timeoutMs, agent: false }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => {
        body += c;
      });
      res.on("end", () =>
        resolve({ served: body.includes(WELCOME), status: res.statusCode ?? 0, ms: ms() }),
      );
      res.on("error", (e) => resolve({ served: false, error: e.message, ms: ms() }));
    });
    const timer = setTimeout(() => {
      req.destroy();
      resolve({ served: false, error: `no answer within ${timeoutMs} ms`, ms: ms() });
    }, timeoutMs);
    req.on("error", (e) => {
      clearTimeout(timer);
      resolve({ served: false, error: e.message, ms: ms() });
    });
    req.on("close", () => clearTimeout(timer));
  });
}
