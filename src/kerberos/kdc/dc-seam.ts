/**
 * The DC's `startKdc` seam (src/dc/daemon.ts: `(deps: {principals, host, port, log}) =>
 * Promise<Closable>`), filled by our KDC. The seam does not carry the realm, so the DC
 * wiring names it when it builds the starter:
 *
 *   startKdc: kdcStarter({ realm: domain.realm, netbiosDomain: domain.netbios })
 *
 * krbtgt keys come from the directory ("krbtgt/REALM") when the KDC starts; a krbtgt key
 * change needs a restart of the KDC.
 */
import type { TcpLimits } from "../../platform/framed-tcp.js";
import type { KdcConfig } from "./config.js";
import type { PrincipalDatabase } from "./database.js";
import type { RequestLogLevel } from "./request-log.js";
import { createKdcServer, type KdcServerCounters } from "./server.js";

export interface DcKdcDeps {
  principals: PrincipalDatabase;
  host: string;
  port: number;
  /** The DC's logger; a level for the per-request lines (request-log.ts). */
  log: (line: string, level?: RequestLogLevel) => void;
  /** TCP limits (src/platform/framed-tcp.ts) and the UDP amplification bound. */
  limits?: { tcp?: Partial<TcpLimits>; maxUdpAmplification?: number };
}

export function kdcStarter(config: KdcConfig) {
  return async (
    deps: DcKdcDeps,
  ): Promise<{ close(): Promise<void>; port: number; counters(): KdcServerCounters }> => {
    const server = createKdcServer({
      ...config,
      database: deps.principals,
      listen: { address: deps.host, port: deps.port },
      requestLog: (line, level) => deps.log(`kdc: ${line}`, level),
      ...(deps.limits?.tcp ? { tcpLimits: deps.limits.tcp } : {}),
      ...(deps.limits?.maxUdpAmplification !== undefined
        ? { maxUdpAmplification: deps.limits.maxUdpAmplification }
        : {}),
    });
    const at = await server.start();
    deps.log(`kdc: realm ${config.realm.toUpperCase()} on ${at.address}:${at.port} (udp, tcp)`);
    return {
      port: at.port,
      counters: () => server.counters(),
      async close() {
        await server.stop();
        deps.log(`kdc: stopped; counters ${JSON.stringify(server.counters())}`);
      },
    };
  };
}
