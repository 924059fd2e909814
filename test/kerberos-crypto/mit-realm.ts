/**
 * A throw-away MIT Kerberos realm for interop tests: scratch directory, database, principals,
 * and a `krb5kdc` on a free loopback port, stopped by pid in `stop()`.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";

export const ALL_AES = [
  "aes256-cts-hmac-sha1-96",
  "aes128-cts-hmac-sha1-96",
  "aes256-cts-hmac-sha384-192",
  "aes128-cts-hmac-sha256-128",
];

export interface MitRealm {
  realm: string;
  dir: string;
  env: NodeJS.ProcessEnv;
  run(cmd: string, args: string[], input?: string): string;
  kadmin(query: string): string;
  stop(): void;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

export async function startMitRealm(realm = "MIT.TEST"): Promise<MitRealm> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "krbc-realm-"));
  const port = await freePort();
  fs.writeFileSync(
    path.join(dir, "krb5.conf"),
    `[libdefaults]\n  default_realm = ${realm}\n  dns_lookup_kdc = false\n  dns_lookup_realm = false\n` +
      `  permitted_enctypes = ${ALL_AES.join(" ")}\n` +
      `[realms]\n  ${realm} = {\n    kdc = 127.0.0.1:${port}\n  }\n`,
  );
  fs.writeFileSync(
    path.join(dir, "kdc.conf"),
    `[kdcdefaults]\n  kdc_ports = ${port}\n  kdc_tcp_ports = ${port}\n` +
      `[realms]\n  ${realm} = {\n    database_name = ${dir}/principal\n    key_stash_file = ${dir}/stash\n` +
      `    acl_file = ${dir}/kadm5.acl\n    master_key_type = aes256-cts-hmac-sha1-96\n` +
      `    supported_enctypes = ${ALL_AES.map((e) => `${e}:normal`).join(" ")}\n  }\n` +
      `[logging]\n  kdc = FILE:${dir}/kdc.log\n`,
  );
  fs.writeFileSync(path.join(dir, "kadm5.acl"), "");
  const env = {
    ...process.env,
    KRB5_CONFIG: path.join(dir, "krb5.conf"),
    KRB5_KDC_PROFILE: path.join(dir, "kdc.conf"),
    KRB5CCNAME: `FILE:${path.join(dir, "ccache")}`,
  };
  const run = (cmd: string, args: string[], input?: string) => {
    const r = spawnSync(cmd, args, { env, input, encoding: "utf8", timeout: 30000 });
    if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")}: ${r.stderr || r.stdout}`);
    return r.stdout;
  };
  run("kdb5_util", ["create", "-s", "-r", realm, "-P", "master-password"]);
  const kdc: ChildProcess = spawn("krb5kdc", ["-n", "-r", realm], { env, stdio: "ignore" });
  const stop = () => {
    if (kdc.pid !== undefined && kdc.exitCode === null) kdc.kill("SIGTERM");
    fs.rmSync(dir, { recursive: true, force: true });
  };
  // Wait (bounded) for the KDC to accept TCP connections.
  for (let i = 0; ; i++) {
    const ok = await new Promise<boolean>((resolve) => {
      const c = net.connect(port, "127.0.0.1", () => {
        c.destroy();
        resolve(true);
      });
      c.on("error", () => resolve(false));
    });
    if (ok) break;
    if (i >= 100) {
      stop();
      throw new Error("krb5kdc did not start within 5 s");
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    realm,
    dir,
    env,
    run,
    kadmin: (q) => run("kadmin.local", ["-r", realm, "-q", q]),
    stop,
  };
}

/** Keys of a keytab as MIT prints them (`klist -ekK`): etype name -> hex key, per principal. */
export function keytabKeys(
  r: MitRealm,
  keytab: string,
): { principal: string; enctype: string; key: string }[] {
  const out: { principal: string; enctype: string; key: string }[] = [];
  for (const line of r.run("klist", ["-ekK", keytab]).split("\n")) {
    const m = /^\s*\d+\s+(\S+)\s+\(([a-z0-9-]+)\)\s+\(0x([0-9a-f]+)\)/.exec(line);
    if (m) out.push({ principal: m[1]!, enctype: m[2]!, key: m[3]! });
  }
  return out;
}
