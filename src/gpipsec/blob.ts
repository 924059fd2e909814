/**
 * The `ipsecData` blobs of [MS-GPIPSEC] 2.2.1: one binary layout per object class, each
 * opened by a type GUID and a little-endian length. This module reads and writes them
 * field for field and interprets nothing (objects.ts maps them to postern's policy model).
 *
 * Where the specification and the data Windows wrote disagree, the data wins, and the
 * difference is named here (the blobs of a fresh Samba provision are Windows' own):
 * - ESP algorithm ids are Windows' storage values 0 none, 1 DES, 2 DES-40, 3 3DES (the
 *   table in 2.2.1.4 says 1 null, 2 DES);
 * - the per-method PFS-Identity of an ISAKMP method, and the unused algorithm slots of a
 *   quick-mode offer, hold uninitialised memory (0xcdcdcdcd, stray UTF-16): ignored;
 * - every blob but the policy's ends with one byte more than its length field says.
 * Reading is strict: a wrong type GUID, a length that disagrees with the content, a count
 * that runs past the end or bytes left over throw one BlobError line naming the field.
 */
import { PosternError } from "../errors.js";

export class BlobError extends PosternError {
  constructor(what: string, message: string) {
    super("gpipsec.blob", `ipsecData of ${what}: ${message}`);
    this.name = "BlobError";
  }
}

/** The type GUIDs that open each blob (and mark its optional parts). */
export const BLOB_GUID = {
  policy: "22202163-4f4c-11d1-863b-00a0248d3021",
  isakmp: "80dc20b8-2ec8-11d1-a89e-00a0248d3021",
  nfa: "11bbac00-498d-11d1-8639-00a0248d3021",
  negotiation: "80dc20b9-2ec8-11d1-a89e-00a0248d3021",
  filter: "80dc20b5-2ec8-11d1-a89e-00a0248d3021",
  filterV2: "35fecd3d-ae29-4373-8a6a-c5d8fab2fb08",
  altAuth: "01010101-0101-0101-0101-010101010101",
  altAuthFlags: "01010101-0101-0101-0101-010101010102",
  ipv6Tunnel: "01010101-0101-0101-0101-010101010103",
} as const;

/** A GUID in Windows' mixed-endian wire form (Data1-3 little-endian) from its string. */
export function guidBytes(g: string): Buffer {
  const h = g.replace(/[{}-]/g, "");
  if (!/^[0-9a-fA-F]{32}$/.test(h)) throw new Error(`not a GUID: ${g}`);
  const b = Buffer.from(h, "hex");
  b.subarray(0, 4).reverse();
  b.subarray(4, 6).reverse();
  b.subarray(6, 8).reverse();
  return b;
}

