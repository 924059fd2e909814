/**
 * The local admin socket `<home>/dc/admin.sock` (mode 0600 in a root-owned directory, so
 * only root reaches it). Protocol (typed and versioned in api/protocol.ts): one JSON request
 * per line
 *   {"v": 1, "op": "group.add-member", "params": {...}, "actor": "root"}
 * and one JSON reply per line: {"v": 1, "ok": true, "result": ...} or
 * {"v": 1, "ok": false, "code": "dc.cycle", "message": "...", "exitCode": 1}.
 * Every operation is served here, `dump` included (the network API refuses it). Changes
 * are audited by the operations themselves (a refused change leaves the audit as it was);
 * every served `dump` or `backup` adds one row `socket.admin <op>` (the network API audits
 * every call, served or refused: api/admin.ts).
 * The reply is written after the change has committed: an acknowledged change is durable.
 */
import * as fs from "node:fs";
import * as net from "node:net";
import { isPosternError, PosternError } from "../errors.js";
import {
  type AdminReply,
  type AdminRequest,
  PROTOCOL_VERSION,
  parseAdminReply,
  parseAdminRequest,
} from "./api/protocol.js";
import { auditCall } from "./audit.js";
import type { Directory } from "./directory.js";
import { runOp } from "./ops.js";

/** Operations whose every call is audited here: they hand out or copy every key. */
const AUDITED_CALLS: ReadonlySet<string> = new Set(["dump", "backup"]);

function audit(dir: Directory, actor: string, op: string, detail: string): void {
  auditCall(dir, actor, "socket.admin", op, detail.slice(0, 300));
}

export type { AdminReply, AdminRequest };

/** A request line may hold a whole domain IPsec store (10,000 filters are a few MB). */
const MAX_LINE = 64 * 1024 * 1024;

export async function startAdminSocket(
  dir: Directory,
  file: string,
  log: (l: string) => void,
): Promise<{ close(): Promise<void> }> {
  fs.rmSync(file, { force: true });
  const server = net.createServer((sock) => {
    let buf = "";
    let chain = Promise.resolve();
    sock.setEncoding("utf8");
    sock.on("error", () => sock.destroy());
    sock.on("data", (chunk: string) => {
      buf += chunk;
      if (buf.length > MAX_LINE) return sock.destroy();
      let nl = buf.indexOf("\n");
      while (nl >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        chain = chain.then(async () => {
          const reply = await handle(dir, line, log);
          if (!sock.destroyed) sock.write(`${JSON.stringify(reply)}\n`);
        });
        nl = buf.indexOf("\n");
      }
    });
  });
  const old = process.umask(0o177);
  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(file, () => resolve());
    });
  } finally {
    process.umask(old);
  }
  fs.chmodSync(file, 0o600);
  return {
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        fs.rmSync(file, { force: true });
      }),
  };
}

async function handle(dir: Directory, line: string, log: (l: string) => void): Promise<AdminReply> {
  const v = PROTOCOL_VERSION;
  const req = parseAdminRequest(line);
  if (typeof req === "string") return { v, ok: false, code: "usage", message: req, exitCode: 2 };
  const actor = `${req.actor} (admin socket)`;
  try {
    const result = await runOp(dir, actor, req.op, req.params);
    if (AUDITED_CALLS.has(req.op)) audit(dir, actor, req.op, "served");
    return { v, ok: true, result: result ?? null };
  } catch (e) {
    if (isPosternError(e))
      return { v, ok: false, code: e.code, message: e.message, exitCode: e.exitCode };
    log(`admin: internal error in ${req.op}: ${(e as Error).message}`);
    return {
      v,
      ok: false,
      code: "internal",
      message: `internal error: ${(e as Error).message}`,
      exitCode: 70,
    };
  }
}

/** Sends one request; resolves with the result or rejects with the PosternError it carried. */
export function callAdminSocket(
  file: string,
  req: Omit<AdminRequest, "v">,
  timeoutMs = 30_000,
): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const sock = net.createConnection(file);
    let buf = "";
    const timer = setTimeout(() => {
      sock.destroy();
      reject(
        new PosternError(
          "dc.running",
          `no answer from the DC's admin socket ${file} in ${timeoutMs / 1000} s`,
        ),
      );
    }, timeoutMs);
    sock.setEncoding("utf8");
    sock.on("connect", () =>
      sock.write(`${JSON.stringify({ v: PROTOCOL_VERSION, ...req } satisfies AdminRequest)}\n`),
    );
    sock.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    sock.on("data", (chunk: string) => {
      buf += chunk;
      const nl = buf.indexOf("\n");
      if (nl < 0) return;
      clearTimeout(timer);
      sock.end();
      const reply = parseAdminReply(buf.slice(0, nl));
      if (typeof reply === "string") reject(new PosternError("dc.protocol", reply));
      else if (reply.ok) resolve(reply.result);
      else reject(new PosternError(reply.code, reply.message, reply.exitCode));
    });
  });
}
