/**
 * The directory side of [MS-GPIPSEC]: the five object classes under
 * `CN=IP Security,CN=System,<domain>` with their references, mapped to and from postern's
 * policy model (../policy/model.ts).
 *
 * | model                  | directory objects                                              |
 * |------------------------|----------------------------------------------------------------|
 * | FilterList             | ipsecFilter (its filters are the blob's filter specs)          |
 * | FilterAction           | ipsecNegotiationPolicy of the standard type                    |
 * | Policy                 | ipsecPolicy + its ipsecISAKMPPolicy (main mode)                |
 * | Rule                   | ipsecNFA -> one ipsecFilter and one standard negotiation policy |
 * | Policy.defaultRule     | ipsecNFA -> an ipsecNegotiationPolicy of the default type      |
 *
 * GUIDs are the objects' ipsecID. The objects the model has no GUID for (a policy's ISAKMP
 * object, its default-response NFA and negotiation policy) are kept in `PolicyAux` so that
 * writing a store back keeps their names. Decoding is all or nothing: one blob or one
 * reference that does not fit throws a single line and nothing is returned.
 */
import { PosternError } from "../errors.js";
import { formatGuid, parseGuid } from "../policy/defaults.js";
import type {
  AddressSpec,
  AuthMethod,
  ConnectionType,
  DhGroup,
  Filter,
  FilterAction,
  FilterList,
  Guid,
  MmSecMethod,
  Policy,
  PolicyStore,
  QmAuthAlg,
  QmConfAlg,
  QmSecMethod,
  Rule,
  ServerType,
} from "../policy/model.js";
import { QM_DEFAULT_LIFETIME_KB, QM_DEFAULT_LIFETIME_SEC } from "../policy/secmethods.js";
import {
  AUTH_TYPE,
  decodeFilterBlob,
  decodeIsakmpBlob,
  decodeNegotiationBlob,
  decodeNfaBlob,
  decodePolicyBlob,
  encodeFilterBlob,
  encodeIsakmpBlob,
  encodeNegotiationBlob,
  encodeNfaBlob,
  encodePolicyBlob,
  type FilterSpec,
  IF_TYPE,
  type IsakmpMethod,
  NEG_ACTION,
  NEG_TYPE,
  type NegAlgorithm,
  type NegOffer,
  type NfaAuth,
  OFFER_TYPE,
  SPECIAL,
} from "./blob.js";

export type IpsecClass =
  | "ipsecPolicy"
  | "ipsecISAKMPPolicy"
  | "ipsecNFA"
  | "ipsecNegotiationPolicy"
  | "ipsecFilter";

export const IPSEC_CLASSES: readonly IpsecClass[] = [
  "ipsecPolicy",
  "ipsecISAKMPPolicy",
  "ipsecNFA",
  "ipsecNegotiationPolicy",
  "ipsecFilter",
];

/** One object of the IP Security container, as the directory holds it. */
export interface IpsecEntry {
  dn: string;
  objectClass: IpsecClass;
  /** ipsecID without braces, lower case. */
  id: Guid;
  name?: string;
  description?: string;
  data: Buffer;
  owners: string[];
  nfaRefs: string[];
  isakmpRef?: string;
  filterRef?: string;
  negRef?: string;
  negType?: Guid;
  negAction?: Guid;
  /** whenChanged as ISO 8601 (set by the directory). */
  whenChanged?: string;
}

/** The GUIDs of a policy's objects that the model does not name. */
export interface PolicyAux {
  isakmp: Guid;
  defaultNfa: Guid;
  defaultNeg: Guid;
}

export class GpipsecError extends PosternError {
  constructor(message: string) {
    super("gpipsec", message);
    this.name = "GpipsecError";
  }
}

/** `CN=IP Security,CN=System,<domain DN>`. */
export function ipsecContainer(domainDn: string): string {
  return `CN=IP Security,CN=System,${domainDn}`;
}

export function entryDn(cls: IpsecClass, id: Guid, domainDn: string): string {
  return `CN=${cls}${formatGuid(id)},${ipsecContainer(domainDn)}`;
}

/** The well-known "Version Information Object" NFA: not part of any policy, never read. */
export const VERSION_OBJECT = "6a1f5c6f-72b7-11d2-acf0-0060b0ecca17";

