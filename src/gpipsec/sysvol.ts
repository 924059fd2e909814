/**
 * A GPO's files in SYSVOL (`\\<dc>\sysvol\<domain>\Policies\{GUID}\...`: GPT.INI,
 * Machine\Registry.pol), read and written over SMB with Samba's `smbclient`, as a Windows
 * member's Group Policy client and the GPMC reach them:
 * - Kerberos only (`--use-kerberos=required`): the ticket comes from a FILE ccache holding a
 *   TGT (the machine's, or the caller's KRB5CCNAME after `kinit`); no password ever appears
 *   on a command line or in the environment;
 * - smbclient gets a krb5.conf of its own naming the domain's KDC (the member may have no
 *   /etc/krb5.conf for the realm) and an empty smb.conf, both in a private temp directory
 *   removed afterwards; it connects to the DC's address and asks a ticket for cifs/<name>;
 * - failures are one line naming the file and the NT status; a missing file is
 *   `SysvolError.notFound` (a GPO without Registry.pol configures no registry setting).
 *
 * GPT.INI's `Version=` is the GPO's version as its files see it: the machine half (low 16
 * bits) is raised on every change of the computer settings, as the GPMC does, and kept equal
 * to the directory's versionNumber (gpo.ts), which clients compare.
 */
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { PosternError } from "../errors.js";
import { bumpMachineVersion } from "./gpo.js";

export interface SysvolAccess {
  /** The DC's address, where smbclient connects. */
  dcAddress: string;
  /** The DC's DNS name: the service ticket is for cifs/<dcName>. */
  dcName: string;
  realm: string;
  /** The realm's KDC (absent: dcAddress, port 88). */
  kdc?: { host: string; port: number };
  /** A FILE ccache holding a TGT. */
  ccache: string;
}

export class SysvolError extends PosternError {
  constructor(
    message: string,
    readonly notFound = false,
  ) {
    super("sysvol", message);
    this.name = "SysvolError";
  }
}

const NOT_FOUND = /NT_STATUS_OBJECT_(NAME|PATH)_NOT_FOUND|NT_STATUS_NO_SUCH_FILE/;
const TIMEOUT_MS = 60_000;