export function guidString(b: Uint8Array): string {
  const c = Buffer.from(b);
  c.subarray(0, 4).reverse();
  c.subarray(4, 6).reverse();
  c.subarray(6, 8).reverse();
  const h = c.toString("hex");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

class Reader {
  off = 0;
  constructor(
    readonly b: Buffer,
    readonly what: string,
  ) {}
  need(n: number, field: string): void {
    if (n < 0 || this.off + n > this.b.length)
      throw new BlobError(
        this.what,
        `${field} runs past the end (needs ${n} bytes at offset ${this.off}, blob has ${this.b.length})`,
      );
  }
  u8(field: string): number {
    this.need(1, field);
    return this.b.readUInt8(this.off++);
  }
  u16(field: string): number {
    this.need(2, field);
    const v = this.b.readUInt16LE(this.off);
    this.off += 2;
    return v;
  }
  u32(field: string): number {
    this.need(4, field);
    const v = this.b.readUInt32LE(this.off);
    this.off += 4;
    return v;
  }
  bytes(n: number, field: string): Buffer {
    this.need(n, field);
    const v = this.b.subarray(this.off, this.off + n);
    this.off += n;
    return v;
  }
  guid(field: string): string {
    return guidString(this.bytes(16, field));
  }
  /** A length-prefixed UTF-16LE string; the stored length counts the terminating NUL. */
  wstr(field: string): string {
    const n = this.u32(`${field} length`);
    const raw = this.bytes(n, field);
    if (n % 2 !== 0) throw new BlobError(this.what, `${field} has an odd length (${n})`);
    return raw.toString("utf16le").replace(/\0+$/, "");
  }
  /** Checks the type GUID and the length field; returns where the counted data ends. */
  header(guid: string, lengthRule: "plus-one" | "prefix"): number {
    const g = this.guid("type GUID");
    if (g !== guid)
      throw new BlobError(
        this.what,
        `type GUID {${g.toUpperCase()}} is not {${guid.toUpperCase()}}`,
      );
    const len = this.u32("data length");
    const rest = this.b.length - this.off;
    const want = len + 1;
    if (lengthRule === "prefix" ? want > rest : want !== rest)
      throw new BlobError(
        this.what,
        `data length ${len} does not match the ${rest} bytes that follow`,
      );
    return this.off + len;
  }
  end(at: number): void {
    if (this.off !== at)
      throw new BlobError(this.what, `${at - this.off} bytes left over after the last field`);
  }
}

class Writer {
  private parts: Buffer[] = [];
  u8(v: number): this {
    const b = Buffer.alloc(1);
    b.writeUInt8(v);
    this.parts.push(b);
    return this;
  }
  u16(v: number): this {
    const b = Buffer.alloc(2);
    b.writeUInt16LE(v);
    this.parts.push(b);
    return this;
  }
  u32(v: number): this {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(v >>> 0);
    this.parts.push(b);
    return this;
  }
  raw(b: Uint8Array): this {
    this.parts.push(Buffer.from(b));
    return this;
  }
  zero(n: number): this {
    this.parts.push(Buffer.alloc(n));
    return this;
  }
  wstr(s: string): this {
    const b = Buffer.from(`${s}\0`, "utf16le");
    return this.u32(b.length).raw(b);
  }
  get length(): number {
    return this.parts.reduce((n, p) => n + p.length, 0);
  }
  done(): Buffer {
    return Buffer.concat(this.parts);
  }
}

/** Type GUID, length field, body and (all but the policy blob) Windows' one trailing byte. */
function frame(guid: string, body: Buffer, trailing: boolean): Buffer {
  return new Writer()
    .raw(guidBytes(guid))
    .u32(body.length)
    .raw(body)
    .zero(trailing ? 1 : 0)
    .done();
}

// ---------------------------------------------------------------- ipsecPolicy (2.2.1.1.1)

export interface PolicyBlob {
  /** Seconds between the client's polls of the store; 0 means 10,800. */
  pollingSec: number;
}

export function decodePolicyBlob(b: Buffer): PolicyBlob {
  const r = new Reader(b, "ipsecPolicy");
  const end = r.header(BLOB_GUID.policy, "plus-one");
  if (end - r.off !== 4) throw new BlobError("ipsecPolicy", "data length is not 4");
  const pollingSec = r.u32("Polling-Interval");
  r.end(end);
  return { pollingSec };
}

export function encodePolicyBlob(p: PolicyBlob): Buffer {
  return frame(BLOB_GUID.policy, new Writer().u32(p.pollingSec).done(), true);
}

// ---------------------------------------------------------- ipsecISAKMPPolicy (2.2.1.2.1)

/** One main-mode offer (a 64-byte security method). */
export interface IsakmpMethod {
  /** 1 DES, 2 or 3 3DES; postern's extensions: 7 AES-CBC, 20 AES-GCM (IANA IKE/ESP ids). */
  conf: number;
  /** Key length in bits as Windows stores it beside the id (64 for (3)DES). */
  confKeyLen: number;
  /** 1 MD5, 2 SHA-1; extensions 4 SHA-256, 5 SHA-384 (IANA IKE hash ids). */
  hash: number;
  /** 1, 2, 0x10000001 (= group 14); extensions: 14, 19, 31 as themselves. */
  group: number;
  qmLimit: number;
  lifetimeKb: number;
  lifetimeSec: number;
}

export interface IsakmpBlob {
  instance: string;
  masterPfs: boolean;
  options: number;
  /** New-DH-1..4: predefined DH2048 offers that precede the methods (0 = unused). */
  newDh: [number, number, number, number];
  qmLimit: number;
  /** 0 means 28,800 s. */
  mmLifetimeSec: number;
  methods: IsakmpMethod[];
}

const ISAKMP_METHOD_LEN = 64;

export function decodeIsakmpBlob(b: Buffer): IsakmpBlob {
  const w = "ipsecISAKMPPolicy";
  const r = new Reader(b, w);
  const end = r.header(BLOB_GUID.isakmp, "plus-one");
  const instance = r.guid("ISAKMP-Policy-Instance");
  r.u32("Zero1");
  const pfs = r.u32("Master-PFS-Required");
  if (pfs > 1) throw new BlobError(w, `Master-PFS-Required is ${pfs}, not 0 or 1`);
  const options = r.u32("ISAKMP-Options");
  if (options > 3) throw new BlobError(w, `ISAKMP-Options is ${options}, not 0-3`);
  const newDh: [number, number, number, number] = [
    r.u8("New-DH-1"),
    r.u8("New-DH-2"),
    r.u8("New-DH-3"),
    r.u8("New-DH-4"),
  ];
  const qmLimit = r.u32("QM-Limit");
  const mmLifetimeSec = r.u32("MM-Lifetime");
  r.bytes(20, "Zero2");
  const count = r.u32("Security-Method-Count");
  r.need(count * ISAKMP_METHOD_LEN, `${count} security methods`);
  const methods: IsakmpMethod[] = [];
  for (let i = 0; i < count; i++) {
    const f = `security method ${i + 1}`;
    r.bytes(4, `${f} version`);
    const conf = r.u32(`${f} Encryption-Algorithm-ID`);
    const confKeyLen = r.u32(`${f} key length`);
    r.u32(`${f} Zero4`);
    const hash = r.u32(`${f} Hash-Algorithm-ID`);
    r.u32(`${f} hash key length`);
    r.bytes(4 + 8, `${f} Zero5/Zero6`);
    const random = r.u8(`${f} Random-Function`);
    r.bytes(7, `${f} Zero7`);
    const group = r.u32(`${f} Oakley-Group`);
    const qm = r.u32(`${f} QM-Limit`);
    const lifetimeKb = r.u32(`${f} Oakley-Lifetime-KB`);
    const lifetimeSec = r.u32(`${f} Oakley-Lifetime-Secs`);
    r.u32(`${f} PFS-Identity-Required`);
    if (random !== 0) throw new BlobError(w, `${f} uses Random-Function ${random} (not supported)`);
    methods.push({ conf, confKeyLen, hash, group, qmLimit: qm, lifetimeKb, lifetimeSec });
  }
  r.end(end);
  return { instance, masterPfs: pfs === 1, options, newDh, qmLimit, mmLifetimeSec, methods };
}

export function encodeIsakmpBlob(p: IsakmpBlob): Buffer {
  const w = new Writer()
    .raw(guidBytes(p.instance))
    .u32(0)
    .u32(p.masterPfs ? 1 : 0)
    .u32(p.options)
    .u8(p.newDh[0])
    .u8(p.newDh[1])
    .u8(p.newDh[2])
    .u8(p.newDh[3])
    .u32(p.qmLimit)
    .u32(p.mmLifetimeSec)
    .zero(20)
    .u32(p.methods.length);
  for (const m of p.methods) {
    w.zero(4)
      .u32(m.conf)
      .u32(m.confKeyLen)
      .u32(8)
      .u32(m.hash)
      .u32(64)
      .zero(12)
      .u8(0)
      .zero(7)
      .u32(m.group)
      .u32(m.qmLimit)
      .u32(m.lifetimeKb)
      .u32(m.lifetimeSec)
      .u32(p.masterPfs ? 1 : 0);
  }
  return frame(BLOB_GUID.isakmp, w.done(), true);
}

// ------------------------------------------------------------------- ipsecNFA (2.2.1.3.1)

export const AUTH_TYPE = { psk: 1, cert: 3, kerberos: 5 } as const;

export interface NfaAuth {
  type: number;
  /** PSK text or certificate (CA) name; "" for Kerberos. */
  data: string;
  /** Alt-Auth-Method-Flags: 1 certificate-to-account mapping, 2 exclude the CA name. */
  flags: number;
}

/** Interface-Type values. */
export const IF_TYPE = { dialup: 0xffffffff, lan: 0xfffffffe, all: 0xfffffffd } as const;

export interface NfaBlob {
  auth: NfaAuth[];
  ifType: number;
  ifName: string;
  /** IPv4 tunnel endpoint (dotted), "0.0.0.0" when none. */
  tunnelAddr: string;
  isTunnel: boolean;
  active: boolean;
  tunnelName: string;
  /** IPv6 tunnel endpoint (from the optional IPv6 part), superseding tunnelAddr. */
  tunnelAddr6?: string;
}

function ipv4(n: Buffer): string {
  return Array.from(n).join(".");
}

function ipv4Bytes(s: string): Buffer {
  return Buffer.from(s.split(".").map(Number));
}

function ipv6(b: Buffer): string {
  const parts: string[] = [];
  for (let i = 0; i < 16; i += 2) parts.push(b.readUInt16BE(i).toString(16));
  return parts.join(":").replace(/(^|:)0(:0)+(:|$)/, "::");
}

function ipv6Bytes(s: string): Buffer {
  const [head, tail] = s.split("::") as [string, string | undefined];
  const h = head ? head.split(":") : [];
  const t = tail ? tail.split(":") : [];
  const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill("0"), ...t];
  const b = Buffer.alloc(16);
  groups.forEach((g, i) => {
    b.writeUInt16BE(Number.parseInt(g, 16), i * 2);
  });
  return b;
}

