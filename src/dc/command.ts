/**
 * `postern dc init|start|backup|restore`: create, run and keep the domain controller.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { CliEnv } from "../cmdline/env.js";
import { defineCommand, type Parsed } from "../cmdline/grammar.js";
import { adminCall, currentUser } from "./admin/client.js";
import { ensureDcCertificate } from "./api/certificate.js";
import { formatFingerprint } from "./api/channel.js";
import { checkDatabaseFile, restoreDirectory } from "./backup.js";
import { type StartKdc, startDc } from "./daemon.js";
import { initDirectory } from "./directory.js";
import { LOG_OPTIONS } from "../cmdline/log-options.js";
import { kdcStarter } from "../kerberos/kdc/dc-seam.js";
import { DEFAULT_DC_METRICS, parseMetricsListen } from "../metrics/server.js";
import { createLogger, journaldStream, parseLogFormat, parseLogLevel } from "../platform/log.js";
import { notifySystemd } from "../platform/sd-notify.js";
import { DirectoryError } from "./errors.js";
import { readDcLimits } from "./limits.js";
import { pidFileOwner } from "../platform/pidfile.js";
import { readAdminPassword } from "./password.js";
import {
  dbPath,
  dcDir,
  DEFAULT_API_PORT,
  DEFAULT_DNS_PORT,
  DEFAULT_KDC_PORT,
  pidPath,
} from "./paths.js";

const HELP = `postern dc - the domain controller (directory, Kerberos KDC, DNS, admin and policy API)

SYNOPSIS
  postern dc init --domain DNSNAME [--netbios NAME] [--admin-password-file FILE]
                  [--dc-name NAME] [--dc-address IP]
  postern dc start [--listen ADDR] [--kdc-port N] [--dns-port N] [--api-port N]
                   [--backup-dir DIR] [--limits FILE] [--metrics HOST:PORT|on]
                   [--log-format text|json] [--log-level LEVEL]
  postern dc backup FILE
  postern dc restore FILE

init     creates <home>/dc/ with the directory: the domain SID, Administrator (the password
         is read from FILE, else prompted on a terminal, else the first line of stdin),
         krbtgt, Domain Admins/Users/Computers/Controllers and this DC's computer account.
         --dc-name defaults to this host's name, --dc-address to its first IPv4 address.
         Also makes the API's TLS certificate (<home>/dc/api-cert.pem, key api-key.pem
         0600) and prints its SHA-256 fingerprint, which members pin when they join.
start    runs in the foreground until SIGTERM or SIGINT. Defaults: --listen 0.0.0.0,
         --kdc-port ${DEFAULT_KDC_PORT}, --dns-port ${DEFAULT_DNS_PORT}, --api-port ${DEFAULT_API_PORT} (AD Web Services' port).
         The API speaks only TLS; --backup-dir DIR lets administrators write backups
         there over the network API (besides under the home).
         --limits FILE: JSON limits of the KDC's and DNS's TCP and UDP serving (docs/dc.md).
         --metrics: Prometheus metrics over HTTP at /metrics (off by default; \`on\`:
         ${DEFAULT_DC_METRICS}; no authentication, so keep it on loopback; docs/metrics.md).
backup   an online copy (SQLite backup API) while the DC runs or not; checked afterwards.
restore  replaces the directory with FILE (checked first); the DC must be stopped.
`;

/** The KDC that `dc start` runs: ours, over the directory (src/kerberos/kdc/dc-seam.ts). */
const START_KDC: StartKdc = (deps) =>
  kdcStarter({
    realm: deps.domain.realm,
    dnsDomain: deps.domain.dnsName,
    netbiosDomain: deps.domain.netbios,
  })(deps);

function defaultDcName(): string {
  const h = (os.hostname().split(".")[0] ?? "dc1").replace(/[^A-Za-z0-9-]/g, "").slice(0, 15);
  return h.length > 0 && !/^\d+$/.test(h) ? h : "dc1";
}

