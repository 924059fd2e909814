/**
 * One-time join tokens and the server side of joining and leaving.
 *
 * A token is `pjt1.<id>.<secret>`: the id finds the row, the secret is stored only as its
 * SHA-256, it expires (default 24 h) and is consumed by the first successful join. A join
 * claims the account in one transaction: token marked used, new random keys (kvno + 1),
 * account enabled, joined_at set, the host's address record replaced. Anything wrong with
 * the token is one `dc.token` error and nothing changes.
 */
import { equalConstantTime, hash } from "../crypto/primitives.js";
import { type ComputerInfo, currentKvno, showComputer, writeKeys } from "./computers.js";
import type { Directory } from "./directory.js";
import { DirectoryError } from "./errors.js";
import type { AccountKey } from "./keys.js";
import { computerName } from "./names.js";
import { getObject } from "./objects.js";
import { replaceOwnedAddress } from "./records.js";

export const DEFAULT_TOKEN_TTL_MS = 24 * 3600 * 1000;

export function issueJoinToken(
  dir: Directory,
  actor: string,
  name: string,
  ttlMs = DEFAULT_TOKEN_TTL_MS,
): { token: string; expiresAt: string } {
  const o = getObject(dir, computerName(name).sam, "computer");
  if (o.rid === dir.domain().dcRid) {
    throw new DirectoryError("dc.protected", `'${o.sam}' is this domain controller's account`);
  }
  const id = Buffer.from(dir.deps.random(9)).toString("base64url");
  const secret = Buffer.from(dir.deps.random(24)).toString("base64url");
  const expiresAt = new Date(dir.deps.clock().getTime() + ttlMs).toISOString();
  dir.change(
    actor,
    "computer.join-token",
    o.sam,
    () => {
      dir
        .stmt("INSERT INTO join_tokens VALUES (?, ?, ?, ?, NULL)")
        .run(id, o.rid, hash("sha256", Buffer.from(secret)), expiresAt);
    },
    `id ${id}, expires ${expiresAt}`,
  );
  return { token: `pjt1.${id}.${secret}`, expiresAt };
}

export interface JoinRequest {
  name: string;
  token: string;
  /** The address to register; the API fills in the caller's address when absent. */
  address?: string | undefined;
}

export interface JoinResult {
  computer: ComputerInfo;
  realm: string;
  domain: string;
  domainSid: string;
  keys: AccountKey[];
}

function rejectToken(why: string): never {
  throw new DirectoryError("dc.token", `join token rejected: ${why}`);
}

export function joinWithToken(dir: Directory, req: JoinRequest): JoinResult {
  const { sam } = computerName(req.name);
  const m = /^pjt1\.([A-Za-z0-9_-]{12})\.([A-Za-z0-9_-]{32})$/.exec(req.token);
  if (!m) rejectToken("malformed");
  const [, id, secret] = m as unknown as [string, string, string];
  const actor = `join-token:${id}`;
  return dir.change(
    actor,
    "computer.join",
    sam,
    () => {
      const row = dir
        .stmt("SELECT t.*, o.sam FROM join_tokens t JOIN objects o ON o.rid = t.rid WHERE t.id = ?")
        .get(id) as
        | {
            rid: number;
            secret_hash: Buffer;
            expires_at: string;
            used_at: string | null;
            sam: string;
          }
        | undefined;
      if (!row || !equalConstantTime(row.secret_hash, hash("sha256", Buffer.from(secret))))
        rejectToken("unknown token");
      if (row.used_at) rejectToken(`already used at ${row.used_at}`);
      if (row.expires_at <= dir.now()) rejectToken(`expired at ${row.expires_at}`);
      if (row.sam.toUpperCase() !== sam) rejectToken(`issued for ${row.sam}, not ${sam}`);
      dir
        .stmt("UPDATE join_tokens SET used_at = ? WHERE id = ? AND used_at IS NULL")
        .run(dir.now(), id);
      const kvno = currentKvno(dir, row.rid) + 1;
      writeKeys(dir, row.rid, kvno);
      dir
        .stmt("UPDATE objects SET enabled = 1, changed_at = ? WHERE rid = ?")
        .run(dir.now(), row.rid);
      dir.stmt("UPDATE computers SET joined_at = ? WHERE rid = ?").run(dir.now(), row.rid);
      const computer = showComputer(dir, row.sam);
      if (req.address) replaceOwnedAddress(dir, row.rid, computer.dnsHostName, req.address);
      const d = dir.domain();
      const keys = dir
        .stmt("SELECT etype, kvno, key FROM keys WHERE rid = ? ORDER BY etype")
        .all(row.rid) as AccountKey[];
      return {
        computer,
        realm: d.realm,
        domain: d.dnsName,
        domainSid: d.sid,
        keys: keys.map((k) => ({ ...k, key: new Uint8Array(k.key) })),
      };
    },
    req.address ?? "",
  );
}

/** The machine leaves: account disabled (as Windows does), its DNS records removed. */
export function leaveDomain(dir: Directory, actor: string, sam: string): void {
  const o = getObject(dir, sam, "computer");
  if (o.rid === dir.domain().dcRid)
    throw new DirectoryError("dc.protected", "the domain controller cannot leave its own domain");
  dir.change(actor, "computer.leave", o.sam, () => {
    dir.stmt("UPDATE objects SET enabled = 0, changed_at = ? WHERE rid = ?").run(dir.now(), o.rid);
    dir.stmt("UPDATE computers SET joined_at = NULL WHERE rid = ?").run(o.rid);
    dir.stmt("DELETE FROM dns_records WHERE owner_rid = ?").run(o.rid);
    dir.bumpDnsSerial();
  });
}
