/**
 * Reading and writing the IP Security container through a directory connection.
 *
 * `Directory` has the shape of the LDAP client's connection (search/add/modify/delete with
 * attributes as lower-case name -> Buffer[]), so the same code runs over LDAP to a DC and,
 * on a host that holds the database, over Samba's ldb tools (ldb.ts).
 *
 * Writing follows [MS-GPIPSEC] 2.2.1: objects are created without their references, then
 * the references are set by modify (a DN-valued attribute must name an existing object, and
 * a policy and its ISAKMP object name each other), and objects no longer wanted are deleted
 * last, when nothing refers to them any more.
 */
import { formatGuid } from "../policy/defaults.js";
import {
  GpipsecError,
  IPSEC_CLASSES,
  type IpsecClass,
  type IpsecEntry,
  idOf,
  ipsecContainer,
  VERSION_OBJECT,
} from "./objects.js";

export interface DirEntry {
  dn: string;
  /** Attribute names in lower case. */
  attributes: Map<string, Buffer[]>;
}

export interface DirChange {
  operation: "add" | "replace" | "delete";
  type: string;
  values: Buffer[];
}

/** One write of a batch. */
export type DirOp =
  | { op: "add"; dn: string; attributes: Map<string, Buffer[]> }
  | { op: "modify"; dn: string; changes: DirChange[] }
  | { op: "delete"; dn: string };

export interface Directory {
  search(req: {
    base: string;
    scope: "base" | "one" | "sub";
    filter: string;
    attributes?: string[];
  }): Promise<DirEntry[]>;
  add(dn: string, attributes: Map<string, Buffer[]>): Promise<void>;
  modify(dn: string, changes: DirChange[]): Promise<void>;
  delete(dn: string): Promise<void>;
  /** Several writes in order, in one round where the directory can (ldb: one ldbmodify). */
  batch?(ops: DirOp[]): Promise<void>;
}

async function apply(dir: Directory, ops: DirOp[]): Promise<void> {
  if (ops.length === 0) return;
  if (dir.batch) return dir.batch(ops);
  for (const o of ops) {
    if (o.op === "add") await dir.add(o.dn, o.attributes);
    else if (o.op === "modify") await dir.modify(o.dn, o.changes);
    else await dir.delete(o.dn);
  }
}

const ATTRS = [
  "objectclass",
  "ipsecid",
  "ipsecname",
  "description",
  "ipsecdata",
  "ipsecdatatype",
  "ipsecownersreference",
  "ipsecnfareference",
  "ipsecisakmpreference",
  "ipsecfilterreference",
  "ipsecnegotiationpolicyreference",
  "ipsecnegotiationpolicytype",
  "ipsecnegotiationpolicyaction",
  "whenchanged",
];

/**
 * ipsecDataType: the specification says 0x100 (256); Windows writes 598 (0x256 read as
 * decimal), and so does every object of a fresh Samba provision. Both are read; postern
 * writes Windows' value.
 */
const DATA_TYPE = "598";
const DATA_TYPES = new Set(["256", "598"]);

function text(e: DirEntry, attr: string): string | undefined {
  return e.attributes.get(attr)?.[0]?.toString("utf8");
}

function texts(e: DirEntry, attr: string): string[] {
  return (e.attributes.get(attr) ?? []).map((b) => b.toString("utf8"));
}

/** `20261206152333.0Z` -> ISO 8601. */
function generalizedTime(t: string | undefined): string | undefined {
  const m = t ? /^(\d{4})(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)/.exec(t) : null;
  return m ? `${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}.000Z` : undefined;
}

function entryOf(e: DirEntry): IpsecEntry | null {
  const classes = texts(e, "objectclass").map((c) => c.toLowerCase());
  const cls = IPSEC_CLASSES.find((c) => classes.includes(c.toLowerCase()));
  if (!cls) return null;
  const id = idOf(text(e, "ipsecid") ?? "", e.dn);
  if (id === VERSION_OBJECT) return null;
  const dataType = text(e, "ipsecdatatype");
  if (dataType === undefined || !DATA_TYPES.has(dataType))
    throw new GpipsecError(`${cls} ${formatGuid(id)}: ipsecDataType ${dataType} is not 598 or 256`);
  const data = e.attributes.get("ipsecdata")?.[0];
  if (!data) throw new GpipsecError(`${cls} ${formatGuid(id)}: has no ipsecData`);
  const typeOf = (attr: string) => {
    const v = text(e, attr);
    return v === undefined ? undefined : idOf(v, `${cls} ${formatGuid(id)} ${attr}`);
  };
  const out: IpsecEntry = {
    dn: e.dn,
    objectClass: cls,
    id,
    data,
    owners: texts(e, "ipsecownersreference"),
    nfaRefs: texts(e, "ipsecnfareference"),
  };
  const opt: [keyof IpsecEntry, string | undefined][] = [
    ["name", text(e, "ipsecname")],
    ["description", text(e, "description")],
    ["isakmpRef", text(e, "ipsecisakmpreference")],
    ["filterRef", text(e, "ipsecfilterreference")],
    ["negRef", text(e, "ipsecnegotiationpolicyreference")],
    ["negType", typeOf("ipsecnegotiationpolicytype")],
    ["negAction", typeOf("ipsecnegotiationpolicyaction")],
    ["whenChanged", generalizedTime(text(e, "whenchanged"))],
  ];
  for (const [k, v] of opt) if (v !== undefined) (out as unknown as Record<string, unknown>)[k] = v;
  return out;
}