const DEFAULT_POLL_SEC = 10800;
const DEFAULT_MM_LIFETIME_SEC = 28800;

// --------------------------------------------------------------------------- decoding

function normDn(dn: string): string {
  return dn.replace(/\s*,\s*/g, ",").toLowerCase();
}

function label(e: IpsecEntry): string {
  return `${e.objectClass} ${formatGuid(e.id)}${e.name ? ` ("${e.name}")` : ""}`;
}

/** Runs a decoder, prefixing its one-line error with the object it came from. */
function decodeOf<T>(e: IpsecEntry, f: (b: Buffer) => T): T {
  try {
    return f(e.data);
  } catch (err) {
    if (err instanceof PosternError) throw new GpipsecError(`${label(e)}: ${err.message}`);
    throw err;
  }
}

function prefixLen(mask: string, what: string): number {
  const n = mask.split(".").reduce((a, o) => (a << 8) | Number(o), 0) >>> 0;
  const len = 32 - Math.log2(((~n >>> 0) + 1) >>> 0 || 2 ** 32);
  if (!Number.isInteger(len) || (len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0) !== n)
    throw new GpipsecError(`${what}: mask ${mask} is not contiguous`);
  return len;
}

function maskOf(prefix: number): string {
  const n = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  return [24, 16, 8, 0].map((s) => (n >>> s) & 0xff).join(".");
}

const SERVER_OF: Record<number, ServerType> = { 1: "dns", 2: "wins", 3: "dhcp", 4: "gateway" };

function side(
  addr: string,
  mask: string,
  dns: string,
  special: number | null,
  what: string,
): AddressSpec {
  if (special !== null) return { kind: "server", server: SERVER_OF[special] as ServerType };
  if (dns !== "") return { kind: "dns", name: dns };
  if (addr === "0.0.0.0" && mask === "255.255.255.255") return { kind: "me" };
  if (addr === "0.0.0.0" && mask === "0.0.0.0") return { kind: "any" };
  return { kind: "subnet", address: addr, prefix: prefixLen(mask, what), family: 4 };
}

function filterOf(s: FilterSpec, what: string): Filter {
  const sp = s.special & 0x7f;
  const toDst = (s.special & SPECIAL.destination) !== 0;
  return {
    description: s.description,
    src: side(s.srcAddr, s.srcMask, s.srcDns, sp && !toDst ? sp : null, `${what} source`),
    dst: side(s.dstAddr, s.dstMask, s.dstDns, sp && toDst ? sp : null, `${what} destination`),
    protocol: s.protocol,
    srcPort: s.srcPort,
    dstPort: s.dstPort,
    mirrored: s.mirrored,
  };
}

function esp(alg: NegAlgorithm, what: string): QmConfAlg {
  switch (alg.alg) {
    case 0:
      return "none";
    case 1:
      return "des";
    case 3:
      return "3des";
    case 12:
      return alg.keyLen === 256 ? "aes256" : "aes128";
    case 20:
      return alg.keyLen === 256 ? "aes256gcm" : "aes128gcm";
  }
  throw new GpipsecError(`${what}: ESP algorithm ${alg.alg} is not supported`);
}

const QM_HASH: Record<number, Exclude<QmAuthAlg, "none">> = {
  1: "md5",
  2: "sha1",
  5: "sha256",
  6: "sha384",
};

function qmHash(id: number, what: string, allowNone: boolean): QmAuthAlg {
  if (id === 0 && allowNone) return "none";
  const h = QM_HASH[id];
  if (!h) throw new GpipsecError(`${what}: integrity algorithm ${id} is not supported`);
  return h;
}

function qmMethod(o: NegOffer, what: string): QmSecMethod {
  const m: QmSecMethod = {
    lifetimeKb: o.lifetimeKb || QM_DEFAULT_LIFETIME_KB,
    lifetimeSec: o.lifetimeSec || QM_DEFAULT_LIFETIME_SEC,
  };
  for (const a of o.algorithms) {
    if (a.type === OFFER_TYPE.ah) {
      if (m.ah) throw new GpipsecError(`${what}: two AH algorithms in one offer`);
      m.ah = { hash: qmHash(a.alg, what, false) as Exclude<QmAuthAlg, "none"> };
    } else {
      if (m.esp) throw new GpipsecError(`${what}: two ESP algorithms in one offer`);
      m.esp = { conf: esp(a, what), auth: qmHash(a.integrity, what, true) };
    }
  }
  return m;
}