/** `dom\Policies\{G}\Machine\Registry.pol` with `\` separators; refuses what -c cannot quote. */
function smbPath(rel: string): string {
  const parts = rel.split(/[\\/]+/).filter((p) => p !== "");
  if (parts.length === 0 || parts.some((p) => p === "." || p === ".." || /["\0;\r\n]/.test(p)))
    throw new SysvolError(`SYSVOL path '${rel}' is not a plain relative path`);
  return parts.join("\\");
}

interface Run {
  status: number | null;
  out: string;
}

/** One smbclient session on //dc/sysvol running `commands` (smbclient's -c syntax). */
async function smbclient(o: SysvolAccess, tmp: string, commands: string): Promise<Run> {
  const krb5 = path.join(tmp, "krb5.conf");
  const kdc = o.kdc ? `${o.kdc.host}:${o.kdc.port}` : o.dcAddress;
  fs.writeFileSync(
    krb5,
    `[libdefaults]\n default_realm = ${o.realm}\n dns_lookup_kdc = false\n dns_lookup_realm = false\n rdns = false\n udp_preference_limit = 1\n[realms]\n ${o.realm} = {\n  kdc = ${kdc}\n }\n`,
  );
  // a copy: smbclient adds its service ticket to the cache it uses, and the machine's cache
  // is postern's to write
  const cc = path.join(tmp, "ccache");
  fs.copyFileSync(o.ccache, cc);
  const conf = path.join(tmp, "smb.conf");
  fs.writeFileSync(conf, `[global]\n\trealm = ${o.realm}\n\tclient min protocol = SMB2\n`);
  return new Promise((resolve) => {
    execFile(
      "smbclient",
      [
        `//${o.dcName}/sysvol`,
        "-I",
        o.dcAddress,
        "-s",
        conf,
        "--use-kerberos=required",
        "--no-pass",
        "-c",
        commands,
      ],
      {
        cwd: tmp,
        timeout: TIMEOUT_MS,
        env: {
          PATH: process.env.PATH ?? "/usr/bin:/bin",
          KRB5_CONFIG: krb5,
          KRB5CCNAME: `FILE:${cc}`,
        },
      },
      (err, stdout, stderr) => {
        const code = err && typeof err.code === "number" ? err.code : err ? null : 0;
        resolve({ status: code, out: `${stdout}\n${stderr}` });
      },
    );
  });
}

/** The NT status (or last line) smbclient printed, for a one-line error. */
function why(r: Run): string {
  const status = /NT_STATUS_[A-Z_]+/.exec(r.out)?.[0];
  if (status) return status;
  if (r.status === null) return `smbclient did not finish in ${TIMEOUT_MS / 1000} s`;
  return (
    r.out
      .split("\n")
      .map((l) => l.trim())
      .filter(Boolean)
      .pop() ?? `smbclient exit ${r.status}`
  );
}

const failed = (r: Run) => r.status !== 0 || /NT_STATUS_/.test(r.out);

async function withTmp<T>(f: (tmp: string) => Promise<T>): Promise<T> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "postern-smb-"));
  try {
    return await f(tmp);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

const where = (o: SysvolAccess, p: string) => `\\\\${o.dcName}\\sysvol\\${p}`;

export function readSysvolFile(o: SysvolAccess, relPath: string): Promise<Buffer> {
  const p = smbPath(relPath);
  return withTmp(async (tmp) => {
    const r = await smbclient(o, tmp, `get "${p}" "file"`);
    const local = path.join(tmp, "file");
    if (failed(r) || !fs.existsSync(local)) {
      const w = why(r);
      throw new SysvolError(`reading ${where(o, p)}: ${w}`, NOT_FOUND.test(w));
    }
    return fs.readFileSync(local);
  });
}

/** Writes the file, creating missing folders below the share (as the GPMC does). */
export function writeSysvolFile(o: SysvolAccess, relPath: string, data: Buffer): Promise<void> {
  const p = smbPath(relPath);
  return withTmp(async (tmp) => {
    fs.writeFileSync(path.join(tmp, "file"), data);
    let r = await smbclient(o, tmp, `put "file" "${p}"`);
    if (failed(r) && NOT_FOUND.test(why(r))) {
      const parts = p.split("\\").slice(0, -1);
      for (let i = 1; i <= parts.length; i++) {
        const m = await smbclient(o, tmp, `mkdir "${parts.slice(0, i).join("\\")}"`);
        if (failed(m) && !/NT_STATUS_OBJECT_NAME_COLLISION/.test(m.out))
          throw new SysvolError(`creating ${where(o, parts.slice(0, i).join("\\"))}: ${why(m)}`);
      }
      r = await smbclient(o, tmp, `put "file" "${p}"`);
    }
    if (failed(r)) throw new SysvolError(`writing ${where(o, p)}: ${why(r)}`);
  });
}

/** The GPO's folder below the share, from its gPCFileSysPath (`\\dom\SysVol\dom\Policies\{G}`). */
export function gpoFolder(fileSysPath: string): string {
  const parts = fileSysPath.split(/[\\/]+/).filter((p) => p !== "");
  if (parts.length < 3 || parts[1]?.toLowerCase() !== "sysvol")
    throw new SysvolError(`gPCFileSysPath '${fileSysPath}' is not \\\\DOMAIN\\SysVol\\...`);
  return parts.slice(2).join("\\");
}

/** GPT.INI's Version (0 when absent). */
export function gptVersion(text: string): number {
  const m = /^\s*Version\s*=\s*(\d+)\s*$/im.exec(text);
  return m ? Number(m[1]) : 0;
}

/** GPT.INI with Version set (added under [General] when absent); other lines unchanged. */
export function withGptVersion(text: string, version: number): string {
  const eol = text.includes("\r\n") ? "\r\n" : "\n";
  if (/^\s*Version\s*=.*$/im.test(text))
    return text.replace(/^(\s*Version\s*=\s*).*?(\r?)$/im, `$1${version}$2`);
  if (/^\[General\]\s*$/im.test(text))
    return text.replace(/^(\[General\]\s*?)(\r?\n|$)/im, `$1${eol}Version=${version}${eol}`);
  return `[General]${eol}Version=${version}${eol}${text}`;
}

/**
 * Raises the machine half of the GPO's version in GPT.INI past both GPT.INI's and the
 * directory's (`directoryVersion`), writes it back and returns it for the directory.
 */
export async function bumpGptIni(
  o: SysvolAccess,
  folder: string,
  directoryVersion: number,
): Promise<number> {
  const file = `${folder}\\GPT.INI`;
  let text = "[General]\r\n";
  try {
    text = (await readSysvolFile(o, file)).toString("latin1");
  } catch (e) {
    if (!(e instanceof SysvolError && e.notFound)) throw e;
  }
  const next = bumpMachineVersion(Math.max(gptVersion(text), directoryVersion));
  await writeSysvolFile(o, file, Buffer.from(withGptVersion(text, next), "latin1"));
  return next;
}