function defaultDcAddress(): string {
  for (const list of Object.values(os.networkInterfaces())) {
    for (const a of list ?? []) if (a.family === "IPv4" && !a.internal) return a.address;
  }
  return "127.0.0.1";
}

async function init(p: Parsed, env: CliEnv): Promise<number> {
  const domain = p.str("domain") as string;
  if (fs.existsSync(dbPath(env.home)))
    throw new DirectoryError(
      "dc.already-initialized",
      `${dbPath(env.home)} already holds a domain`,
    );
  const password = await readAdminPassword(p.str("admin-password-file"), env.cwd);
  fs.mkdirSync(dcDir(env.home), { recursive: true, mode: 0o700 });
  const file = dbPath(env.home);
  let dir: ReturnType<typeof initDirectory>;
  try {
    dir = initDirectory(file, {
      dnsName: domain,
      netbios: p.str("netbios"),
      adminPassword: password,
      dcName: p.str("dc-name") ?? defaultDcName(),
      dcAddress: p.str("dc-address") ?? defaultDcAddress(),
      actor: currentUser(),
    });
  } catch (e) {
    for (const f of [file, `${file}-wal`, `${file}-shm`]) fs.rmSync(f, { force: true });
    throw e;
  }
  const d = dir.domain();
  const cert = ensureDcCertificate(
    env.home,
    { hostName: d.dcHostName, address: d.dcAddress },
    dir.deps.clock(),
    dir.deps.random,
  );
  dir.close();
  fs.chmodSync(file, 0o600);
  const apiFingerprint = formatFingerprint(cert.fingerprint);
  if (env.json) env.out(JSON.stringify({ ...d, apiFingerprint }, null, 2));
  else
    env.out(
      `domain ${d.dnsName} (NetBIOS ${d.netbios}, realm ${d.realm}, SID ${d.sid}); DC ${d.dcHostName} at ${d.dcAddress}; directory ${file}\nAPI certificate SHA-256 fingerprint ${apiFingerprint} (members pin it: join --dc-fingerprint, or the join token carries it)`,
    );
  return 0;
}

async function start(p: Parsed, env: CliEnv): Promise<number> {
  const backupDir = p.str("backup-dir");
  const limitsFile = p.str("limits");
  const metrics = p.str("metrics");
  const log = createLogger({
    component: "",
    format: parseLogFormat(p.str("log-format")),
    journald: journaldStream(env.vars),
    minLevel: parseLogLevel(p.str("log-level"), "info"),
    write: env.err,
  });
  const dc = await startDc({
    home: env.home,
    host: p.str("listen") ?? "0.0.0.0",
    kdcPort: p.int("kdc-port", DEFAULT_KDC_PORT, 0, 65535),
    dnsPort: p.int("dns-port", DEFAULT_DNS_PORT, 0, 65535),
    apiPort: p.int("api-port", DEFAULT_API_PORT, 0, 65535),
    log,
    startKdc: START_KDC,
    backupDir: backupDir === undefined ? undefined : path.resolve(env.cwd, backupDir),
    ...(limitsFile ? { limits: readDcLimits(path.resolve(env.cwd, limitsFile)) } : {}),
    ...(metrics === undefined
      ? {}
      : { metrics: parseMetricsListen(metrics === "on" ? DEFAULT_DC_METRICS : metrics) }),
  });
  // The handlers first, then "ready": whoever reads it may signal us at once.
  const stopped = new Promise<void>((resolve) => {
    const stop = (sig: string) => {
      log(`dc: ${sig}: shutting down`);
      process.off("SIGTERM", onTerm);
      process.off("SIGINT", onInt);
      resolve();
    };
    const onTerm = () => stop("SIGTERM");
    const onInt = () => stop("SIGINT");
    process.on("SIGTERM", onTerm);
    process.on("SIGINT", onInt);
  });
  const ready = `dc: ready (dns port ${dc.dnsPort}, api port ${dc.apiPort}, api certificate ${dc.apiFingerprint})`;
  env.out(ready);
  notifySystemd(`READY=1\nSTATUS=${ready}\nMAINPID=${process.pid}`, env.vars, log.warning);
  await stopped;
  notifySystemd("STOPPING=1", env.vars, log.warning);
  await dc.stop();
  return 0;
}

