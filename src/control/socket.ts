/**
 * The agent's control socket `<home>/agent/agent.sock` (Unix stream, mode 0600): a client
 * writes one request line, the agent answers one reply line and closes. The messages are
 * those of control/protocol.ts, checked on receipt at both ends:
 *   server  1. read up to a newline (at most MAX_REQUEST_BYTES)  2. decodeRequest
 *           3. the handler's typed answer, or a typed error reply  4. end
 *   client  1. connect, write encodeRequest(command)  2. read to end  3. decodeReply
 */
import * as fs from "node:fs";
import * as net from "node:net";
import { PosternError } from "../errors.js";
import {
  ControlError,
  type ControlArgs,
  type ControlCommand,
  type ControlReplies,
  decodeReply,
  decodeRequest,
  encodeRequest,
  errorReply,
  MAX_REQUEST_BYTES,
  okReply,
} from "./protocol.js";

/**
 * One answer per command (exhaustive by its type); each may throw ControlError, any other
 * error is answered with code "failed".
 */
export type ControlHandler = {
  [C in ControlCommand]: (args?: ControlArgs) => ControlReplies[C] | Promise<ControlReplies[C]>;
};

/** The reply line to one received request line (exported for tests). */
export async function answerRequest(line: string, handle: ControlHandler): Promise<string> {
  try {
    const req = decodeRequest(line);
    return okReply(await handle[req.command](req.args ?? {}));
  } catch (e) {
    const code = e instanceof ControlError ? e.code : "failed";
    return errorReply({ code, message: (e as Error).message });
  }
}

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
      if (nl < 0 && buf.length < MAX_REQUEST_BYTES) return;
      answered = true;
      conn.end(await answerRequest((nl < 0 ? buf : buf.slice(0, nl)).trim(), handle));
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

/**
 * Asks the agent at `sockPath` one command. Throws PosternError "agent-control" with one
 * line when the agent cannot be reached, does not answer in time, or answers an error.
 */
export async function requestControl<C extends ControlCommand>(
  sockPath: string,
  command: C,
  timeoutMs = 5000,
  args?: ControlArgs,
): Promise<ControlReplies[C]> {
  const text = await new Promise<string>((resolve, reject) => {
    const conn = net.createConnection(sockPath);
    let data = "";
    const timer = setTimeout(() => {
      conn.destroy();
      reject(
        new PosternError("agent-control", `no answer from ${sockPath} within ${timeoutMs} ms`),
      );
    }, timeoutMs);
    conn.setEncoding("utf8");
    conn.on("connect", () => conn.write(encodeRequest(command, args)));
    conn.on("data", (c: string) => {
      data += c;
    });
    conn.on("end", () => {
      clearTimeout(timer);
      resolve(data);
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
  try {
    return decodeReply(command, text);
  } catch (e) {
    throw new PosternError("agent-control", `the agent answered: ${(e as Error).message}`);
  }
}
