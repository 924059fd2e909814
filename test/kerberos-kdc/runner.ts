/**
 * Starts the real `postern kdc` runner (dist/src/cli/main.js) as a child process on a free
 * loopback port with a JSON principal file, and writes an MIT krb5.conf (multi-line realm
 * block) pointing at it. Stopped by its pid; the scratch directory removed.
 */
import { type ChildProcess, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { KdcDbFile } from "../../src/kerberos/kdc/db-file.js";
import { BIN } from "../helpers/cli.js";
import { freePort, mitTool } from "../kerberos-codec/mit-realm.js";
import assert from "node:assert/strict";

export const ENCTYPE_NAMES: Record<number, string> = {
  17: "aes128-cts-hmac-sha1-96",
  18: "aes256-cts-hmac-sha1-96",
  19: "aes128-cts-hmac-sha256-128",
  20: "aes256-cts-hmac-sha384-192",
};

export interface RunningKdc {
  dir: string;
  port: number;
  env: NodeJS.ProcessEnv;
  child: ChildProcess;
  output: () => string;
  stop(): Promise<string>;
}

export function mitConfig(realm: string, port: number, enctypes: number[]): string {
  const names = enctypes.map((e) => ENCTYPE_NAMES[e]).join(" ");
  return `[libdefaults]
 default_realm = ${realm}
 dns_lookup_kdc = false
 dns_lookup_realm = false
 rdns = false
 dns_uri_lookup = false
 permitted_enctypes = ${names}
 default_tkt_enctypes = ${names}
 default_tgs_enctypes = ${names}
[realms]
 ${realm} = {
  kdc = 127.0.0.1:${port}
  primary_kdc = 127.0.0.1:${port}
 }
`;
}

export async function startRunner(tag: string, db: KdcDbFile): Promise<RunningKdc> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `pkd-${tag}-`));
  const port = await freePort();
  const dbFile = path.join(dir, "db.json");
  fs.writeFileSync(dbFile, JSON.stringify(db));
  fs.writeFileSync(path.join(dir, "krb5.conf"), mitConfig(db.realm, port, db.enctypes ?? [18, 17]));
  const child = spawn(process.execPath, [BIN, "kdc", "--db", dbFile, "--port", String(port)], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout!.on("data", (d) => {
    out += String(d);
  });
  child.stderr!.on("data", (d) => {
    out += String(d);
  });
  // Up to 30 s: on a loaded 2-vCPU machine (load average 20) node needed more than 5 s.
  for (let i = 0; i < 1200 && !out.includes("listening"); i++) {
    if (child.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 25));
  }
  if (!out.includes("listening")) {
    if (child.pid && child.exitCode === null) process.kill(child.pid, "SIGKILL");
    throw new Error(`postern kdc did not start: ${out}`);
  }
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    HOME: dir,
    KRB5_CONFIG: path.join(dir, "krb5.conf"),
    KRB5CCNAME: `FILE:${path.join(dir, "ccache")}`,
    KRB5RCACHEDIR: dir,
  };
  return {
    dir,
    port,
    env,
    child,
    output: () => out,
    async stop() {
      if (child.pid !== undefined && child.exitCode === null) {
        const done = new Promise((r) => child.once("exit", r));
        process.kill(child.pid, "SIGTERM");
        await Promise.race([done, new Promise((r) => setTimeout(r, 3000))]);
        if (child.exitCode === null) process.kill(child.pid, "SIGKILL");
      }
      fs.rmSync(dir, { recursive: true, force: true });
      return out;
    },
  };
}

/** Runs an MIT tool without blocking the event loop (an in-process KDC must answer it). */
export function run(tool: string, args: string[], env: NodeJS.ProcessEnv, input = "") {
  return new Promise<{ status: number; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(mitTool(tool), args, { env, stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    const timer = setTimeout(() => child.kill("SIGKILL"), 20_000);
    child.stdout.on("data", (d) => {
      stdout += String(d);
    });
    child.stderr.on("data", (d) => {
      stderr += String(d);
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ status: code ?? -1, stdout, stderr });
    });
    child.stdin.on("error", () => undefined); // a tool that exits before reading stdin
    child.stdin.end(input);
  });
}

export async function ok(tool: string, args: string[], env: NodeJS.ProcessEnv, input = "") {
  const r = await run(tool, args, env, input);
  assert.equal(r.status, 0, `${tool} ${args.join(" ")}: ${r.stderr}`);
  return r.stdout;
}