function readAuth(r: Reader, f: string): { type: number; data: string } {
  const type = r.u32(`${f} Auth-Type`);
  if (type !== 1 && type !== 3 && type !== 5)
    throw new BlobError(
      r.what,
      `${f} has Auth-Type ${type} (not 1 PSK, 3 certificate, 5 Kerberos)`,
    );
  const n = r.u32(`${f} Auth-Length`);
  const raw = r.bytes(n, `${f} data`);
  if (n % 2 !== 0) throw new BlobError(r.what, `${f} data has an odd length (${n})`);
  return { type, data: raw.toString("utf16le").replace(/\0+$/, "") };
}

function writeAuth(w: Writer, a: { type: number; data: string }): void {
  const data = Buffer.from(`${a.data}\0`, "utf16le");
  w.u32(a.type).u32(data.length).raw(data);
}

export function decodeNfaBlob(b: Buffer): NfaBlob {
  const w = "ipsecNFA";
  const r = new Reader(b, w);
  const end = r.header(BLOB_GUID.nfa, "prefix");
  const count = r.u32("Auth-Method-Count");
  r.need(count * 8, `${count} authentication methods`);
  const auth: NfaAuth[] = [];
  for (let i = 0; i < count; i++) auth.push({ ...readAuth(r, `auth method ${i + 1}`), flags: 0 });
  const ifType = r.u32("Interface-Type");
  if (ifType !== IF_TYPE.all && ifType !== IF_TYPE.lan && ifType !== IF_TYPE.dialup)
    throw new BlobError(w, `Interface-Type 0x${ifType.toString(16)} is not all, LAN or dial-up`);
  const ifName = r.wstr("Interface-Name");
  const tunnelAddr = ipv4(r.bytes(4, "Tunnel-Address"));
  const isTunnel = r.u32("Is-Tunnel-Specifier");
  const active = r.u32("Is-Active-Specifier");
  if (isTunnel > 1 || active > 1)
    throw new BlobError(w, "Is-Tunnel-Specifier and Is-Active-Specifier must be 0 or 1");
  const tunnelName = r.wstr("Tunnel-End-Point-Name");
  // The length field stops here; the optional parts follow up to the trailing byte.
  if (r.off !== end)
    throw new BlobError(w, `data length ends at ${end - 20}, the fields at ${r.off - 20}`);
  const nfa: NfaBlob = {
    auth,
    ifType,
    ifName,
    tunnelAddr,
    isTunnel: isTunnel === 1,
    active: active === 1,
    tunnelName,
  };
  while (b.length - r.off > 1) {
    const g = r.guid("optional part GUID");
    if (g === BLOB_GUID.altAuth) {
      const n = r.u32("Alt-Auth-Num-Methods-Count");
      if (n !== count)
        throw new BlobError(w, `Alt-Auth count ${n} differs from Auth-Method-Count ${count}`);
      for (let i = 0; i < n; i++) {
        const a = readAuth(r, `alternate auth method ${i + 1}`);
        if (a.type !== auth[i]?.type)
          throw new BlobError(
            w,
            `alternate auth method ${i + 1} differs in type from the main list`,
          );
        (auth[i] as NfaAuth).data = a.data;
      }
    } else if (g === BLOB_GUID.altAuthFlags) {
      r.u32("Zero1");
      for (let i = 0; i < count; i++)
        (auth[i] as NfaAuth).flags = r.u32(`auth method ${i + 1} flags`);
    } else if (g === BLOB_GUID.ipv6Tunnel) {
      nfa.tunnelAddr6 = ipv6(r.bytes(16, "IPv6-Tunnel-Mode-Address"));
    } else {
      throw new BlobError(w, `unknown optional part {${g.toUpperCase()}}`);
    }
  }
  r.u8("trailing byte");
  return nfa;
}

