/**
 * The directory: one SQLite database (`<home>/dc/directory.db`) in WAL mode with foreign
 * keys. Every change runs through `change()`: one transaction holding the change and its
 * audit row (who, what, when), so a change and its record commit or vanish together.
 *
 * Objects of a fresh domain (`initDirectory`), as AD creates them:
 *   500 Administrator (member of Domain Admins, primary group Domain Users)
 *   502 krbtgt (random keys), 512 Domain Admins, 513 Domain Users, 515 Domain Computers,
 *   516 Domain Controllers (global groups), 1000 the DC's own computer account (primary
 *   group Domain Controllers); later objects take RIDs 1001, 1002, ... never reused.
 */
import { randomBytes } from "../crypto/primitives.js";
import { DirectoryError } from "./errors.js";
import { DEFAULT_ENCTYPES, hashPassword, type KeyDeriver, randomKeys, userSalt } from "./keys.js";
import { computerName, dnsDomainName, netbiosDomainName } from "./names.js";
import { configure, migrate } from "./schema.js";
import { FIRST_ALLOCATED_RID, newDomainSid, RID } from "./sids.js";
import { openSqlite, type SqliteDatabase, type Statement } from "./sqlite.js";
import { kerberosKeyDeriver } from "./string-to-key.js";

export interface DirectoryDeps {
  clock: () => Date;
  random: (n: number) => Uint8Array;
  /** Kerberos string-to-key for the administrator's keys; absent: no Kerberos keys. */
  keyDeriver?: KeyDeriver | undefined;
}

/** The real clock, randomness and the Kerberos library's string-to-key. */
export const defaultDeps = (): DirectoryDeps => ({
  clock: () => new Date(),
  random: randomBytes,
  keyDeriver: kerberosKeyDeriver,
});

export interface DomainInfo {
  dnsName: string;
  netbios: string;
  realm: string;
  sid: string;
  dcRid: number;
  dcName: string;
  dcHostName: string;
  dcAddress: string;
  dnsSerial: number;
  createdAt: string;
}

export interface Directory {
  readonly db: SqliteDatabase;
  readonly deps: DirectoryDeps;
  /** A cached prepared statement. */
  stmt(sql: string): Statement;
  domain(): DomainInfo;
  /** The domain SID (cached: it never changes). */
  domainSid(): string;
  now(): string;
  /** Changes committed through this handle so far (with PRAGMA data_version: cache keys). */
  changeCount(): number;
  /** Runs fn in one transaction that also writes the audit row. */
  change<R>(actor: string, action: string, target: string, fn: () => R, detail?: string): R;
  /** The next RID (inside a change). */
  allocateRid(): number;
  /** Bumps the zone's SOA serial (inside a change that altered DNS data). */
  bumpDnsSerial(): void;
  close(): void;
}

export function openDirectory(file: string, deps: DirectoryDeps = defaultDeps()): Directory {
  const db = openSqlite(file, { timeout: 5000 });
  try {
    configure(db);
    migrate(db);
  } catch (e) {
    db.close();
    throw e;
  }
  return wrap(db, deps);
}

function wrap(db: SqliteDatabase, deps: DirectoryDeps): Directory {
  const cache = new Map<string, Statement>();
  let domainCache: DomainInfo | undefined;
  let changes = 0;
  const stmt = (sql: string): Statement => {
    let s = cache.get(sql);
    if (!s) {
      s = db.prepare(sql);
      cache.set(sql, s);
    }
    return s;
  };
  const now = () => deps.clock().toISOString();
  const dir: Directory = {
    db,
    deps,
    stmt,
    now,
    domain() {
      if (!domainCache) domainCache = readDomain(stmt);
      const serial = stmt("SELECT dns_serial FROM domain WHERE id = 1").get() as {
        dns_serial: number;
      };
      return { ...domainCache, dnsSerial: serial.dns_serial };
    },
    domainSid() {
      if (!domainCache) domainCache = readDomain(stmt);
      return domainCache.sid;
    },
    changeCount: () => changes,
    change(actor, action, target, fn, detail = "") {
      const result = db.transaction(() => {
        const r = fn();
        stmt("INSERT INTO audit (at, actor, action, target, detail) VALUES (?, ?, ?, ?, ?)").run(
          now(),
          actor,
          action,
          target,
          detail,
        );
        return r;
      })();
      changes++;
      return result;
    },
    allocateRid() {
      const row = stmt("SELECT next_rid FROM domain WHERE id = 1").get() as { next_rid: number };
      stmt("UPDATE domain SET next_rid = next_rid + 1 WHERE id = 1").run();
      return row.next_rid;
    },
    bumpDnsSerial() {
      stmt("UPDATE domain SET dns_serial = dns_serial + 1 WHERE id = 1").run();
    },
    close() {
      if (db.open) db.close();
    },
  };
  return dir;
}

interface DomainRow {
  dns_name: string;
  netbios: string;
  sid: string;
  dc_rid: number;
  dc_address: string;
  dns_serial: number;
  created_at: string;
  dns_host_name: string;
  sam: string;
}

function readDomain(stmt: (sql: string) => Statement): DomainInfo {
  const row = stmt(
    `SELECT d.dns_name, d.netbios, d.sid, d.dc_rid, d.dc_address, d.dns_serial, d.created_at,
            c.dns_host_name, o.sam
       FROM domain d JOIN computers c ON c.rid = d.dc_rid JOIN objects o ON o.rid = d.dc_rid
      WHERE d.id = 1`,
  ).get() as DomainRow | undefined;
  if (!row) throw new DirectoryError("dc.not-initialized", "the directory holds no domain");
  return {
    dnsName: row.dns_name,
    netbios: row.netbios,
    realm: row.dns_name.toUpperCase(),
    sid: row.sid,
    dcRid: row.dc_rid,
    dcName: row.sam.slice(0, -1),
    dcHostName: row.dns_host_name,
    dcAddress: row.dc_address,
    dnsSerial: row.dns_serial,
    createdAt: row.created_at,
  };
}

