/**
 * `postern dc start`: the running domain controller.
 *  1. open the directory (refuse if another DC holds <home>/dc/dc.pid: a live process of
 *     the pid and start time the file names, src/platform/pidfile.ts);
 *  2. start DNS (UDP+TCP), the API over TLS (its certificate made now if the home has none;
 *     the log prints its fingerprint), the admin socket;
 *  3. start the KDC through the `startKdc` seam; until the Kerberos issue fills it, the log
 *     says that Kerberos is not served, and nothing listens on the KDC port;
 *  4. on stop(): close listeners, checkpoint the WAL, close the database, remove the pid file.
 */
import * as fs from "node:fs";
import type { KdcServerCounters } from "../kerberos/kdc/server.js";
import { dcMetrics } from "../metrics/dc.js";
import { type MetricsListen, startMetricsServer } from "../metrics/server.js";
import type { LogLevel } from "../platform/log.js";
import { claimPidFile, PidFileHeld, releasePidFile } from "../platform/pidfile.js";
import { createMachineAuthenticator } from "./api/auth.js";
import { ensureDcCertificate } from "./api/certificate.js";
import { formatFingerprint } from "./api/channel.js";
import type { ApiLimits } from "./api/limits.js";
import { createNegotiateAuthenticator } from "./api/negotiate.js";
import { startApiServer } from "./api/server.js";
import { startAdminSocket } from "./admin-socket.js";
import { type Directory, type DirectoryDeps, defaultDeps, openDirectory } from "./directory.js";
import { startDnsServer } from "./dns/server.js";
import { createDirectoryZone } from "./dns/source.js";
import { DirectoryError } from "./errors.js";
import type { DcLimits, ServiceLimits } from "./limits.js";
import { adminSocketPath, dbPath, pidPath } from "./paths.js";
import { createPrincipalDatabase, type PrincipalDatabase } from "./principals.js";

export interface Closable {
  close(): Promise<void>;
}

/** The running KDC: its UDP/TCP port (the kernel's pick when asked for 0). */
export interface RunningKdc extends Closable {
  port?: number;
  /** The KDC's counters (metrics). */
  counters?: () => KdcServerCounters;
}

/** The seam the Kerberos issue fills: serve AS/TGS on UDP and TCP `port` from `principals`. */
export type StartKdc = (deps: {
  principals: PrincipalDatabase;
  host: string;
  port: number;
  log: (l: string, level?: LogLevel) => void;
  /** The domain the KDC serves: realm (upper-case DNS name), DNS name, NetBIOS name. */
  domain: { realm: string; dnsName: string; netbios: string };
  /** TCP limits and the UDP amplification bound (docs/dc.md "Limits"); defaults if absent. */
  limits?: ServiceLimits;
}) => Promise<RunningKdc>;

export interface DcOptions {
  home: string;
  host: string;
  kdcPort: number;
  dnsPort: number;
  apiPort: number;
  /** The daemon's logger (src/platform/log.ts); the level defaults to info. */
  log: (line: string, level?: LogLevel) => void;
  startKdc?: StartKdc | undefined;
  deps?: DirectoryDeps;
  /** A directory besides the home where network backups may be written. */
  backupDir?: string | undefined;
  apiLimits?: Partial<ApiLimits> | undefined;
  /** `dc start --limits FILE`; defaults for what it leaves out. */
  limits?: DcLimits;
  /** `dc start --metrics HOST:PORT`: Prometheus /metrics there (absent: not served). */
  metrics?: MetricsListen | undefined;
}

export interface RunningDc {
  dir: Directory;
  /** The port /metrics is served on, when asked for. */
  metricsPort?: number;
  dnsPort: number;
  apiPort: number;
  /** SHA-256 of the API's certificate, as `AB:CD:...`. */
  apiFingerprint: string;
  stop(): Promise<void>;
}

function claimDcPidFile(file: string): void {
  try {
    claimPidFile(file);
  } catch (e) {
    if (e instanceof PidFileHeld)
      throw new DirectoryError("dc.running", `a DC is already running on this home (pid ${e.pid})`);
    throw e;
  }
}