/** A negotiation policy's offers: the methods, PFS and netsh's soft (an empty offer). */
function offersOf(e: IpsecEntry): { methods: QmSecMethod[]; pfs: boolean; soft: boolean } {
  const { offers } = decodeOf(e, decodeNegotiationBlob);
  const methods = offers
    .filter((o) => o.algorithms.length > 0)
    .map((o, i) => qmMethod(o, `${label(e)} offer ${i + 1}`));
  return {
    methods,
    pfs: offers.some((o) => o.pfs),
    soft: offers.some((o) => o.algorithms.length === 0),
  };
}

function mmConf(m: IsakmpMethod, what: string): MmSecMethod["conf"] {
  switch (m.conf) {
    case 1:
      return "des";
    case 2:
    case 3:
      return "3des";
    case 7:
      return m.confKeyLen === 256 ? "aes256" : "aes128";
    case 20:
      return m.confKeyLen === 256 ? "aes256gcm" : "aes128gcm";
  }
  throw new GpipsecError(`${what}: encryption algorithm ${m.conf} is not supported`);
}

const MM_HASH: Record<number, MmSecMethod["hash"]> = {
  1: "md5",
  2: "sha1",
  4: "sha256",
  5: "sha384",
};
const GROUP_OF: Record<number, DhGroup> = { 1: 1, 2: 2, 268435457: 14, 14: 14, 19: 19, 31: 31 };
/** New-DH-n values: predefined DH2048 offers. */
const NEW_DH: Record<number, MmSecMethod> = {
  1: { conf: "des", hash: "md5", dhGroup: 14 },
  2: { conf: "des", hash: "sha1", dhGroup: 14 },
  3: { conf: "3des", hash: "md5", dhGroup: 14 },
  4: { conf: "3des", hash: "sha1", dhGroup: 14 },
};

function mmMethod(m: IsakmpMethod, what: string): MmSecMethod {
  const hash = MM_HASH[m.hash];
  if (!hash) throw new GpipsecError(`${what}: hash algorithm ${m.hash} is not supported`);
  const dhGroup = GROUP_OF[m.group];
  if (!dhGroup)
    throw new GpipsecError(`${what}: Oakley group 0x${m.group.toString(16)} is not supported`);
  return { conf: mmConf(m, what), hash, dhGroup };
}

function authOf(list: NfaAuth[], what: string): AuthMethod[] {
  return list.map((a) => {
    if (a.type === AUTH_TYPE.kerberos) return { kind: "kerberos" };
    if (a.type === AUTH_TYPE.psk) return { kind: "psk", key: a.data };
    if (a.type === AUTH_TYPE.cert)
      return {
        kind: "rootca",
        ca: a.data,
        certmap: (a.flags & 1) !== 0,
        excludeCaName: (a.flags & 2) !== 0,
      };
    throw new GpipsecError(`${what}: authentication type ${a.type} is not supported`);
  });
}

function connTypeOf(t: number): ConnectionType {
  return t === IF_TYPE.lan ? "lan" : t === IF_TYPE.dialup ? "dialup" : "all";
}

const EPOCH = "1970-01-01T00:00:00.000Z";

/**
 * The directory's IPsec objects as one PolicyStore (policies not assigned: assignment lives
 * in GPOs), with each policy's hidden object GUIDs. Filter lists and filter actions are
 * listed even when no rule uses them, as Windows' snap-in lists them.
 */