export function encodeNfaBlob(n: NfaBlob): Buffer {
  const w = new Writer().u32(n.auth.length);
  for (const a of n.auth) writeAuth(w, a);
  w.u32(n.ifType)
    .wstr(n.ifName)
    .raw(ipv4Bytes(n.tunnelAddr))
    .u32(n.isTunnel ? 1 : 0)
    .u32(n.active ? 1 : 0)
    .wstr(n.tunnelName);
  const body = w.done();
  // Windows writes the alternate list (full PSK text) and flags only when they matter.
  const opt = new Writer();
  if (n.auth.some((a) => a.type !== AUTH_TYPE.kerberos)) {
    opt.raw(guidBytes(BLOB_GUID.altAuth)).u32(n.auth.length);
    for (const a of n.auth) writeAuth(opt, a);
    opt.raw(guidBytes(BLOB_GUID.altAuthFlags)).u32(0);
    for (const a of n.auth) opt.u32(a.flags);
  }
  if (n.tunnelAddr6 !== undefined)
    opt.raw(guidBytes(BLOB_GUID.ipv6Tunnel)).raw(ipv6Bytes(n.tunnelAddr6));
  return new Writer()
    .raw(guidBytes(BLOB_GUID.nfa))
    .u32(body.length)
    .raw(body)
    .raw(opt.done())
    .zero(1)
    .done();
}

