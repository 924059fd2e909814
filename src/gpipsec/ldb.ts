/**
 * A Directory (directory.ts) over Samba's ldb tools (`ldbsearch`, `ldbadd`, `ldbmodify`,
 * `ldbdel`, Debian package ldb-tools) on a database file such as a Samba DC's
 * `private/sam.ldb`: for a host that holds the directory itself, and for the tests, which
 * read what postern wrote independently of postern's own LDAP path. Values travel as base64
 * LDIF, so binary blobs and any text pass unchanged.
 */
import { spawnSync } from "node:child_process";
import { GpipsecError } from "./objects.js";
import type { DirChange, DirEntry, Directory, DirOp } from "./directory.js";

function run(tool: string, args: string[], input?: string): string {
  const r = spawnSync(tool, args, { encoding: "utf8", input, timeout: 60_000 });
  if (r.error) throw new GpipsecError(`${tool}: ${r.error.message}`);
  if (r.status !== 0) {
    const why = `${r.stderr}${r.stdout}`.trim().split("\n").filter(Boolean).pop() ?? "";
    throw new GpipsecError(`${tool} failed (${r.status}): ${why}`);
  }
  return r.stdout;
}

/** Parses ldbsearch's LDIF (folded lines, `attr: text` and `attr:: base64`). */
export function parseLdif(text: string): DirEntry[] {
  const out: DirEntry[] = [];
  const unfolded = text.replace(/\r?\n /g, "");
  for (const block of unfolded.split(/\r?\n\s*\r?\n/)) {
    let entry: DirEntry | null = null;
    for (const line of block.split(/\r?\n/)) {
      if (line === "" || line.startsWith("#")) continue;
      const m = /^([A-Za-z0-9;-]+)(::?) ?(.*)$/.exec(line);
      if (!m) continue;
      const [, attr, sep, raw] = m as unknown as [string, string, string, string];
      const value = sep === "::" ? Buffer.from(raw, "base64") : Buffer.from(raw, "utf8");
      if (attr.toLowerCase() === "dn") {
        entry = { dn: value.toString("utf8"), attributes: new Map() };
        out.push(entry);
        continue;
      }
      if (!entry) continue;
      const k = attr.toLowerCase();
      const list = entry.attributes.get(k) ?? [];
      list.push(value);
      entry.attributes.set(k, list);
    }
  }
  return out;
}

function ldifValue(attr: string, v: Buffer): string {
  return `${attr}:: ${v.toString("base64")}\n`;
}

/** One LDIF change record (RFC 2849). */
function ldifRecord(o: DirOp): string {
  let ldif = `dn: ${o.dn}\nchangetype: ${o.op}\n`;
  if (o.op === "add") {
    for (const [attr, values] of o.attributes) for (const v of values) ldif += ldifValue(attr, v);
  } else if (o.op === "modify") {
    for (const c of o.changes) {
      ldif += `${c.operation}: ${c.type}\n`;
      for (const v of c.values) ldif += ldifValue(c.type, v);
      ldif += "-\n";
    }
  }
  return `${ldif}\n`;
}

export function ldbDirectory(url: string): Directory {
  const scopes = { base: "base", one: "one", sub: "sub" } as const;
  return {
    async search(req) {
      const out = run("ldbsearch", [
        "-H",
        url,
        "-b",
        req.base,
        "-s",
        scopes[req.scope],
        req.filter,
        ...(req.attributes ?? []),
      ]);
      return parseLdif(out);
    },
    async add(dn, attributes) {
      run("ldbmodify", ["-H", url], ldifRecord({ op: "add", dn, attributes }));
    },
    async modify(dn, changes: DirChange[]) {
      run("ldbmodify", ["-H", url], ldifRecord({ op: "modify", dn, changes }));
    },
    async delete(dn) {
      run("ldbdel", ["-H", url, dn]);
    },
    async batch(ops) {
      run("ldbmodify", ["-H", url], ops.map(ldifRecord).join(""));
    },
  };
}