export async function startDc(opts: DcOptions): Promise<RunningDc> {
  if (!fs.existsSync(dbPath(opts.home))) {
    throw new DirectoryError(
      "dc.not-initialized",
      `no domain in ${opts.home}: run 'postern dc init --domain NAME' first`,
    );
  }
  claimDcPidFile(pidPath(opts.home));
  const dir = openDirectory(dbPath(opts.home), opts.deps ?? defaultDeps());
  const started: Closable[] = [];
  try {
    const d = dir.domain();
    let kdcPort = opts.kdcPort;
    const dns = await startDnsServer(
      // the SRV records name the port the KDC bound (it differs from opts' when that is 0)
      createDirectoryZone(dir, {
        get kdcPort() {
          return kdcPort;
        },
      }),
      opts.host,
      opts.dnsPort,
      opts.log,
      opts.limits?.dns,
    );
    started.push(dns);
    const cert = ensureDcCertificate(
      opts.home,
      { hostName: d.dcHostName, address: d.dcAddress },
      dir.deps.clock(),
      dir.deps.random,
    );
    const fingerprint = formatFingerprint(cert.fingerprint);
    if (cert.created) opts.log(`dc: made the API's TLS certificate, SHA-256 ${fingerprint}`);
    const api = await startApiServer(
      {
        dir,
        authenticators: [
          createNegotiateAuthenticator(dir, {
            now: () => dir.deps.clock().getTime(),
            certFingerprint: cert.fingerprint,
          }),
          createMachineAuthenticator(dir, dir.deps.clock),
        ],
        log: opts.log,
        kdcPort: () => kdcPort,
        dnsPort: () => dns.udpPort(),
        tls: cert,
        admin: { home: opts.home, backupDir: opts.backupDir },
        ...(opts.apiLimits ? { limits: opts.apiLimits } : {}),
      },
      opts.host,
      opts.apiPort,
    );
    started.push(api);
    started.push(await startAdminSocket(dir, adminSocketPath(opts.home), opts.log));
    let runningKdc: RunningKdc | undefined;
    if (opts.startKdc) {
      const kdc = await opts.startKdc({
        principals: createPrincipalDatabase(dir),
        host: opts.host,
        port: opts.kdcPort,
        log: opts.log,
        domain: { realm: d.realm, dnsName: d.dnsName, netbios: d.netbios },
        ...(opts.limits?.kdc ? { limits: opts.limits.kdc } : {}),
      });
      started.push(kdc);
      runningKdc = kdc;
      kdcPort = kdc.port ?? opts.kdcPort;
      opts.log(`dc: Kerberos KDC for ${d.realm} on ${opts.host} port ${opts.kdcPort} (udp, tcp)`);
    } else {
      opts.log(
        `dc: Kerberos is NOT served yet (the KDC is not built into this postern); port ${opts.kdcPort} is unused`,
      );
    }
    opts.log(
      `dc: domain ${d.dnsName} (${d.netbios}, ${d.sid}); DNS on ${opts.host} port ${dns.udpPort()} (udp, tcp); API (TLS, certificate SHA-256 ${fingerprint}) on port ${api.port()}; admin socket ${adminSocketPath(opts.home)}`,
    );
    let metricsPort: number | undefined;
    if (opts.metrics) {
      const countObjects = dir.db.prepare("SELECT kind, count(*) AS n FROM objects GROUP BY kind");
      const m = await startMetricsServer(
        opts.metrics,
        dcMetrics({
          ...(runningKdc?.counters ? { kdc: runningKdc.counters } : {}),
          dns: { stats: dns.stats, queries: dns.queries },
          api: () => api.requests(),
          objects: () =>
            Object.fromEntries(
              (countObjects.all() as { kind: string; n: number }[]).map((r) => [r.kind, r.n]),
            ),
        }),
        opts.log,
      );
      started.push(m);
      metricsPort = m.port;
    }
    let stopped = false;
    return {
      dir,
      ...(metricsPort === undefined ? {} : { metricsPort }),
      dnsPort: dns.udpPort(),
      apiPort: api.port(),
      apiFingerprint: fingerprint,
      async stop() {
        if (stopped) return;
        stopped = true;
        for (const s of started.reverse()) await s.close();
        dir.db.pragma("wal_checkpoint(TRUNCATE)");
        dir.close();
        releasePidFile(pidPath(opts.home));
        opts.log("dc: stopped");
      },
    };
  } catch (e) {
    for (const s of started.reverse()) await s.close();
    dir.close();
    releasePidFile(pidPath(opts.home));
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "EADDRINUSE" || code === "EACCES" || code === "EADDRNOTAVAIL") {
      throw new DirectoryError(
        "dc.listen",
        `cannot listen on ${opts.host}: ${(e as Error).message}`,
      );
    }
    throw e;
  }
}
