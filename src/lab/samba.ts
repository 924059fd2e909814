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
  /** Samba's `server services` (default kdc ldap dns; s3fs adds the SMB server of SYSVOL). */
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
  /**
   * Several `samba-tool ARGS -s CONF` in one Python process in the DC's namespace (one
   * interpreter start instead of one per command: each costs a second or more), stopping
   * at the first that fails (thrown with its output).
   */
  tools(commands: string[][]): string;
  /** `samba` in the foreground, to run in the DC's namespace (for a caller that runs it). */
  argv: string[];
  /** Starts samba (unless started) and waits until its KDC, LDAP (and DNS) listen. */
  waitReady(timeoutMs?: number): Promise<void>;
  /** Waits until the KDC, LDAP (and DNS, when served) listen on the DC's address. */
  waitListening(timeoutMs?: number): Promise<void>;
  stop(): void;
}

/** Bounds samba-tool: a provision or join takes 15-35 s, minutes on a loaded machine. */
function run(cmd: string, args: string[], timeout = 600_000): string {
  const r = spawnSync(cmd, args, { encoding: "utf8", timeout, maxBuffer: 64 << 20 });
  if (r.status !== 0)
    throw new Error(
      `${cmd} ${args.slice(0, 3).join(" ")} failed (${r.status}): ${r.stderr}${r.stdout}`,
    );
  return r.stdout;
}

/**
 * A DC that replicates with another: the RPC endpoints (DRSUAPI), CLDAP, the replication
 * and topology services, besides the KDC, LDAP and DNS.
 */
export const REPLICATING_SERVICES = ["rpc", "ldap", "cldap", "kdc", "drepl", "kcc", "dns"];

/** samba-tool's own main (/usr/bin/samba-tool) over a JSON list of commands. */
const SAMBA_TOOL_BATCH = `
import json, sys
from samba.netcmd.main import cmd_sambatool
for args in json.loads(sys.argv[1]):
    try:
        code = cmd_sambatool()._run("samba-tool", *args)
    except SystemExit as e:
        code = e.code
    if code:
        sys.stderr.write("samba-tool %s: exit %s\\n" % (" ".join(args[:3]), code))
        sys.exit(1)
`;

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
      `[global]\n\tpid directory = ${runDir}\n\tncalrpc dir = ${runDir}/ncalrpc\n${services.includes("s3fs") ? "" : `\twinbindd socket directory = ${runDir}/winbindd\n`}\tserver services = ${services.join(" ")}\n\tprefork children = 1\n`,
    );
  // the shares below SYSVOL_MOUNT, where sambaArgv binds state/sysvol
  fs.writeFileSync(
    conf,
    services.includes("s3fs")
      ? text.replaceAll(`path = ${path.join(dir, "state", "sysvol")}`, `path = ${SYSVOL_MOUNT}`)
      : text,
  );
  return conf;
}

/**
 * Where a DC that serves SYSVOL sees its state/sysvol (a bind mount in its own mount
 * namespace: sambaArgv). smbd serves a share as the connecting user's uid, so every
 * directory above the share must let others through (a packaged DC's /var/lib/samba is
 * 0755), while the DC's directory lies wherever its caller put it: under mkdtemp's 0700, or
 * a lab home's, every principal but root (the administrator) got NT_STATUS_ACCESS_DENIED on
 * the whole share (smbd logs "vfs_ChDir(.../state/sysvol) failed: Permission denied"), a
 * member's machine account reading its GPOs among them. /run/samba is a tmpfs of that
 * namespace alone, and nothing above the DC's directory needs to change.
 */
const SYSVOL_MOUNT = "/run/samba/sysvol";

/**
 * Provisions a new domain in `o.dir` (about 3 s) and returns the DC, not yet started.
 * samba-tool runs inside the DC's namespace: run on the host, provision would register the
 * host's own IPv6 address as the DC's AAAA record (it guesses from the interfaces it sees).
 */
