/**
 * The JSON principal file of the standalone `postern kdc` runner (a test and development
 * tool; the DC embeds the KDC with its own directory):
 *
 *   { "realm": "PKD.TEST", "domainSid": "S-1-5-21-1-2-3", "dnsDomain": "pkd.test",
 *     "enctypes": [18, 17], "krbtgtPassword": "...",
 *     "maxLifeSeconds": 36000, "maxRenewableLifeSeconds": 604800,
 *     "principals": [ { "name": "alice", "password": "...", "rid": 1104, "groups": [1105] },
 *                     { "name": "WS01$", "password": "...", "rid": 1105,
 *                       "aliases": ["host/ws01.pkd.test"],
 *                       "allowedToDelegateTo": ["cifs/fs1.pkd.test"],
 *                       "trustedToAuthForDelegation": true,
 *                       "allowedToActOnBehalfOf": [1106] } ] }   // RIDs or SIDs (RBCD)
 *
 * krbtgt keys come from krbtgtPassword with MIT's salt for krbtgt/REALM (REALM "krbtgt"
 * REALM), kvno 1, in every listed enctype.
 */
import * as fs from "node:fs";
import { PosternError } from "../../errors.js";
import { getEnctype } from "../crypto/index.js";
import {
  createMemoryDatabase,
  DEFAULT_DB_ENCTYPES,
  type MemoryDatabase,
  type MemoryPrincipal,
  type PrincipalKey,
} from "./database.js";

export interface KdcDbFile {
  realm: string;
  domainSid: string;
  dnsDomain?: string;
  enctypes?: number[];
  krbtgtPassword: string;
  maxLifeSeconds?: number;
  maxRenewableLifeSeconds?: number;
  principals: MemoryPrincipal[];
}

export interface LoadedDb {
  file: KdcDbFile;
  database: MemoryDatabase;
  krbtgtKeys: PrincipalKey[];
}

const bad = (file: string, what: string) => new PosternError("kdc-db-invalid", `${file}: ${what}`);

function check(file: string, v: unknown): KdcDbFile {
  if (typeof v !== "object" || v === null) throw bad(file, "not a JSON object");
  const o = v as Record<string, unknown>;
  for (const k of ["realm", "domainSid", "krbtgtPassword"])
    if (typeof o[k] !== "string" || o[k] === "")
      throw bad(file, `"${k}" must be a non-empty string`);
  if (!/^S-1-5-21(-\d+){3}$/.test(o.domainSid as string))
    throw bad(file, `"domainSid" ${JSON.stringify(o.domainSid)} is not S-1-5-21-a-b-c`);
  if (!Array.isArray(o.principals)) throw bad(file, `"principals" must be an array`);
  o.principals.forEach((p: unknown, i: number) => {
    const q = p as Record<string, unknown>;
    if (typeof q?.name !== "string" || q.name === "")
      throw bad(file, `principals[${i}].name missing`);
    if (typeof q.rid !== "number" || !Number.isInteger(q.rid) || q.rid < 0)
      throw bad(file, `principals[${i}].rid must be a non-negative integer`);
    if (typeof q.password !== "string")
      throw bad(file, `principals[${i}].password must be a string`);
    const to = q.allowedToDelegateTo;
    if (to !== undefined && (!Array.isArray(to) || to.some((x) => typeof x !== "string")))
      throw bad(file, `principals[${i}].allowedToDelegateTo must be an array of SPNs`);
    const rbcd = q.allowedToActOnBehalfOf;
    const sidOrRid = (x: unknown) =>
      (typeof x === "number" && Number.isInteger(x) && x >= 0) ||
      (typeof x === "string" && x.startsWith("S-"));
    if (rbcd !== undefined && (!Array.isArray(rbcd) || !rbcd.every(sidOrRid)))
      throw bad(file, `principals[${i}].allowedToActOnBehalfOf must be an array of RIDs or SIDs`);
  });
  for (const e of (o.enctypes as number[] | undefined) ?? []) {
    try {
      getEnctype(e);
    } catch (err) {
      throw bad(file, (err as Error).message);
    }
  }
  return o as unknown as KdcDbFile;
}

export function loadKdcDbFile(path: string): LoadedDb {
  let text: string;
  try {
    text = fs.readFileSync(path, "utf8");
  } catch (e) {
    throw bad(path, `cannot read (${(e as NodeJS.ErrnoException).code ?? "error"})`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw bad(path, `not JSON: ${(e as Error).message}`);
  }
  const file = check(path, json);
  const realm = file.realm.toUpperCase();
  const enctypes = file.enctypes ?? [...DEFAULT_DB_ENCTYPES];
  const database = createMemoryDatabase({
    realm,
    domainSid: file.domainSid,
    enctypes,
    principals: file.principals,
    ...(file.dnsDomain ? { dnsDomain: file.dnsDomain } : {}),
  });
  const krbtgtKeys = enctypes.map((etype) => ({
    etype,
    kvno: 1,
    key: getEnctype(etype).stringToKey(file.krbtgtPassword, `${realm}krbtgt${realm}`),
  }));
  return { file, database, krbtgtKeys };
}

/** The database of a principal file, for a KDC worker thread (worker-pool.ts workerDatabase). */
export function openKdcDbFileDatabase(path: unknown): MemoryDatabase {
  return loadKdcDbFile(String(path)).database;
}