export function storeFromEntries(entries: readonly IpsecEntry[]): {
  store: PolicyStore;
  aux: Map<Guid, PolicyAux>;
} {
  const byDn = new Map(entries.map((e) => [normDn(e.dn), e]));
  const ref = (from: IpsecEntry, dn: string | undefined, cls: IpsecClass, attr: string) => {
    if (dn === undefined) throw new GpipsecError(`${label(from)}: has no ${attr}`);
    const e = byDn.get(normDn(dn));
    if (!e || e.objectClass !== cls)
      throw new GpipsecError(`${label(from)}: ${attr} ${dn} is not an ${cls} in the container`);
    return e;
  };

  const filterLists: FilterList[] = entries
    .filter((e) => e.objectClass === "ipsecFilter")
    .map((e) => ({
      guid: e.id,
      name: e.name ?? "",
      description: e.description ?? "",
      filters: decodeOf(e, decodeFilterBlob).filters.map((s, i) =>
        filterOf(s, `${label(e)} filter ${i + 1}`),
      ),
      lastModified: e.whenChanged ?? EPOCH,
    }));

  const filterActions: FilterAction[] = [];
  for (const e of entries) {
    if (e.objectClass !== "ipsecNegotiationPolicy" || e.negType === NEG_TYPE.defaultResponse)
      continue;
    if (e.negType !== NEG_TYPE.standard)
      throw new GpipsecError(`${label(e)}: iPSECNegotiationPolicyType ${e.negType} is unknown`);
    const o = offersOf(e);
    const action =
      e.negAction === NEG_ACTION.permit
        ? "permit"
        : e.negAction === NEG_ACTION.block
          ? "block"
          : e.negAction === NEG_ACTION.secure || e.negAction === NEG_ACTION.inboundPassThrough
            ? "negotiate"
            : null;
    if (action === null)
      throw new GpipsecError(`${label(e)}: iPSECNegotiationPolicyAction ${e.negAction} is unknown`);
    filterActions.push({
      guid: e.id,
      name: e.name ?? "",
      description: e.description ?? "",
      action,
      qmPfs: o.pfs,
      inpass: e.negAction === NEG_ACTION.inboundPassThrough,
      soft: o.soft,
      qmSecMethods: action === "negotiate" ? o.methods : [],
      lastModified: e.whenChanged ?? EPOCH,
    });
  }

  const policies: Policy[] = [];
  const aux = new Map<Guid, PolicyAux>();
  for (const e of entries) {
    if (e.objectClass !== "ipsecPolicy") continue;
    const { pollingSec } = decodeOf(e, decodePolicyBlob);
    const isakmpEntry = ref(e, e.isakmpRef, "ipsecISAKMPPolicy", "ipsecISAKMPReference");
    const isakmp = decodeOf(isakmpEntry, decodeIsakmpBlob);
    const mmSecMethods = [
      ...isakmp.newDh.filter((d) => d !== 0).map((d) => NEW_DH[d] as MmSecMethod),
      ...isakmp.methods.map((m, i) => mmMethod(m, `${label(isakmpEntry)} method ${i + 1}`)),
    ];
    const rules: Rule[] = [];
    let defaultRule: Policy["defaultRule"] | null = null;
    let defaultIds: { nfa: Guid; neg: Guid } | null = null;
    for (const nfaDn of e.nfaRefs) {
      const nfaEntry = ref(e, nfaDn, "ipsecNFA", "ipsecNFAReference");
      const nfa = decodeOf(nfaEntry, decodeNfaBlob);
      const negEntry = ref(
        nfaEntry,
        nfaEntry.negRef,
        "ipsecNegotiationPolicy",
        "ipsecNegotiationPolicyReference",
      );
      const auth = authOf(nfa.auth, label(nfaEntry));
      if (negEntry.negType === NEG_TYPE.defaultResponse) {
        if (defaultRule) throw new GpipsecError(`${label(e)}: has two default response rules`);
        const o = offersOf(negEntry);
        defaultRule = { active: nfa.active, qmPfs: o.pfs, qmSecMethods: o.methods, auth };
        defaultIds = { nfa: nfaEntry.id, neg: negEntry.id };
        continue;
      }
      const fl = ref(nfaEntry, nfaEntry.filterRef, "ipsecFilter", "ipsecFilterReference");
      rules.push({
        id: 0,
        guid: nfaEntry.id,
        name: nfaEntry.name ?? "",
        description: nfaEntry.description ?? "",
        filterList: fl.id,
        filterAction: negEntry.id,
        tunnel: nfa.isTunnel ? nfa.tunnelName || nfa.tunnelAddr6 || nfa.tunnelAddr : null,
        connType: connTypeOf(nfa.ifType),
        active: nfa.active,
        auth,
        lastModified: nfaEntry.whenChanged ?? EPOCH,
      });
    }
    if (!defaultRule || !defaultIds)
      throw new GpipsecError(`${label(e)}: has no default response rule`);
    // netsh numbers rules in the order the policy lists its NFA references
    rules.forEach((r, i) => {
      r.id = i + 1;
    });
    const lifetimeSec =
      isakmp.mmLifetimeSec || isakmp.methods[0]?.lifetimeSec || DEFAULT_MM_LIFETIME_SEC;
    policies.push({
      guid: e.id,
      name: e.name ?? "",
      description: e.description ?? "",
      mmPfs: isakmp.masterPfs,
      qmPerMm: isakmp.qmLimit || (isakmp.methods[0]?.qmLimit ?? 0),
      mmLifetimeMin: Math.max(1, Math.round(lifetimeSec / 60)),
      activateDefaultRule: defaultRule.active,
      pollingIntervalMin: Math.max(1, Math.round((pollingSec || DEFAULT_POLL_SEC) / 60)),
      assigned: false,
      mmSecMethods,
      rules,
      defaultRule,
      lastModified: e.whenChanged ?? EPOCH,
    });
    aux.set(e.id, {
      isakmp: isakmpEntry.id,
      defaultNfa: defaultIds.nfa,
      defaultNeg: defaultIds.neg,
    });
  }
  return { store: { version: 1, filterLists, filterActions, policies }, aux };
}