export function provisionSambaDc(o: SambaDcOptions): SambaDc {
  const iface = o.iface ?? "lo";
  const ip = o.ip ?? "127.0.0.1";
  run("ip", [
    "netns",
    "exec",
    o.ns,
    "samba-tool",
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

/**
 * A second DC of `o.realm`'s domain, made in `o.dir` by `samba-tool domain join REALM DC`
 * against the DC at `server` (the whole directory replicated over DRSUAPI, the new DC's A
 * record added to the domain's DNS); returns it, not yet started. The join runs inside
 * the new DC's namespace, which must reach `server` and resolve the domain's names (its
 * resolv.conf naming the domain's DNS: setNetnsResolver).
 */
export function joinSambaDc(o: SambaDcOptions & { server: string }): SambaDc {
  const iface = o.iface ?? "lo";
  const ip = o.ip ?? "127.0.0.1";
  // samba-tool reads a configuration before it joins: a minimal one, not the host's
  const etc = path.join(o.dir, "etc");
  fs.mkdirSync(etc, { recursive: true });
  const joinConf = path.join(etc, "join.conf");
  fs.writeFileSync(
    joinConf,
    `[global]\n\tworkgroup = ${o.domain}\n\trealm = ${o.realm}\n\tnetbios name = ${o.hostName.toUpperCase()}\n`,
  );
  run("ip", [
    "netns",
    "exec",
    o.ns,
    "samba-tool",
    "domain",
    "join",
    o.realm.toLowerCase(),
    "DC",
    "-s",
    joinConf,
    `--server=${o.server}`,
    `--username=${o.domain}\\Administrator`,
    `--password=${o.adminPassword}`,
    `--targetdir=${o.dir}`,
    "--dns-backend=SAMBA_INTERNAL",
    `--option=interfaces=${iface}`,
    "--option=bind interfaces only=yes",
    `--option=netbios name=${o.hostName.toUpperCase()}`,
  ]);
  fs.rmSync(joinConf);
  const conf = sambaConf(o.dir, o.services ?? ["kdc", "ldap", "dns"]);
  return sambaDcHandle(o, conf, ip);
}

/** The handle of a DC provisioned (or joined) earlier in `o.dir`, e.g. by `lab up`. */
export function existingSambaDc(o: SambaDcOptions): SambaDc {
  return sambaDcHandle(o, path.join(o.dir, "etc", "smb.conf"), o.ip ?? "127.0.0.1");
}

/**
 * The resolver of processes run in namespace `ns` through `ip netns exec`, which mounts
 * /etc/netns/<ns>/resolv.conf over /etc/resolv.conf: a DC that replicates finds its
 * partner by the partner's DNS name (<guid>._msdcs.<domain>), so its namespace must ask
 * the domain's DNS. Removed with removeNetnsResolver.
 */
export function setNetnsResolver(ns: string, domain: string, servers: string[]): void {
  const dir = path.join("/etc/netns", ns);
  fs.mkdirSync(dir, { recursive: true });
  const lines = [`search ${domain}`, ...servers.map((s) => `nameserver ${s}`)];
  fs.writeFileSync(path.join(dir, "resolv.conf"), `${lines.join("\n")}\n`);
}

export function removeNetnsResolver(ns: string): void {
  fs.rmSync(path.join("/etc/netns", ns), { recursive: true, force: true });
}

/**
 * smbd (service s3fs, the file server that serves SYSVOL) reaches winbindd at the socket
 * directory compiled in, /run/samba/winbindd, whatever smb.conf says (with another
 * directory every session setup fails with NT_STATUS_INTERNAL_ERROR): such a DC runs in a
 * mount namespace of its own with a private tmpfs on /run/samba, so several DCs never
 * share it; state/sysvol is bound at SYSVOL_MOUNT there. The host only gets the empty mount
 * point.
 */
function sambaArgv(conf: string, services: string[], dir: string): string[] {
  const samba = ["samba", "-s", conf, "-F"];
  if (!services.includes("s3fs")) return samba;
  fs.mkdirSync("/run/samba", { recursive: true });
  return [
    "unshare",
    "--mount",
    "--propagation",
    "private",
    "sh",
    "-c",
    `mount -t tmpfs tmpfs /run/samba && mkdir ${SYSVOL_MOUNT} && mount --bind "$0" ${SYSVOL_MOUNT} && exec "$@"`,
    path.join(dir, "state", "sysvol"),
    ...samba,
  ];
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
    tools: (commands) =>
      run("ip", [
        "netns",
        "exec",
        o.ns,
        "/usr/bin/python3",
        "-c",
        SAMBA_TOOL_BATCH,
        JSON.stringify(commands.map((c) => [...c, "-s", conf])),
      ]),
    argv: sambaArgv(conf, services, o.dir),
    async waitReady(timeoutMs = 30_000) {
      if (!child) child = spawn("ip", ["netns", "exec", o.ns, ...dc.argv], { stdio: "ignore" });
      await dc.waitListening(timeoutMs);
    },
    async waitListening(timeoutMs = 30_000) {
      const ports = [
        88,
        389,
        ...(services.includes("dns") ? [53] : []),
        ...(services.includes("s3fs") ? [445] : []),
      ];
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
