/**
 * How an admin command reaches the directory: through the running DC's admin socket when
 * there is one, else by opening the database itself (SQLite's locking keeps the two safe).
 * Both paths run the same operation (src/dc/ops.ts) and write the same audit row.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import type { CliEnv } from "../../cmdline/env.js";
import { callAdminSocket } from "../admin-socket.js";
import { openDirectory } from "../directory.js";
import { DirectoryError } from "../errors.js";
import { type Params, runOp } from "../ops.js";
import { adminSocketPath, dbPath, dcDir } from "../paths.js";
import type { OpName } from "../api/protocol.js";

export type AdminPath = "socket" | "direct";

export function currentUser(): string {
  try {
    return os.userInfo().username;
  } catch {
    return `uid ${process.getuid?.() ?? "?"}`;
  }
}

export async function adminCall(
  env: CliEnv,
  op: OpName,
  params: Params = {},
): Promise<{ result: unknown; via: AdminPath }> {
  const sock = adminSocketPath(env.home);
  const actor = currentUser();
  try {
    fs.readdirSync(dcDir(env.home));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "EACCES") {
      throw new DirectoryError("dc.auth", `${dcDir(env.home)} is for root only: run this as root`);
    }
  }
  if (fs.existsSync(sock)) {
    try {
      return { result: await callAdminSocket(sock, { op, params, actor }), via: "socket" };
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === "EACCES" || code === "EPERM") {
        throw new DirectoryError("dc.auth", `the DC's admin socket ${sock} is for root only`);
      }
      if (code !== "ECONNREFUSED" && code !== "ENOENT") throw e;
    }
  }
  if (!fs.existsSync(dbPath(env.home))) {
    throw new DirectoryError(
      "dc.not-initialized",
      `no domain in ${env.home}: run 'postern dc init --domain NAME' first`,
    );
  }
  const dir = openDirectory(dbPath(env.home));
  try {
    return { result: await runOp(dir, `${actor} (direct)`, op, params), via: "direct" };
  } finally {
    dir.close();
  }
}
