/**
 * A throw-away MIT Kerberos realm for interop tests (see
 * /work/shared/reference/interop-notes.md): its own directory, KRB5_CONFIG and
 * KRB5_KDC_PROFILE, `kdb5_util create -s`, principals added with `kadmin.local`, and
 * `krb5kdc -n` listening on loopback only, on a free port, killed by its pid in `stop()`.
 * No root needed. Importing this module has no side effects.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import * as dgram from "node:dgram";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";

export const MIT_REALM = "MIT.TEST";
export const ENCTYPES =
  "aes256-cts-hmac-sha1-96 aes128-cts-hmac-sha1-96 aes256-cts-hmac-sha384-192 aes128-cts-hmac-sha256-128";

/** Finds the MIT tools even when /usr/sbin is not on PATH. */
export function mitTool(name: string): string {
  for (const dir of ["/usr/sbin", "/usr/bin", "/sbin", "/bin"]) {
    const p = path.join(dir, name);
    if (fs.existsSync(p)) return p;
  }
  return name;
}

export function haveMit(): boolean {
  return ["kdb5_util", "kadmin.local", "krb5kdc", "kinit", "klist", "kvno"].every((t) =>
    fs.existsSync(mitTool(t)),
  );
}

export interface RunResult {
  status: number;
  stdout: string;
  stderr: string;
}

export interface MitRealm {
  dir: string;
  realm: string;
  port: number;
  /** Environment for MIT tools: KRB5_CONFIG, KRB5_KDC_PROFILE, KRB5CCNAME in `dir`. */
  env: NodeJS.ProcessEnv;
  run(tool: string, args: string[], opts?: { input?: string; env?: NodeJS.ProcessEnv }): RunResult;
  /** Runs and throws with stderr unless the exit status is 0. */
  ok(tool: string, args: string[], opts?: { input?: string; env?: NodeJS.ProcessEnv }): string;
  /** Like `ok`, but without blocking the event loop (for tools talking to our own sockets). */
  okAsync(
    tool: string,
    args: string[],
    opts?: { input?: string; env?: NodeJS.ProcessEnv },
  ): Promise<string>;
  /** A krb5.conf naming `kdcAddress` as the realm's KDC (for the capture proxy). */
  writeClientConfig(file: string, kdcAddress: string, extra?: string): void;
  startKdc(): Promise<void>;
  stop(): void;
}

async function portFree(port: number): Promise<boolean> {
  const tcp = await new Promise<boolean>((resolve) => {
    const s = net.createServer();
    s.once("error", () => resolve(false));
    s.listen(port, "127.0.0.1", () => s.close(() => resolve(true)));
  });
  if (!tcp) return false;
  return new Promise<boolean>((resolve) => {
    const u = dgram.createSocket("udp4");
    u.once("error", () => resolve(false));
    u.bind(port, "127.0.0.1", () => u.close(() => resolve(true)));
  });
}

/** A loopback port free for both TCP and UDP (bounded tries). */
export async function freePort(): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const port = 20000 + Math.floor(Math.random() * 40000);
    if (await portFree(port)) return port;
  }
  throw new Error("no free loopback port found in 50 tries");
}

function clientConfig(realm: string, kdc: string, extra: string): string {
  return `[libdefaults]
 default_realm = ${realm}
 dns_lookup_kdc = false
 dns_lookup_realm = false
 rdns = false
 permitted_enctypes = ${ENCTYPES}
${extra}
[realms]
 ${realm} = {
  kdc = ${kdc}
 }
`;
}

export async function createMitRealm(tag: string): Promise<MitRealm> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `pkc-${tag}-`));
  const port = await freePort();
  const realm = MIT_REALM;
  fs.writeFileSync(path.join(dir, "krb5.conf"), clientConfig(realm, `127.0.0.1:${port}`, ""));
  fs.writeFileSync(
    path.join(dir, "kdc.conf"),
    `[kdcdefaults]
 kdc_listen = 127.0.0.1:${port}
 kdc_tcp_listen = 127.0.0.1:${port}
[realms]
 ${realm} = {
  database_name = ${dir}/principal
  key_stash_file = ${dir}/stash
  acl_file = ${dir}/kadm5.acl
  supported_enctypes = ${ENCTYPES.split(" ")
    .map((e) => `${e}:normal`)
    .join(" ")}
  default_principal_flags = +preauth
  max_life = 10h
  max_renewable_life = 7d
 }
[dbmodules]
 ${realm} = {
  disable_last_success = true
 }
[logging]
 kdc = FILE:${dir}/kdc.log
`,
  );
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    HOME: dir,
    KRB5_CONFIG: path.join(dir, "krb5.conf"),
    KRB5_KDC_PROFILE: path.join(dir, "kdc.conf"),
    KRB5CCNAME: `FILE:${path.join(dir, "ccache")}`,
    KRB5RCACHEDIR: dir,
  };
  let kdc: ChildProcess | undefined;

  const run = (
    tool: string,
    args: string[],
    opts: { input?: string; env?: NodeJS.ProcessEnv } = {},
  ) => {
    const r = spawnSync(mitTool(tool), args, {
      env: { ...env, ...opts.env },
      input: opts.input ?? "",
      encoding: "utf8",
      timeout: 20_000,
    });
    return {
      status: r.status ?? -1,
      stdout: r.stdout ?? "",
      stderr: r.stderr ?? String(r.error ?? ""),
    };
  };
  const ok = (
    tool: string,
    args: string[],
    opts: { input?: string; env?: NodeJS.ProcessEnv } = {},
  ) => {
    const r = run(tool, args, opts);
    if (r.status !== 0)
      throw new Error(`${tool} ${args.join(" ")} failed (${r.status}): ${r.stderr}`);
    return r.stdout;
  };

  const okAsync = (
    tool: string,
    args: string[],
    opts: { input?: string; env?: NodeJS.ProcessEnv } = {},
  ) =>
    new Promise<string>((resolve, reject) => {
      const child = spawn(mitTool(tool), args, {
        env: { ...env, ...opts.env },
        stdio: ["pipe", "pipe", "pipe"],
      });
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
        if (code === 0) resolve(stdout);
        else reject(new Error(`${tool} ${args.join(" ")} failed (${code}): ${stderr}`));
      });
      child.stdin.end(opts.input ?? "");
    });

  ok("kdb5_util", ["create", "-s", "-r", realm, "-P", "master-password"]);

  return {
    dir,
    realm,
    port,
    env,
    run,
    ok,
    okAsync,
    writeClientConfig(file, kdcAddress, extra = "") {
      fs.writeFileSync(file, clientConfig(realm, kdcAddress, extra));
    },
    async startKdc() {
      kdc = spawn(mitTool("krb5kdc"), ["-n", "-P", path.join(dir, "kdc.pid")], {
        env,
        stdio: ["ignore", "ignore", "pipe"],
      });
      let stderr = "";
      kdc.stderr?.on("data", (d) => {
        stderr += String(d);
      });
      for (let i = 0; i < 100; i++) {
        if (kdc.exitCode !== null) throw new Error(`krb5kdc exited: ${stderr}`);
        const up = await new Promise<boolean>((resolve) => {
          const s = net.connect(port, "127.0.0.1", () => {
            s.destroy();
            resolve(true);
          });
          s.once("error", () => resolve(false));
        });
        if (up) return;
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error(`krb5kdc did not listen on 127.0.0.1:${port} within 100 tries`);
    },
    stop() {
      if (kdc?.pid !== undefined && kdc.exitCode === null) process.kill(kdc.pid, "SIGTERM");
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