// --------------------------------------------------------------------------- encoding

function encodeSide(a: AddressSpec, what: string): { addr: string; mask: string; dns: string } {
  switch (a.kind) {
    case "me":
      return { addr: "0.0.0.0", mask: "255.255.255.255", dns: "" };
    case "any":
      return { addr: "0.0.0.0", mask: "0.0.0.0", dns: "" };
    case "dns":
      return { addr: "0.0.0.0", mask: "255.255.255.255", dns: a.name };
    case "server":
      return { addr: "0.0.0.0", mask: "0.0.0.0", dns: "" };
    case "subnet":
      if (a.family === 4) return { addr: a.address, mask: maskOf(a.prefix), dns: "" };
      break;
    case "range":
      break;
  }
  throw new GpipsecError(
    `${what}: ${a.kind === "range" ? "address ranges" : "IPv6 addresses"} need [MS-GPIPSEC]'s version 2 filter format, which postern does not write yet`,
  );
}

/**
 * A filter specification's GUID: its list's GUID with the index in the last four digits, so
 * that encoding the same list twice gives the same bytes (the model keeps no per-filter GUID).
 */
function specId(list: Guid, index: number): Guid {
  return `${list.slice(0, -4)}${index.toString(16).padStart(4, "0")}`;
}

const SPECIAL_OF: Record<ServerType, number> = { dns: 1, wins: 2, dhcp: 3, gateway: 4 };

function specOf(f: Filter, id: Guid, what: string): FilterSpec {
  const s = encodeSide(f.src, `${what} source`);
  const d = encodeSide(f.dst, `${what} destination`);
  const special =
    f.src.kind === "server"
      ? SPECIAL_OF[f.src.server]
      : f.dst.kind === "server"
        ? SPECIAL_OF[f.dst.server] | SPECIAL.destination
        : 0;
  return {
    srcDns: s.dns,
    dstDns: d.dns,
    description: f.description,
    id,
    mirrored: f.mirrored,
    srcAddr: s.addr,
    srcMask: s.mask,
    dstAddr: d.addr,
    dstMask: d.mask,
    tunnelAddr: "0.0.0.0",
    protocol: f.protocol,
    srcPort: f.srcPort,
    dstPort: f.dstPort,
    isTunnel: false,
    special,
  };
}

const ESP_ID: Record<QmConfAlg, { alg: number; keyLen: number }> = {
  none: { alg: 0, keyLen: 0 },
  des: { alg: 1, keyLen: 64 },
  "3des": { alg: 3, keyLen: 64 },
  aes128: { alg: 12, keyLen: 128 },
  aes256: { alg: 12, keyLen: 256 },
  aes128gcm: { alg: 20, keyLen: 128 },
  aes256gcm: { alg: 20, keyLen: 256 },
};
const HASH_ID: Record<QmAuthAlg, number> = { none: 0, md5: 1, sha1: 2, sha256: 5, sha384: 6 };

