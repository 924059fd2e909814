/**
 * `postern dc init|start|backup|restore`: create, run and keep the domain controller.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { Command, CliEnv } from "../cmdline/env.js";
import { UsageError } from "../errors.js";
import { adminCall, currentUser } from "./admin/client.js";
import { expectPositional, intOption, parseArgs } from "../cmdline/argv.js";
import { ensureDcCertificate } from "./api/certificate.js";
import { formatFingerprint } from "./api/channel.js";
import { checkDatabaseFile, restoreDirectory } from "./backup.js";
import { type StartKdc, startDc } from "./daemon.js";
import { initDirectory } from "./directory.js";
import { kdcStarter } from "../kerberos/kdc/dc-seam.js";
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
                   [--backup-dir DIR] [--limits FILE]
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

async function init(argv: string[], env: CliEnv): Promise<number> {
  const p = parseArgs(
    argv,
    ["domain", "netbios", "admin-password-file", "dc-name", "dc-address"],
    [],
    "dc init",
  );
  expectPositional(
    p,
    0,
    "postern dc init --domain DNSNAME [--netbios NAME] [--admin-password-file FILE]",
  );
  const domain = p.values.get("domain");
  if (!domain) throw new UsageError("dc init: --domain DNSNAME is required");
  if (fs.existsSync(dbPath(env.home)))
    throw new DirectoryError(
      "dc.already-initialized",
      `${dbPath(env.home)} already holds a domain`,
    );
  const password = await readAdminPassword(p.values.get("admin-password-file"), env.cwd);
  fs.mkdirSync(dcDir(env.home), { recursive: true, mode: 0o700 });
  const file = dbPath(env.home);
  let dir: ReturnType<typeof initDirectory>;
  try {
    dir = initDirectory(file, {
      dnsName: domain,
      netbios: p.values.get("netbios"),
      adminPassword: password,
      dcName: p.values.get("dc-name") ?? defaultDcName(),
      dcAddress: p.values.get("dc-address") ?? defaultDcAddress(),
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

async function start(argv: string[], env: CliEnv): Promise<number> {
  const p = parseArgs(
    argv,
    ["listen", "kdc-port", "dns-port", "api-port", "backup-dir", "limits"],
    [],
    "dc start",
  );
  expectPositional(
    p,
    0,
    "postern dc start [--listen ADDR] [--kdc-port N] [--dns-port N] [--api-port N] [--backup-dir DIR] [--limits FILE]",
  );
  const backupDir = p.values.get("backup-dir");
  const limitsFile = p.values.get("limits");
  const dc = await startDc({
    home: env.home,
    host: p.values.get("listen") ?? "0.0.0.0",
    kdcPort: intOption(p, "kdc-port", DEFAULT_KDC_PORT, 0, 65535, "dc start"),
    dnsPort: intOption(p, "dns-port", DEFAULT_DNS_PORT, 0, 65535, "dc start"),
    apiPort: intOption(p, "api-port", DEFAULT_API_PORT, 0, 65535, "dc start"),
    log: (l) => env.err(l),
    startKdc: START_KDC,
    backupDir: backupDir === undefined ? undefined : path.resolve(env.cwd, backupDir),
    ...(limitsFile ? { limits: readDcLimits(path.resolve(env.cwd, limitsFile)) } : {}),
  });
  // The handlers first, then "ready": whoever reads it may signal us at once.
  const stopped = new Promise<void>((resolve) => {
    const stop = (sig: string) => {
      env.err(`dc: ${sig}: shutting down`);
      process.off("SIGTERM", onTerm);
      process.off("SIGINT", onInt);
      resolve();
    };
    const onTerm = () => stop("SIGTERM");
    const onInt = () => stop("SIGINT");
    process.on("SIGTERM", onTerm);
    process.on("SIGINT", onInt);
  });
  env.out(
    `dc: ready (dns port ${dc.dnsPort}, api port ${dc.apiPort}, api certificate ${dc.apiFingerprint})`,
  );
  await stopped;
  await dc.stop();
  return 0;
}

/** The pid of the DC running on this home (pid and start time as its pid file says), or null. */
const dcRunning = (home: string): number | null => pidFileOwner(pidPath(home));

async function backup(argv: string[], env: CliEnv): Promise<number> {
  const [file] = expectPositional(
    parseArgs(argv, [], [], "dc backup"),
    1,
    "postern dc backup FILE",
  );
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

function restore(argv: string[], env: CliEnv): number {
  const [file] = expectPositional(
    parseArgs(argv, [], [], "dc restore"),
    1,
    "postern dc restore FILE",
  );
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

export const dcCommand: Command = {
  name: "dc",
  summary: "the domain controller: init, start, backup, restore",
  help: HELP,
  async run(argv, env) {
    const [verb, ...rest] = argv;
    switch (verb) {
      case "init":
        return init(rest, env);
      case "start":
        return start(rest, env);
      case "backup":
        return backup(rest, env);
      case "restore":
        return restore(rest, env);
      default:
        throw new UsageError(
          `dc: expected init, start, backup or restore${verb ? `, not '${verb}'` : ""}`,
        );
    }
  },
};
