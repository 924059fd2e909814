/**
 * Does a domain controller of this member's domain answer? The fact the firewall's
 * current profile hangs on (firewall/profile.ts). The DCs are found as the machine finds
 * its KDCs (the domain's `_kerberos` SRV records, else machine.json's DC: kdc-locator.ts),
 * and each is asked in turn for a TCP connection to its KDC port: a DC that completes the
 * handshake answers. TCP rather than a UDP datagram because a refusal or silence is then
 * known without a Kerberos exchange, and both postern's KDC and Samba's listen on TCP 88.
 */
import * as net from "node:net";
import type { DcProbe } from "../firewall/profile.js";
import type { KdcAddress } from "../kerberos/config.js";
import { locateKdcs } from "./kdc-locator.js";
import type { MachineIdentity } from "./machine-keys.js";
import { DEFAULT_KDC_PORT, machineDnsResolver } from "./machine-tgt.js";
import type { SrvResolver } from "./resolver.js";

/** How long one DC is given to complete the TCP handshake. */
export const DC_PROBE_TIMEOUT_MS = 2000;

/** A TCP connection to `to`, closed at once; the error code when none. */
export function tcpAnswers(to: KdcAddress, timeoutMs: number): Promise<string | null> {
  return new Promise((resolve) => {
    const sock = net.connect({ host: to.host, port: to.port });
    const done = (why: string | null) => {
      clearTimeout(timer);
      sock.destroy();
      resolve(why);
    };
    const timer = setTimeout(() => done(`no answer in ${timeoutMs} ms`), timeoutMs);
    sock.once("connect", () => done(null));
    sock.once("error", (e: NodeJS.ErrnoException) => done(e.code ?? e.message));
  });
}

export interface DcProbeOptions {
  /** The domain's DNS (default: machine.json's DC); null: machine.json's DC only. */
  resolver?: SrvResolver | null;
  timeoutMs?: number;
}

/** The first of the domain's DCs whose KDC accepts a TCP connection (see the header). */
export async function probeDomainDc(id: MachineIdentity, o: DcProbeOptions = {}): Promise<DcProbe> {
  const resolver = o.resolver === undefined ? machineDnsResolver(id) : o.resolver;
  const configured = { host: id.dc.host, port: id.dc.kdcPort ?? DEFAULT_KDC_PORT };
  const found = await locateKdcs({ resolver, domain: id.domain, configured });
  const tried: string[] = [];
  for (const kdc of found.kdcs) {
    const why = await tcpAnswers(kdc, o.timeoutMs ?? DC_PROBE_TIMEOUT_MS);
    const at = `${kdc.host}:${kdc.port}`;
    if (why === null) return { reachable: true, dc: at };
    tried.push(`${at} ${why}`);
  }
  return { reachable: false, why: tried.join(", ") || "no domain controller found" };
}