export interface InitOptions {
  dnsName: string;
  netbios?: string | undefined;
  adminPassword: string;
  dcName: string;
  dcAddress: string;
  actor: string;
}

/** Creates the domain and its built-in objects in a new (empty) database. */
export function initDirectory(
  file: string,
  opts: InitOptions,
  deps: DirectoryDeps = defaultDeps(),
): Directory {
  const dnsName = dnsDomainName(opts.dnsName);
  const netbios = netbiosDomainName(opts.netbios ?? (dnsName.split(".")[0] as string).slice(0, 15));
  const dc = computerName(opts.dcName);
  const dir = openDirectory(file, deps);
  try {
    if (dir.stmt("SELECT 1 FROM domain").get()) {
      throw new DirectoryError("dc.already-initialized", `${file} already holds a domain`);
    }
    dir.change(opts.actor, "domain.init", dnsName, () =>
      createDomain(dir, dnsName, netbios, dc, opts),
    );
  } catch (e) {
    dir.close();
    throw e;
  }
  return dir;
}

function createDomain(
  dir: Directory,
  dnsName: string,
  netbios: string,
  dc: { name: string; sam: string },
  opts: InitOptions,
): void {
  const now = dir.now();
  const { random } = dir.deps;
  dir
    .stmt("INSERT INTO domain VALUES (1, ?, ?, ?, ?, 1, ?, ?, ?)")
    .run(
      dnsName,
      netbios,
      newDomainSid(random),
      FIRST_ALLOCATED_RID,
      FIRST_ALLOCATED_RID,
      opts.dcAddress,
      now,
    );
  const obj = dir.stmt(
    "INSERT INTO objects (rid, kind, sam, description, enabled, primary_group_rid, created_at, changed_at) VALUES (?, ?, ?, ?, 1, ?, ?, ?)",
  );
  const groups: [number, string, string][] = [
    [RID.domainAdmins, "Domain Admins", "Designated administrators of the domain"],
    [RID.domainUsers, "Domain Users", "All domain users"],
    [RID.domainComputers, "Domain Computers", "All workstations and servers joined to the domain"],
    [RID.domainControllers, "Domain Controllers", "All domain controllers in the domain"],
  ];
  for (const [rid, name, desc] of groups) {
    obj.run(rid, "group", name, desc, null, now, now);
    dir.stmt("INSERT INTO groups (rid, scope) VALUES (?, 'global')").run(rid);
  }
  obj.run(
    RID.administrator,
    "user",
    "Administrator",
    "Built-in account for administering the domain",
    RID.domainUsers,
    now,
    now,
  );
  dir
    .stmt("INSERT INTO users (rid, password_hash) VALUES (?, ?)")
    .run(RID.administrator, hashPassword(opts.adminPassword, random));
  dir.stmt("INSERT INTO members VALUES (?, ?)").run(RID.domainAdmins, RID.administrator);
  const deriver = dir.deps.keyDeriver;
  if (deriver) {
    const salt = userSalt(dnsName, "Administrator");
    for (const k of deriver.deriveKeys(opts.adminPassword, salt, DEFAULT_ENCTYPES)) {
      dir
        .stmt("INSERT INTO keys VALUES (?, ?, 1, ?)")
        .run(RID.administrator, k.etype, Buffer.from(k.key));
    }
  }
  obj.run(
    RID.krbtgt,
    "krbtgt",
    "krbtgt",
    "Key Distribution Center Service Account",
    RID.domainUsers,
    now,
    now,
  );
  for (const k of randomKeys(1, random)) {
    dir
      .stmt("INSERT INTO keys VALUES (?, ?, ?, ?)")
      .run(RID.krbtgt, k.etype, k.kvno, Buffer.from(k.key));
  }
  const dcRid = dir.allocateRid();
  obj.run(dcRid, "computer", dc.sam, "Domain controller", RID.domainControllers, now, now);
  const fqdn = `${dc.name}.${dnsName}`;
  dir
    .stmt("INSERT INTO computers (rid, dns_host_name, is_dc, joined_at) VALUES (?, ?, 1, ?)")
    .run(dcRid, fqdn, now);
  for (const spn of [`host/${dc.name.toUpperCase()}`, `host/${fqdn}`, `ldap/${fqdn}`]) {
    dir.stmt("INSERT INTO spns VALUES (?, ?)").run(spn, dcRid);
  }
  for (const k of randomKeys(1, random)) {
    dir
      .stmt("INSERT INTO keys VALUES (?, ?, ?, ?)")
      .run(dcRid, k.etype, k.kvno, Buffer.from(k.key));
  }
}

/** Every table as JSON-able rows, for comparisons (bad input must leave this unchanged). */
export function dumpDirectory(dir: Directory): Record<string, unknown[]> {
  const out: Record<string, unknown[]> = {};
  const tables = dir.db
    .prepare(
      "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
    )
    .all() as { name: string }[];
  for (const { name } of tables) {
    out[name] = dir.db
      .prepare(`SELECT * FROM "${name}" ORDER BY rowid`)
      .all()
      .map((row) =>
        Object.fromEntries(
          Object.entries(row as Record<string, unknown>).map(([k, v]) => [
            k,
            Buffer.isBuffer(v) ? v.toString("hex") : v,
          ]),
        ),
      );
  }
  return out;
}