/** The pid of the DC running on this home (pid and start time as its pid file says), or null. */
const dcRunning = (home: string): number | null => pidFileOwner(pidPath(home));

async function backup(p: Parsed, env: CliEnv): Promise<number> {
  const [file] = p.positionals;
  const target = path.resolve(env.cwd, file as string);
  if (fs.existsSync(target))
    throw new DirectoryError("dc.backup", `${target} already exists; choose a new file`);
  const { via } = await adminCall(env, "backup", { file: target });
  const domain = checkDatabaseFile(target);
  env.out(
    env.json
      ? JSON.stringify({ file: target, domain, via })
      : `backup of ${domain} written to ${target} (${via === "socket" ? "online, from the running DC" : "DC not running"}); integrity ok`,
  );
  return 0;
}

function restore(p: Parsed, env: CliEnv): number {
  const [file] = p.positionals;
  const pid = dcRunning(env.home);
  if (pid !== null)
    throw new DirectoryError(
      "dc.running",
      `the DC is running (pid ${pid}); stop it before a restore`,
    );
  const domain = restoreDirectory(env.home, path.resolve(env.cwd, file as string));
  env.out(
    env.json
      ? JSON.stringify({ restored: domain })
      : `directory of ${domain} restored from ${file}`,
  );
  return 0;
}

const port = (name: string, what: string, dflt: number) => ({
  name,
  type: "string" as const,
  value: "N",
  help: `${what} port (default ${dflt}; 0 picks a free one)`,
});

export const dcCommand = defineCommand({
  name: "dc",
  summary: "the domain controller: init, start, backup, restore",
  help: HELP,
  subcommands: [
    {
      name: "init",
      summary: "create <home>/dc/ with a new domain's directory",
      options: [
        {
          name: "domain",
          type: "string",
          value: "DNSNAME",
          required: true,
          help: "the domain's DNS name",
        },
        {
          name: "netbios",
          type: "string",
          value: "NAME",
          help: "NetBIOS domain name (default: from --domain)",
        },
        {
          name: "admin-password-file",
          type: "string",
          value: "FILE",
          help: "Administrator's password (first line)",
          complete: "file",
        },
        {
          name: "dc-name",
          type: "string",
          value: "NAME",
          help: "this DC's name (default: the host name)",
        },
        {
          name: "dc-address",
          type: "string",
          value: "IP",
          help: "this DC's address (default: first IPv4 address)",
        },
      ],
      run: init,
    },
    {
      name: "start",
      summary: "run the DC in the foreground until SIGTERM or SIGINT",
      options: [
        { name: "listen", type: "string", value: "ADDR", help: "listen address (default 0.0.0.0)" },
        port("kdc-port", "Kerberos", DEFAULT_KDC_PORT),
        port("dns-port", "DNS", DEFAULT_DNS_PORT),
        port("api-port", "admin and policy API", DEFAULT_API_PORT),
        {
          name: "backup-dir",
          type: "string",
          value: "DIR",
          help: "the directory where admins may write online backups over the API",
        },
        {
          name: "limits",
          type: "string",
          value: "FILE",
          help: "JSON limits of the KDC's and DNS's TCP and UDP serving (docs/dc.md)",
        },
        {
          name: "metrics",
          type: "string",
          value: "HOST:PORT",
          help: `serve Prometheus /metrics there ('on': ${DEFAULT_DC_METRICS}; off by default)`,
        },
        ...LOG_OPTIONS,
      ],
      run: start,
    },
    {
      name: "backup",
      summary: "an online copy of the directory to FILE",
      args: "FILE",
      run: backup,
    },
    {
      name: "restore",
      summary: "replace the directory with FILE (DC stopped)",
      args: "FILE",
      run: restore,
    },
  ],
});
