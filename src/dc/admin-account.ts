/**
 * The administrator's password: its PBKDF2 hash for checks and, when the Kerberos library's
 * string-to-key is injected (DirectoryDeps.keyDeriver), its Kerberos keys (salt REALM +
 * "Administrator", kvno one above the keys held). defaultDeps carries the real deriver; a
 * domain made before it existed gets its administrator keys by setting the password again.
 */
import type { Directory } from "./directory.js";
import { DirectoryError } from "./errors.js";
import {
  checkPasswordPolicy,
  DEFAULT_ENCTYPES,
  hashPassword,
  userSalt,
  verifyPassword,
} from "./keys.js";
import { RID } from "./sids.js";

export function setAdminPassword(
  dir: Directory,
  actor: string,
  password: string,
): { kvno: number; keys: number } {
  const bad = checkPasswordPolicy(password);
  if (bad) throw new DirectoryError("dc.password", bad);
  const deriver = dir.deps.keyDeriver;
  const derived = deriver
    ? deriver.deriveKeys(password, userSalt(dir.domain().realm, "Administrator"), DEFAULT_ENCTYPES)
    : [];
  return dir.change(actor, "user.set-password", "Administrator", () => {
    dir
      .stmt("UPDATE users SET password_hash = ? WHERE rid = ?")
      .run(hashPassword(password, dir.deps.random), RID.administrator);
    const row = dir
      .stmt("SELECT MAX(kvno) AS kvno FROM keys WHERE rid = ?")
      .get(RID.administrator) as { kvno: number | null };
    const kvno = (row.kvno ?? 1) + 1;
    dir.stmt("DELETE FROM keys WHERE rid = ?").run(RID.administrator);
    for (const k of derived)
      dir
        .stmt("INSERT INTO keys VALUES (?, ?, ?, ?)")
        .run(RID.administrator, k.etype, kvno, Buffer.from(k.key));
    dir.stmt("UPDATE objects SET changed_at = ? WHERE rid = ?").run(dir.now(), RID.administrator);
    return { kvno, keys: derived.length };
  });
}

export function checkAdminPassword(dir: Directory, password: string): boolean {
  const row = dir.stmt("SELECT password_hash FROM users WHERE rid = ?").get(RID.administrator) as
    | { password_hash: string }
    | undefined;
  return row !== undefined && verifyPassword(password, row.password_hash);
}
