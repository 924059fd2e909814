/**
 * The agent's control socket `<home>/agent/agent.sock` (Unix stream, mode 0600): a client
 * writes one command line, the agent answers one JSON document and closes. Commands:
 *   stats   the data path's counters (drops by reason, packets, per-SA bytes/packets)
 * and `requestStats` is the client side used by `postern agent stats`.
 */
import * as fs from "node:fs";
import * as net from "node:net";
import { PosternError } from "../errors.js";

export type ControlHandler = (command: string) => unknown | Promise<unknown>;

const MAX_COMMAND_BYTES = 1024;

export async function startControlServer(
  sockPath: string,
  handle: ControlHandler,
): Promise<net.Server> {
  fs.rmSync(sockPath, { force: true });
  const server = net.createServer((conn) => {
    let buf = "";
    let answered = false;
    conn.setEncoding("utf8");
    conn.on("data", async (chunk: string) => {
      if (answered) return;
      buf += chunk;
      const nl = buf.indexOf("\n");
      if (nl < 0 && buf.length < MAX_COMMAND_BYTES) return;
      answered = true;
      const command = (nl < 0 ? buf : buf.slice(0, nl)).trim();
      let reply: unknown;
      try {
        reply = await handle(command);
      } catch (e) {
        reply = { error: (e as Error).message };
      }
      conn.end(`${JSON.stringify(reply)}\n`);
    });
    conn.on("error", () => conn.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(sockPath, () => resolve());
  });
  fs.chmodSync(sockPath, 0o600);
  return server;
}

export async function requestControl(
  sockPath: string,
  command: string,
  timeoutMs = 5000,
): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const conn = net.createConnection(sockPath);
    let data = "";
    const timer = setTimeout(() => {
      conn.destroy();
      reject(
        new PosternError("agent-control", `no answer from ${sockPath} within ${timeoutMs} ms`),
      );
    }, timeoutMs);
    conn.setEncoding("utf8");
    conn.on("connect", () => conn.write(`${command}\n`));
    conn.on("data", (c: string) => {
      data += c;
    });
    conn.on("end", () => {
      clearTimeout(timer);
      try {
        resolve(JSON.parse(data));
      } catch {
        reject(new PosternError("agent-control", `unreadable answer from ${sockPath}`));
      }
    });
    conn.on("error", (e) => {
      clearTimeout(timer);
      reject(
        new PosternError(
          "agent-control",
          `cannot reach the agent at ${sockPath} (${(e as NodeJS.ErrnoException).code ?? e.message}); is \`postern agent\` running with this --home?`,
        ),
      );
    });
  });
}