// ----------------------------------------------------- ipsecNegotiationPolicy (2.2.1.4.1)

/** iPSECNegotiationPolicyType values. */
export const NEG_TYPE = {
  standard: "62f49e10-6c37-11d1-864c-14a300000000",
  defaultResponse: "62f49e13-6c37-11d1-864c-14a300000000",
} as const;

/** iPSECNegotiationPolicyAction values. */
export const NEG_ACTION = {
  block: "3f91a819-7647-11d1-864d-d46a00000000",
  permit: "8a171dd2-77e3-11d1-8659-a04f00000000",
  secure: "8a171dd3-77e3-11d1-8659-a04f00000000",
  inboundPassThrough: "3f91a81a-7647-11d1-864d-d46a00000000",
} as const;

export const OFFER_TYPE = { ah: 1, esp: 2 } as const;

export interface NegAlgorithm {
  /** AH: 1 MD5, 2 SHA-1. ESP: 0 none, 1 DES, 3 3DES; extensions 12 AES-CBC, 20 AES-GCM. */
  alg: number;
  keyLen: number;
  /** ESP integrity: 0 none, 1 MD5, 2 SHA-1; extensions 5 SHA-256, 6 SHA-384. */
  integrity: number;
  type: number;
}

export interface NegOffer {
  lifetimeSec: number;
  lifetimeKb: number;
  pfs: boolean;
  /** Empty: the "fall back to clear" offer (netsh's soft=yes). */
  algorithms: NegAlgorithm[];
}