/** Every IPsec object of the domain's container (the version object aside). */
export async function readIpsecEntries(dir: Directory, domainDn: string): Promise<IpsecEntry[]> {
  const found = await dir.search({
    base: ipsecContainer(domainDn),
    scope: "one",
    filter: "(objectClass=ipsecBase)",
    attributes: ATTRS,
  });
  return found.map(entryOf).filter((e): e is IpsecEntry => e !== null);
}

const b = (s: string) => Buffer.from(s, "utf8");

/** The attributes an entry is written with, references apart. */
function ownAttrs(e: IpsecEntry): Map<string, Buffer[]> {
  const m = new Map<string, Buffer[]>([
    ["objectclass", [b(e.objectClass)]],
    ["ipsecid", [b(formatGuid(e.id))]],
    ["ipsecdatatype", [b(DATA_TYPE)]],
    ["ipsecdata", [e.data]],
  ]);
  if (e.name) m.set("ipsecname", [b(e.name)]);
  if (e.description) m.set("description", [b(e.description)]);
  if (e.negType) m.set("ipsecnegotiationpolicytype", [b(formatGuid(e.negType))]);
  if (e.negAction) m.set("ipsecnegotiationpolicyaction", [b(formatGuid(e.negAction))]);
  return m;
}

function refAttrs(e: IpsecEntry): Map<string, string[]> {
  return new Map([
    ["ipsecownersreference", e.owners],
    ["ipsecnfareference", e.nfaRefs],
    ["ipsecisakmpreference", e.isakmpRef ? [e.isakmpRef] : []],
    ["ipsecfilterreference", e.filterRef ? [e.filterRef] : []],
    ["ipsecnegotiationpolicyreference", e.negRef ? [e.negRef] : []],
  ]);
}

function sameDns(a: readonly string[], b2: readonly string[]): boolean {
  const n = (l: readonly string[]) => l.map((d) => d.replace(/\s*,\s*/g, ",").toLowerCase()).sort();
  return JSON.stringify(n(a)) === JSON.stringify(n(b2));
}

function sameValues(a: Buffer[] | undefined, b2: Buffer[] | undefined): boolean {
  const x = a ?? [];
  const y = b2 ?? [];
  return x.length === y.length && x.every((v, i) => v.equals(y[i] as Buffer));
}

const ORDER: Record<IpsecClass, number> = {
  ipsecFilter: 0,
  ipsecNegotiationPolicy: 1,
  ipsecISAKMPPolicy: 2,
  ipsecNFA: 3,
  ipsecPolicy: 4,
};

/**
 * Makes the container hold `desired` where it held `current`: adds, then references, then
 * deletions. Returns how many objects were added, changed and deleted.
 */
export async function writeIpsecEntries(
  dir: Directory,
  current: readonly IpsecEntry[],
  desired: readonly IpsecEntry[],
): Promise<{ added: number; changed: number; deleted: number }> {
  const key = (dn: string) => dn.replace(/\s*,\s*/g, ",").toLowerCase();
  const cur = new Map(current.map((e) => [key(e.dn), e]));
  const want = new Map(desired.map((e) => [key(e.dn), e]));
  const sorted = [...desired].sort((x, y) => ORDER[x.objectClass] - ORDER[y.objectClass]);
  const ops: DirOp[] = [];
  let added = 0;
  let changed = 0;
  for (const e of sorted) {
    if (cur.has(key(e.dn))) continue;
    ops.push({ op: "add", dn: e.dn, attributes: ownAttrs(e) });
    added++;
  }
  for (const e of sorted) {
    const old = cur.get(key(e.dn));
    const changes: DirChange[] = [];
    const mine = ownAttrs(e);
    if (old) {
      const before = ownAttrs(old);
      for (const attr of [
        "ipsecname",
        "description",
        "ipsecdata",
        "ipsecnegotiationpolicytype",
        "ipsecnegotiationpolicyaction",
      ]) {
        if (!sameValues(before.get(attr), mine.get(attr)))
          changes.push({ operation: "replace", type: attr, values: mine.get(attr) ?? [] });
      }
    }
    const oldRefs = old ? refAttrs(old) : new Map<string, string[]>();
    for (const [attr, dns] of refAttrs(e)) {
      if (!sameDns(oldRefs.get(attr) ?? [], dns))
        changes.push({ operation: "replace", type: attr, values: dns.map(b) });
    }
    if (changes.length === 0) continue;
    ops.push({ op: "modify", dn: e.dn, changes });
    if (old) changed++;
  }
  let deleted = 0;
  for (const e of [...current].sort((x, y) => ORDER[y.objectClass] - ORDER[x.objectClass])) {
    if (want.has(key(e.dn))) continue;
    ops.push({ op: "delete", dn: e.dn });
    deleted++;
  }
  await apply(dir, ops);
  return { added, changed, deleted };
}
