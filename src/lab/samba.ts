/**
 * A Samba 4.17 AD DC provisioned in a directory of its own and run inside a network
 * namespace, for the lab (`postern lab up --dc samba`) and for the suites that use Samba as
 * the peer (see /work/shared/reference/interop-notes.md, Samba facts). The DC keeps its
 * pid file, sockets and logs under its directory, so several can run side by side; it is
 * stopped by its pid and the processes left in its namespace, never by name.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";

/** True when Debian's samba, samba-ad-dc and samba-ad-provision are installed. */
export function haveSamba(): boolean {
  return (
    fs.existsSync("/usr/bin/samba-tool") &&
    fs.existsSync("/usr/sbin/samba") &&
    fs.existsSync("/usr/share/samba/setup/ad-schema")
  );
}

export interface SambaDcOptions {
  /** An empty directory that holds the DC's databases, configuration, pid file and logs. */
  dir: string;
  /** The network namespace the DC runs in (created by the caller). */
  ns: string;
  /** Kerberos realm, e.g. SAMBA.TEST; the DNS domain is its lower case. */
  realm: string;
  /** NetBIOS domain name, e.g. SAMBA. */
  domain: string;
  /** The DC's host name (first label), e.g. dc1. */
  hostName: string;
  adminPassword: string;
  /** Interface the DC binds to inside the namespace (default lo). */
  iface?: string;
  /** The DC's address on that interface (registered in DNS); 127.0.0.1 for lo. */
  ip?: string;
  /** Samba's `server services` (default kdc ldap dns). */
  services?: string[];
}

export interface SambaDc {
  dir: string;
  conf: string;
  ns: string;
  ip: string;
  realm: string;
  dnsDomain: string;
  /** `samba-tool ARGS -s CONF`, run on the host (local database); throws with its output. */
  tool(...args: string[]): string;
  /** Samba's KDC, LDAP (and DNS, when served) answer on the DC's address. */
  waitReady(timeoutMs?: number): Promise<void>;
  stop(): void;
}

function run(cmd: string, args: string[], timeout = 120_000): string {
  const r = spawnSync(cmd, args, { encoding: "utf8", timeout });
  if (r.status !== 0)
    throw new Error(
      `${cmd} ${args.slice(0, 3).join(" ")} failed (${r.status}): ${r.stderr}${r.stdout}`,
    );
  return r.stdout;
}

function sambaConf(dir: string, services: string[]): string {
  const conf = path.join(dir, "etc", "smb.conf");
  const runDir = path.join(dir, "run");
  fs.mkdirSync(runDir, { recursive: true });
  const text = fs
    .readFileSync(conf, "utf8")
    .replace(/^\s*dns forwarder = .*\n/m, "")
    .replace(/log file = .*/, `log file = ${dir}/log.%m`)
    .replace(
      "[global]\n",
      `[global]\n\tpid directory = ${runDir}\n\tncalrpc dir = ${runDir}/ncalrpc\n\twinbindd socket directory = ${runDir}/winbindd\n\tserver services = ${services.join(" ")}\n`,
    );
  fs.writeFileSync(conf, text);
  return conf;
}

/** Provisions a new domain in `o.dir` (about 3 s) and returns the DC, not yet started. */
export function provisionSambaDc(o: SambaDcOptions): SambaDc {
  const iface = o.iface ?? "lo";
  const ip = o.ip ?? "127.0.0.1";
  run("samba-tool", [
    "domain",
    "provision",
    `--realm=${o.realm}`,
    `--domain=${o.domain}`,
    "--server-role=dc",
    "--dns-backend=SAMBA_INTERNAL",
    `--targetdir=${o.dir}`,
    `--host-name=${o.hostName}`,
    ...(iface === "lo" ? [] : [`--host-ip=${ip}`]),
    `--adminpass=${o.adminPassword}`,
    `--option=interfaces=${iface}`,
    "--option=bind interfaces only=yes",
  ]);
  const conf = sambaConf(o.dir, o.services ?? ["kdc", "ldap", "dns"]);
  return sambaDcHandle(o, conf, ip);
}

function sambaDcHandle(o: SambaDcOptions, conf: string, ip: string): SambaDc {
  let child: ChildProcess | undefined;
  const services = o.services ?? ["kdc", "ldap", "dns"];
  const dc: SambaDc = {
    dir: o.dir,
    conf,
    ns: o.ns,
    ip,
    realm: o.realm,
    dnsDomain: o.realm.toLowerCase(),
    tool: (...args) => run("samba-tool", [...args, "-s", conf]),
    async waitReady(timeoutMs = 30_000) {
      if (!child) {
        child = spawn("ip", ["netns", "exec", o.ns, "samba", "-s", conf, "-F"], {
          stdio: "ignore",
        });
      }
      const ports = [88, 389, ...(services.includes("dns") ? [53] : [])];
      const deadline = Date.now() + timeoutMs;
      for (const port of ports) {
        for (;;) {
          const r = spawnSync("ip", [
            "netns",
            "exec",
            o.ns,
            "bash",
            "-c",
            `exec 3<>/dev/tcp/${ip}/${port}`,
          ]);
          if (r.status === 0) break;
          if (Date.now() > deadline)
            throw new Error(
              `Samba DC ${o.hostName}: nothing listens on ${ip}:${port} after ${timeoutMs} ms`,
            );
          await new Promise((r2) => setTimeout(r2, 250));
        }
      }
    },
    stop() {
      stopSamba(o.dir, o.ns, child);
      child = undefined;
    },
  };
  return dc;
}

/**
 * Stops a DC: SIGTERM to samba (its pid file, else the child), then whatever is left in the
 * namespace is killed after 2 s. The namespace and the directory are the caller's.
 */
export function stopSamba(dir: string, ns: string, child: ChildProcess | undefined): void {
  const pidFile = path.join(dir, "run", "samba.pid");
  const pid = fs.existsSync(pidFile) ? Number(fs.readFileSync(pidFile, "utf8").trim()) : child?.pid;
  if (pid) {
    try {
      process.kill(pid, "SIGTERM");
    } catch {}
  }
  for (let i = 0; i < 20; i++) {
    const pids = spawnSync("ip", ["netns", "pids", ns], { encoding: "utf8" })
      .stdout.split(/\s+/)
      .filter(Boolean);
    if (pids.length === 0) break;
    if (i >= 8)
      for (const p of pids) {
        try {
          process.kill(Number(p), "SIGKILL");
        } catch {}
      }
    spawnSync("sleep", ["0.25"]);
  }
}