export interface NegotiationBlob {
  offers: NegOffer[];
}

const OFFER_LEN = 80;
const ALG_SLOTS = 3;

export function decodeNegotiationBlob(b: Buffer): NegotiationBlob {
  const w = "ipsecNegotiationPolicy";
  const r = new Reader(b, w);
  const end = r.header(BLOB_GUID.negotiation, "plus-one");
  const count = r.u32("Security-Offer-Count");
  r.need(count * OFFER_LEN, `${count} security offers`);
  const offers: NegOffer[] = [];
  for (let i = 0; i < count; i++) {
    const f = `offer ${i + 1}`;
    const lifetimeSec = r.u32(`${f} Lifetime-Seconds`);
    const lifetimeKb = r.u32(`${f} Lifetime-KBytes`);
    r.u32(`${f} Negotiation-Options`);
    const pfs = r.u32(`${f} PFS-QM-Required`);
    if (pfs > 1) throw new BlobError(w, `${f} PFS-QM-Required is ${pfs}, not 0 or 1`);
    const n = r.u32(`${f} Algorithm-Offer-Count`);
    if (n > ALG_SLOTS) throw new BlobError(w, `${f} has ${n} algorithms (at most ${ALG_SLOTS})`);
    const algorithms: NegAlgorithm[] = [];
    for (let j = 0; j < ALG_SLOTS; j++) {
      const alg = r.u32(`${f} algorithm ${j + 1} id`);
      const integrity = r.u32(`${f} algorithm ${j + 1} ESP integrity`);
      const type = r.u32(`${f} algorithm ${j + 1} Offer-Type`);
      const keyLen = r.u32(`${f} algorithm ${j + 1} key length`);
      r.u32(`${f} algorithm ${j + 1} rounds`);
      if (j >= n) continue; // unused slots hold whatever memory Windows had
      if (type !== OFFER_TYPE.ah && type !== OFFER_TYPE.esp)
        throw new BlobError(w, `${f} algorithm ${j + 1} has Offer-Type ${type} (not 1 AH, 2 ESP)`);
      algorithms.push({ alg, keyLen, integrity, type });
    }
    offers.push({ lifetimeSec, lifetimeKb, pfs: pfs === 1, algorithms });
  }
  r.end(end);
  return { offers };
}

export function encodeNegotiationBlob(n: NegotiationBlob): Buffer {
  const w = new Writer().u32(n.offers.length);
  for (const o of n.offers) {
    if (o.algorithms.length > ALG_SLOTS) throw new Error("more than 3 algorithms in an offer");
    w.u32(o.lifetimeSec)
      .u32(o.lifetimeKb)
      .u32(0)
      .u32(o.pfs ? 1 : 0)
      .u32(o.algorithms.length);
    for (let j = 0; j < ALG_SLOTS; j++) {
      const a = o.algorithms[j];
      if (a) w.u32(a.alg).u32(a.integrity).u32(a.type).u32(a.keyLen).u32(8);
      else w.zero(20);
    }
  }
  return frame(BLOB_GUID.negotiation, w.done(), true);
}

// ----------------------------------------------------------------- ipsecFilter (2.2.1.5.1)

/** Legacy-Special-Filter: server types for the source (0x01-0x04) or destination (0x81-). */
export const SPECIAL = { dns: 1, wins: 2, dhcp: 3, gateway: 4, destination: 0x80 } as const;

