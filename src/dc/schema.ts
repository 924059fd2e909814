/**
 * The directory's SQLite schema, versioned with `PRAGMA user_version`. A database of a
 * newer version than this code is refused; an older one is migrated in one transaction
 * (MIGRATIONS[i] takes version i to i + 1).
 *
 * One `objects` table holds every security principal (users, computers, groups, krbtgt), so
 * that sAMAccountName is unique across all of them as in AD, and a membership row points at
 * any principal. Foreign keys cascade deletions of an object to its keys, SPNs, memberships,
 * DNS records and join tokens.
 */
import { DirectoryError } from "./errors.js";
import type { SqliteDatabase } from "./sqlite.js";

export const SCHEMA_VERSION = 6;

const V1 = `
CREATE TABLE domain (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  dns_name TEXT NOT NULL,
  netbios TEXT NOT NULL,
  sid TEXT NOT NULL,
  next_rid INTEGER NOT NULL,
  dns_serial INTEGER NOT NULL,
  dc_rid INTEGER NOT NULL,
  dc_address TEXT NOT NULL,
  created_at TEXT NOT NULL
);
CREATE TABLE objects (
  rid INTEGER PRIMARY KEY,
  kind TEXT NOT NULL CHECK (kind IN ('user', 'computer', 'group', 'krbtgt')),
  sam TEXT NOT NULL UNIQUE COLLATE NOCASE,
  description TEXT NOT NULL DEFAULT '',
  enabled INTEGER NOT NULL DEFAULT 1,
  primary_group_rid INTEGER,
  created_at TEXT NOT NULL,
  changed_at TEXT NOT NULL
);
CREATE TABLE computers (
  rid INTEGER PRIMARY KEY REFERENCES objects(rid) ON DELETE CASCADE,
  dns_host_name TEXT NOT NULL UNIQUE COLLATE NOCASE,
  is_dc INTEGER NOT NULL DEFAULT 0,
  joined_at TEXT
);
CREATE TABLE spns (
  spn TEXT PRIMARY KEY COLLATE NOCASE,
  rid INTEGER NOT NULL REFERENCES objects(rid) ON DELETE CASCADE
);
CREATE INDEX spns_rid ON spns(rid);
CREATE TABLE keys (
  rid INTEGER NOT NULL REFERENCES objects(rid) ON DELETE CASCADE,
  etype INTEGER NOT NULL,
  kvno INTEGER NOT NULL,
  key BLOB NOT NULL,
  PRIMARY KEY (rid, etype)
);
CREATE TABLE users (
  rid INTEGER PRIMARY KEY REFERENCES objects(rid) ON DELETE CASCADE,
  password_hash TEXT NOT NULL
);
CREATE TABLE groups (
  rid INTEGER PRIMARY KEY REFERENCES objects(rid) ON DELETE CASCADE,
  scope TEXT NOT NULL CHECK (scope IN ('global', 'domainlocal', 'universal'))
);
CREATE TABLE members (
  group_rid INTEGER NOT NULL REFERENCES groups(rid) ON DELETE CASCADE,
  member_rid INTEGER NOT NULL REFERENCES objects(rid) ON DELETE CASCADE,
  PRIMARY KEY (group_rid, member_rid)
);
CREATE INDEX members_member ON members(member_rid, group_rid);
CREATE TABLE join_tokens (
  id TEXT PRIMARY KEY,
  rid INTEGER NOT NULL REFERENCES objects(rid) ON DELETE CASCADE,
  secret_hash BLOB NOT NULL,
  expires_at TEXT NOT NULL,
  used_at TEXT
);
CREATE TABLE dns_records (
  name TEXT NOT NULL COLLATE NOCASE,
  type TEXT NOT NULL CHECK (type IN ('A', 'AAAA')),
  value TEXT NOT NULL,
  ttl INTEGER NOT NULL,
  owner_rid INTEGER REFERENCES objects(rid) ON DELETE CASCADE,
  PRIMARY KEY (name, type, value)
);
CREATE TABLE gpos (
  guid TEXT PRIMARY KEY,
  name TEXT NOT NULL UNIQUE COLLATE NOCASE,
  version INTEGER NOT NULL,
  ipsec_store TEXT NOT NULL,
  firewall TEXT NOT NULL,
  created_at TEXT NOT NULL,
  changed_at TEXT NOT NULL
);
CREATE TABLE gpo_links (
  gpo_guid TEXT NOT NULL REFERENCES gpos(guid) ON DELETE CASCADE,
  target_rid INTEGER NOT NULL,
  link_order INTEGER NOT NULL,
  PRIMARY KEY (gpo_guid, target_rid)
);
CREATE TABLE audit (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  at TEXT NOT NULL,
  actor TEXT NOT NULL,
  action TEXT NOT NULL,
  target TEXT NOT NULL,
  detail TEXT NOT NULL
);
`;

