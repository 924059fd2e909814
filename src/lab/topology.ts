/**
 * The article's network (DESIGN.md "The lab"): one isolated switch, domain bigfirm.com,
 * addresses from 198.18.0.0/24 (RFC 2544's benchmarking range), no default route anywhere.
 *
 *   dc1 .10 (DC, DNS, KDC)   server1 .20 (web site, firewall, agent)
 *   dc2 .11 (`--dc samba` only: a second Samba DC, replicating with dc1)
 *   xpclient .30 (in `trusted`)   client2 .31 (member, not in `trusted`)   outsider .40
 *
 * Namespace names carry the lab's id ("pl" + 4 hex digits), so two labs (npm start while
 * npm test runs) never meet: `pl1a2b-server1` (at most 15 characters, as interface names).
 */

export const DOMAIN = "bigfirm.com";
export const NETBIOS = "BIGFIRM";
export const PREFIX_LEN = 24;
export const WEB_PORT = 80;
export const WELCOME = "Welcome to the secure website!";

export type HostName = "dc1" | "dc2" | "server1" | "xpclient" | "client2" | "outsider";

/** Which directory the lab's domain runs on: postern's DC, or Samba AD (two DCs). */
export type LabDc = "postern" | "samba";

export interface LabHost {
  name: HostName;
  address: string;
  /** Joined to the domain. */
  member: boolean;
  /** Runs `postern agent`. */
  agent: boolean;
}

export const HOSTS: readonly LabHost[] = [
  { name: "dc1", address: "198.18.0.10", member: false, agent: false },
  { name: "server1", address: "198.18.0.20", member: true, agent: true },
  { name: "xpclient", address: "198.18.0.30", member: true, agent: true },
  { name: "client2", address: "198.18.0.31", member: true, agent: true },
  { name: "outsider", address: "198.18.0.40", member: false, agent: false },
];

/** The second DC of a Samba lab, a replica of dc1 (`samba-tool domain join ... DC`). */
export const DC2: LabHost = { name: "dc2", address: "198.18.0.11", member: false, agent: false };

/** The lab's hosts: the article's five, and dc2 when the domain is Samba AD. */
export function hostsOf(dc: LabDc): readonly LabHost[] {
  return dc === "samba" ? [HOSTS[0] as LabHost, DC2, ...HOSTS.slice(1)] : HOSTS;
}

export function host(name: HostName): LabHost {
  return (HOSTS.find((h) => h.name === name) ?? DC2) as LabHost;
}

/** The lab's namespaces: one per host and the switch's. */
export function namespaceOf(labId: string, name: HostName | "switch"): string {
  return `${labId}-${name === "switch" ? "sw" : name}`;
}

export const CLIENTS: readonly HostName[] = ["xpclient", "client2", "outsider"];