/** One legacy (version 1, IPv4) filter specification. */
export interface FilterSpec {
  srcDns: string;
  dstDns: string;
  description: string;
  id: string;
  mirrored: boolean;
  srcAddr: string;
  srcMask: string;
  dstAddr: string;
  dstMask: string;
  tunnelAddr: string;
  protocol: number;
  srcPort: number;
  dstPort: number;
  isTunnel: boolean;
  special: number;
}

export interface FilterBlob {
  filters: FilterSpec[];
}

export function decodeFilterBlob(b: Buffer): FilterBlob {
  const w = "ipsecFilter";
  const r = new Reader(b, w);
  const end = r.header(BLOB_GUID.filter, "plus-one");
  const count = r.u32("Number-Of-Filters1");
  r.need(count * 70, `${count} filters`);
  const filters: FilterSpec[] = [];
  for (let i = 0; i < count; i++) {
    const f = `filter ${i + 1}`;
    const srcDns = r.wstr(`${f} Source-DNS-Name1`);
    const dstDns = r.wstr(`${f} Destination-DNS-Name1`);
    const description = r.wstr(`${f} Filter-Description1`);
    const id = r.guid(`${f} Filter-Specification-ID1`);
    const mirror = r.u32(`${f} Legacy-Mirror-Options`);
    if (mirror > 1) throw new BlobError(w, `${f} Legacy-Mirror-Options is ${mirror}, not 0 or 1`);
    const srcAddr = ipv4(r.bytes(4, `${f} Legacy-Source-Address`));
    const srcMask = ipv4(r.bytes(4, `${f} Legacy-Source-Mask`));
    const dstAddr = ipv4(r.bytes(4, `${f} Legacy-Destination-Address`));
    const dstMask = ipv4(r.bytes(4, `${f} Legacy-Destination-Mask`));
    const tunnelAddr = ipv4(r.bytes(4, `${f} Legacy-Tunnel-Address`));
    const protocol = r.u32(`${f} Legacy-Protocol`);
    if (protocol > 255) throw new BlobError(w, `${f} Legacy-Protocol ${protocol} is not 0-255`);
    const srcPort = r.u16(`${f} Legacy-Source-Port`);
    const dstPort = r.u16(`${f} Legacy-Destination-Port`);
    const isTunnel = r.u8(`${f} Legacy-Is-Tunnel`);
    const special = r.u8(`${f} Legacy-Special-Filter`);
    r.u16(`${f} Legacy-Filter-Options`);
    if (special !== 0 && ![1, 2, 3, 4].includes(special & 0x7f))
      throw new BlobError(w, `${f} Legacy-Special-Filter 0x${special.toString(16)} is unknown`);
    filters.push({
      srcDns,
      dstDns,
      description,
      id,
      mirrored: mirror === 1,
      srcAddr,
      srcMask,
      dstAddr,
      dstMask,
      tunnelAddr,
      protocol,
      srcPort,
      dstPort,
      isTunnel: isTunnel === 1,
      special,
    });
  }
  if (
    r.off !== end &&
    b.length - r.off >= 16 &&
    guidString(b.subarray(r.off, r.off + 16)) === BLOB_GUID.filterV2
  )
    throw new BlobError(
      w,
      "holds version 2 (IPv6) filter specifications, which postern does not read yet",
    );
  r.end(end);
  return { filters };
}

export function encodeFilterBlob(f: FilterBlob): Buffer {
  const w = new Writer().u32(f.filters.length);
  for (const s of f.filters) {
    w.wstr(s.srcDns)
      .wstr(s.dstDns)
      .wstr(s.description)
      .raw(guidBytes(s.id))
      .u32(s.mirrored ? 1 : 0)
      .raw(ipv4Bytes(s.srcAddr))
      .raw(ipv4Bytes(s.srcMask))
      .raw(ipv4Bytes(s.dstAddr))
      .raw(ipv4Bytes(s.dstMask))
      .raw(ipv4Bytes(s.tunnelAddr))
      .u32(s.protocol)
      .u16(s.srcPort)
      .u16(s.dstPort)
      .u8(s.isTunnel ? 1 : 0)
      .u8(s.special)
      .u16(0);
  }
  return frame(BLOB_GUID.filter, w.done(), true);
}