function offerOf(m: QmSecMethod, pfs: boolean): NegOffer {
  const algorithms: NegAlgorithm[] = [];
  if (m.ah)
    algorithms.push({ alg: HASH_ID[m.ah.hash], keyLen: 0, integrity: 0, type: OFFER_TYPE.ah });
  if (m.esp)
    algorithms.push({
      ...ESP_ID[m.esp.conf],
      integrity: HASH_ID[m.esp.auth],
      type: OFFER_TYPE.esp,
    });
  return { lifetimeSec: m.lifetimeSec, lifetimeKb: m.lifetimeKb, pfs, algorithms };
}

const MM_CONF_ID: Record<MmSecMethod["conf"], { conf: number; confKeyLen: number }> = {
  des: { conf: 1, confKeyLen: 64 },
  "3des": { conf: 3, confKeyLen: 64 },
  aes128: { conf: 7, confKeyLen: 128 },
  aes256: { conf: 7, confKeyLen: 256 },
  aes128gcm: { conf: 20, confKeyLen: 128 },
  aes256gcm: { conf: 20, confKeyLen: 256 },
};
const MM_HASH_ID: Record<MmSecMethod["hash"], number> = { md5: 1, sha1: 2, sha256: 4, sha384: 5 };
const GROUP_ID: Record<DhGroup, number> = { 1: 1, 2: 2, 14: 0x10000001, 19: 19, 31: 31 };

function authBlob(a: AuthMethod): NfaAuth {
  if (a.kind === "kerberos") return { type: AUTH_TYPE.kerberos, data: "", flags: 0 };
  if (a.kind === "psk") return { type: AUTH_TYPE.psk, data: a.key, flags: 0 };
  return {
    type: AUTH_TYPE.cert,
    data: a.ca,
    flags: (a.certmap ? 1 : 0) | (a.excludeCaName ? 2 : 0),
  };
}

function nfaBlob(r: {
  auth: AuthMethod[];
  active: boolean;
  tunnel: string | null;
  connType: ConnectionType;
}): Buffer {
  const v4 = r.tunnel !== null && /^\d+\.\d+\.\d+\.\d+$/.test(r.tunnel);
  const v6 = r.tunnel?.includes(":") === true;
  return encodeNfaBlob({
    auth: r.auth.map(authBlob),
    ifType: IF_TYPE[r.connType],
    ifName: "",
    tunnelAddr: v4 ? (r.tunnel as string) : "0.0.0.0",
    isTunnel: r.tunnel !== null,
    active: r.active,
    tunnelName: r.tunnel !== null && !v4 && !v6 ? r.tunnel : "",
    ...(v6 ? { tunnelAddr6: r.tunnel as string } : {}),
  });
}

/**
 * The directory objects that hold `store` under `domainDn`. `aux` names the hidden objects
 * of policies read earlier; `guid` makes GUIDs for a new policy's hidden objects. Owner
 * references are filled in both directions.
 */
