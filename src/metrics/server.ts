/**
 * `/metrics` over plain HTTP, on the address the configuration gives (`--metrics
 * HOST:PORT`; off by default; the documented default address is loopback). It answers GET
 * and HEAD of /metrics and nothing else, reads no request body, and keeps no connection
 * idle for long: a scraper is the only expected client. The exposition holds no secret
 * (principals and addresses of peers at most), but it says who talks to whom, so it is
 * served on loopback unless the operator names another address.
 */
import * as http from "node:http";
import { UsageError } from "../errors.js";
import type { MetricsSource } from "./registry.js";

export const DEFAULT_AGENT_METRICS = "127.0.0.1:9851";
export const DEFAULT_DC_METRICS = "127.0.0.1:9852";

export interface MetricsListen {
  host: string;
  port: number;
}

/** `HOST:PORT`, `[V6]:PORT` or `:PORT` (loopback), for --metrics. */
export function parseMetricsListen(text: string, option = "--metrics"): MetricsListen {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(text);
  const port = m ? Number(m[3]) : Number.NaN;
  if (!m || port > 65535)
    throw new UsageError(`${option} needs HOST:PORT (e.g. 127.0.0.1:9851), not '${text}'`);
  const host = m[1] ?? (m[2] === "" ? "127.0.0.1" : (m[2] as string));
  return { host, port };
}

export interface MetricsServer {
  port: number;
  close(): Promise<void>;
}

export function startMetricsServer(
  listen: MetricsListen,
  source: MetricsSource,
  log: (line: string) => void,
): Promise<MetricsServer> {
  const server = http.createServer((req, res) => {
    const url = (req.url ?? "").split("?")[0];
    if (url !== "/metrics") {
      res.writeHead(404, { "content-type": "text/plain" }).end("only /metrics is served here\n");
      return;
    }
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { allow: "GET, HEAD", "content-type": "text/plain" }).end();
      return;
    }
    source.render().then(
      (text) => {
        res.writeHead(200, { "content-type": source.contentType });
        res.end(req.method === "HEAD" ? undefined : text);
      },
      (e: Error) => {
        log(`metrics: cannot collect: ${e.message}`);
        res.writeHead(503, { "content-type": "text/plain" }).end("collection failed\n");
      },
    );
  });
  server.headersTimeout = 5_000;
  server.requestTimeout = 10_000;
  server.keepAliveTimeout = 5_000;
  server.maxHeadersCount = 50;
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(listen.port, listen.host, () => {
      server.off("error", reject);
      const addr = server.address();
      const port = typeof addr === "object" && addr ? addr.port : listen.port;
      log(
        `metrics: serving http://${listen.host.includes(":") ? `[${listen.host}]` : listen.host}:${port}/metrics`,
      );
      resolve({
        port,
        close: () =>
          new Promise<void>((r) => {
            server.closeAllConnections();
            server.close(() => r());
          }),
      });
    });
  });
}
