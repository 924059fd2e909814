/**
 * The IPsec policy model of Windows Server 2003 (`netsh ipsec static`), as data.
 *
 * A store holds filter lists, filter actions and policies. A policy has rules; a rule binds
 * one filter list to one filter action with an ordered list of authentication methods, a
 * tunnel endpoint (or transport mode) and a connection type. Every policy also has the
 * default response rule. At most one policy is assigned on a host.
 *
 * These types are plain JSON-able records: the store file, export files and `--json` output
 * are built from them. Validation lives in validate.ts; the netsh commands in ../netsh/.
 */

/** A GUID as Windows prints it, lower case, without braces: 8-4-4-4-12 hex digits. */
export type Guid = string;

export type IpFamily = 4 | 6;

/** One side of a filter (netsh's srcaddr/srcmask or dstaddr/dstmask). */
export type AddressSpec =
  /** "me": any address of this host, resolved when the policy is applied. */
  | { kind: "me" }
  /** "any": every address. */
  | { kind: "any" }
  /** A host (prefix 32 or 128) or a subnet: address and prefix length. */
  | { kind: "subnet"; address: string; prefix: number; family: IpFamily }
  /** An inclusive range a-b, both ends of one family; no mask applies. */
  | { kind: "range"; from: string; to: string; family: IpFamily }
  /** A DNS name, resolved when the policy is applied (each address becomes a host filter). */
  | { kind: "dns"; name: string }
  /** A server type; the other side of the filter is then "me". */
  | { kind: "server"; server: ServerType };

export type ServerType = "dns" | "wins" | "dhcp" | "gateway";

/** IP protocol: 0 means any; TCP 6, UDP 17, ICMP 1, RAW 255, or any number 0-255. */
export type Protocol = number;

export interface Filter {
  description: string;
  src: AddressSpec;
  dst: AddressSpec;
  protocol: Protocol;
  /** 0 = any port. Only meaningful for TCP and UDP. */
  srcPort: number;
  dstPort: number;
  /** Also matches the reverse direction (netsh: "creates two filters, one in each direction"). */
  mirrored: boolean;
}

export interface FilterList {
  guid: Guid;
  name: string;
  description: string;
  filters: Filter[];
  lastModified: string;
}

/** Quick-mode (phase 2) algorithms. 2003 had DES, 3DES, MD5, SHA1; we add modern ones. */
export type QmConfAlg = "none" | "des" | "3des" | "aes128" | "aes256" | "aes128gcm" | "aes256gcm";
export type QmAuthAlg = "none" | "md5" | "sha1" | "sha256" | "sha384";

/** One offer of a negotiate action: AH, ESP, or AH+ESP, with lifetimes. */
export interface QmSecMethod {
  ah?: { hash: Exclude<QmAuthAlg, "none"> };
  esp?: { conf: QmConfAlg; auth: QmAuthAlg };
  /** Rekey after this many kilobytes (default 100,000 KB). */
  lifetimeKb: number;
  /** Rekey after this many seconds (default 3,600 s). */
  lifetimeSec: number;
}

/** Main-mode (phase 1 / IKE SA) offer: encryption-integrity-DH group. */
export type MmConfAlg = "des" | "3des" | "aes128" | "aes256" | "aes128gcm" | "aes256gcm";
export type MmHashAlg = "md5" | "sha1" | "sha256" | "sha384";
/** 1 and 2 are 2003's "Low" and "Medium" (refused / legacy), 3 = its DH2048 (MODP 14). */
export type DhGroup = 1 | 2 | 14 | 19 | 31;

export interface MmSecMethod {
  conf: MmConfAlg;
  hash: MmHashAlg;
  dhGroup: DhGroup;
}

export type FilterActionKind = "permit" | "block" | "negotiate";

export interface FilterAction {
  guid: Guid;
  name: string;
  description: string;
  action: FilterActionKind;
  /** Perfect forward secrecy for quick mode. */
  qmPfs: boolean;
  /** Accept unsecured communication inbound, but always respond using IPsec. */
  inpass: boolean;
  /** Allow unsecured communication with non-IPsec-aware computers (fall back to cleartext). */
  soft: boolean;
  /** Ordered offers; ignored unless action is negotiate. */
  qmSecMethods: QmSecMethod[];
  lastModified: string;
}

export type AuthMethod =
  | { kind: "kerberos" }
  | { kind: "psk"; key: string }
  /** A trusted root CA (its subject or file), with netsh's certmap and excludecaname flags. */
  | { kind: "rootca"; ca: string; certmap: boolean; excludeCaName: boolean };

export type ConnectionType = "lan" | "dialup" | "all";

export interface Rule {
  /** 1-based position in the policy, as `show rule` numbers them (netsh's `id=`). */
  id: number;
  guid: Guid;
  name: string;
  description: string;
  filterList: Guid;
  filterAction: Guid;
  /** Tunnel endpoint (IP or DNS name); null = transport mode. */
  tunnel: string | null;
  connType: ConnectionType;
  active: boolean;
  /** Ordered by preference. */
  auth: AuthMethod[];
  lastModified: string;
}

/** The default response rule: answers requests for secure communication when no rule applies. */
export interface DefaultRule {
  active: boolean;
  qmPfs: boolean;
  qmSecMethods: QmSecMethod[];
  auth: AuthMethod[];
}

export interface Policy {
  guid: Guid;
  name: string;
  description: string;
  /** Main-mode perfect forward secrecy. */
  mmPfs: boolean;
  /** Quick modes per main mode (0 = unlimited). */
  qmPerMm: number;
  /** Main-mode lifetime in minutes. */
  mmLifetimeMin: number;
  activateDefaultRule: boolean;
  /** How often the policy agent checks for changes, minutes. */
  pollingIntervalMin: number;
  assigned: boolean;
  mmSecMethods: MmSecMethod[];
  rules: Rule[];
  defaultRule: DefaultRule;
  lastModified: string;
}

/**
 * Where `netsh ipsec static` works: the local store, the domain's, or the persistent store
 * (Windows' persistent policy: applied first and kept whatever the local or domain policy
 * does; policy/effective.ts).
 */
export type StoreLocation = "local" | "domain" | "persistent";

export interface PolicyStore {
  /** Format version of the store file. */
  version: 1;
  filterLists: FilterList[];
  filterActions: FilterAction[];
  policies: Policy[];
}

export function emptyStore(): PolicyStore {
  return { version: 1, filterLists: [], filterActions: [], policies: [] };
}