export function entriesFromStore(
  store: PolicyStore,
  domainDn: string,
  aux: ReadonlyMap<Guid, PolicyAux>,
  guid: () => Guid,
): { entries: IpsecEntry[]; aux: Map<Guid, PolicyAux> } {
  const dn = (cls: IpsecClass, id: Guid) => entryDn(cls, id, domainDn);
  const out = new Map<string, IpsecEntry>();
  const put = (e: Omit<IpsecEntry, "dn" | "owners" | "nfaRefs"> & Partial<IpsecEntry>) => {
    const full: IpsecEntry = { owners: [], nfaRefs: [], ...e, dn: dn(e.objectClass, e.id) };
    out.set(normDn(full.dn), full);
    return full;
  };
  for (const fl of store.filterLists)
    put({
      objectClass: "ipsecFilter",
      id: fl.guid,
      name: fl.name,
      description: fl.description,
      data: encodeFilterBlob({
        filters: fl.filters.map((f, i) =>
          specOf(f, specId(fl.guid, i), `filter list "${fl.name}" filter ${i + 1}`),
        ),
      }),
    });
  for (const fa of store.filterActions) {
    const offers =
      fa.action === "negotiate" ? fa.qmSecMethods.map((m) => offerOf(m, fa.qmPfs)) : [];
    if (fa.action === "negotiate" && fa.soft)
      offers.push({ lifetimeSec: 0, lifetimeKb: 0, pfs: false, algorithms: [] });
    put({
      objectClass: "ipsecNegotiationPolicy",
      id: fa.guid,
      name: fa.name,
      description: fa.description,
      negType: NEG_TYPE.standard,
      negAction:
        fa.action === "permit"
          ? NEG_ACTION.permit
          : fa.action === "block"
            ? NEG_ACTION.block
            : fa.inpass
              ? NEG_ACTION.inboundPassThrough
              : NEG_ACTION.secure,
      data: encodeNegotiationBlob({ offers }),
    });
  }
  const newAux = new Map<Guid, PolicyAux>();
  for (const p of store.policies) {
    const a = aux.get(p.guid) ?? { isakmp: guid(), defaultNfa: guid(), defaultNeg: guid() };
    newAux.set(p.guid, a);
    const policyDn = dn("ipsecPolicy", p.guid);
    put({
      objectClass: "ipsecISAKMPPolicy",
      id: a.isakmp,
      name: formatGuid(a.isakmp),
      owners: [policyDn],
      data: encodeIsakmpBlob({
        instance: a.isakmp,
        masterPfs: p.mmPfs,
        options: 0,
        newDh: [0, 0, 0, 0],
        qmLimit: p.qmPerMm,
        mmLifetimeSec: p.mmLifetimeMin * 60,
        methods: p.mmSecMethods.map((m) => ({
          ...MM_CONF_ID[m.conf],
          hash: MM_HASH_ID[m.hash],
          group: GROUP_ID[m.dhGroup],
          qmLimit: p.qmPerMm,
          lifetimeKb: 0,
          lifetimeSec: p.mmLifetimeMin * 60,
        })),
      }),
    });
    put({
      objectClass: "ipsecNegotiationPolicy",
      id: a.defaultNeg,
      name: formatGuid(a.defaultNeg),
      negType: NEG_TYPE.defaultResponse,
      negAction: NEG_ACTION.secure,
      data: encodeNegotiationBlob({
        offers: p.defaultRule.qmSecMethods.map((m) => offerOf(m, p.defaultRule.qmPfs)),
      }),
    });
    const nfaRefs: string[] = [];
    const nfa = (e: Omit<IpsecEntry, "dn" | "owners" | "nfaRefs" | "objectClass">) => {
      const full = put({ ...e, objectClass: "ipsecNFA", owners: [policyDn] });
      nfaRefs.push(full.dn);
    };
    nfa({
      id: a.defaultNfa,
      name: formatGuid(a.defaultNfa),
      negRef: dn("ipsecNegotiationPolicy", a.defaultNeg),
      data: nfaBlob({
        ...p.defaultRule,
        active: p.activateDefaultRule,
        tunnel: null,
        connType: "all",
      }),
    });
    for (const r of p.rules)
      nfa({
        id: r.guid,
        name: r.name,
        description: r.description,
        filterRef: dn("ipsecFilter", r.filterList),
        negRef: dn("ipsecNegotiationPolicy", r.filterAction),
        data: nfaBlob(r),
      });
    put({
      objectClass: "ipsecPolicy",
      id: p.guid,
      name: p.name,
      description: p.description,
      isakmpRef: dn("ipsecISAKMPPolicy", a.isakmp),
      nfaRefs,
      data: encodePolicyBlob({ pollingSec: p.pollingIntervalMin * 60 }),
    });
  }
  // Owners of filters and negotiation policies: the NFAs that reference them.
  for (const e of out.values()) {
    for (const target of [e.filterRef, e.negRef]) {
      const t = target === undefined ? undefined : out.get(normDn(target));
      if (t) t.owners.push(e.dn);
    }
  }
  return { entries: [...out.values()], aux: newAux };
}

/** `{GUID}` of an ipsecID attribute value, lower case without braces. */
export function idOf(text: string, where: string): Guid {
  const g = parseGuid(text);
  if (!g) throw new GpipsecError(`${where}: ipsecID ${text} is not a GUID`);
  return g;
}