/**
 * Version 2: the domain's IPsec policy container (as AD's CN=IP Security,CN=System: one
 * PolicyStore for the whole domain, edited with `netsh ipsec static set store
 * location=domain`, with a revision for optimistic concurrency) and, per GPO, the GUID of
 * the domain policy assigned to it (`set policy assign=yes gponame=G`).
 */
const V2 = `
CREATE TABLE ipsec_domain (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  store TEXT NOT NULL,
  revision INTEGER NOT NULL,
  changed_at TEXT NOT NULL
);
INSERT INTO ipsec_domain VALUES (1, '{"version":1,"filterLists":[],"filterActions":[],"policies":[]}', 0, '');
ALTER TABLE gpos ADD COLUMN ipsec_policy TEXT;
`;

/**
 * Version 3: Kerberos delegation per account (delegation.ts): msDS-AllowedToDelegateTo as
 * a JSON array of SPNs, and userAccountControl's TRUSTED_TO_AUTH_FOR_DELEGATION.
 */
const V3 = `
CREATE TABLE delegation (
  rid INTEGER PRIMARY KEY REFERENCES objects(rid) ON DELETE CASCADE,
  allowed_to TEXT NOT NULL,
  trusted_to_auth INTEGER NOT NULL DEFAULT 0
);
`;

/**
 * Version 4: msDS-SupportedEncryptionTypes per account ([MS-KILE] §2.2.7; bits in
 * src/kerberos/kdc/etype-choice.ts), NULL meaning AD's default 0x18 (AES-SHA1). Accounts of
 * an older directory keep their keys, 19/20 included: the KDC stops sealing tickets with
 * them (the default names 17/18, which every account has at the same kvno, so keytabs of
 * joined machines stay valid); `postern domain computer set-enctypes` turns them back on.
 */
const V4 = `
ALTER TABLE objects ADD COLUMN supported_enctypes INTEGER;
`;

/**
 * Version 5: the expected access matrix a GPO carries (src/dc/expect.ts, issue 16): a JSON
 * list of rows, empty for every GPO of an older directory.
 */
const V5 = `
ALTER TABLE gpos ADD COLUMN expect TEXT NOT NULL DEFAULT '[]';
`;

/**
 * Version 6: resource-based constrained delegation (delegation.ts): what AD keeps in
 * msDS-AllowedToActOnBehalfOfOtherIdentity (a security descriptor whose allow entries name
 * who may delegate *to* this account), as a JSON array of SIDs; empty for every account of
 * an older directory.
 */
const V6 = `
ALTER TABLE delegation ADD COLUMN allowed_to_act TEXT NOT NULL DEFAULT '[]';
`;

/** MIGRATIONS[v] takes a database at user_version v to v + 1. */
const MIGRATIONS: readonly string[] = [V1, V2, V3, V4, V5, V6];

/** WAL, full fsync at commit (an acknowledged change survives a crash), foreign keys on. */
export function configure(db: SqliteDatabase): void {
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = FULL");
  db.pragma("foreign_keys = ON");
  db.pragma("busy_timeout = 5000");
}

export function schemaVersion(db: SqliteDatabase): number {
  return Number(db.pragma("user_version", { simple: true }));
}

export function migrate(db: SqliteDatabase): void {
  const from = schemaVersion(db);
  if (from > SCHEMA_VERSION) {
    throw new DirectoryError(
      "dc.schema",
      `directory schema version ${from} is newer than this postern (${SCHEMA_VERSION})`,
    );
  }
  if (from === SCHEMA_VERSION) return;
  db.transaction(() => {
    for (let v = from; v < SCHEMA_VERSION; v++) db.exec(MIGRATIONS[v] as string);
    db.pragma(`user_version = ${SCHEMA_VERSION}`);
  })();
}
