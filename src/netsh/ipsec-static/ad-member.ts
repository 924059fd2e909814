/**
 * `set store location=domain` on an Active Directory member (`postern join --ad`): the
 * domain store is the AD's IP Security container (ad-backend.ts) over LDAP to the DC the
 * member joined, sealed with Kerberos. The credentials are those of the caller's ccache
 * (KRB5CCNAME, e.g. after `kinit` as a domain administrator, as Windows' snap-in runs as
 * the logged-on administrator), else the machine's own TGT (which AD lets read the
 * policies but, by default, not write them). Each command opens one connection and
 * closes it. The same credentials reach the GPOs' files in SYSVOL over SMB
 * (src/gpipsec/sysvol.ts): an assignment raises GPT.INI's version with the directory's.
 */
import type { CliEnv } from "../../cmdline/env.js";
import { randomBytes } from "../../crypto/primitives.js";
import { PosternError } from "../../errors.js";
import type { Directory } from "../../gpipsec/directory.js";
import type { GpoInfo } from "../../gpipsec/gpo.js";
import { ldapDirectory } from "../../gpipsec/ldap.js";
import { bumpGptIni, gpoFolder, type SysvolAccess } from "../../gpipsec/sysvol.js";
import { connectLdap, domainToDn } from "../../ldap/client.js";
import {
  keytabWriter,
  type MachineIdentity,
  machineCcachePath,
} from "../../member/machine-keys.js";
import { machineTgt } from "../../member/machine-tgt.js";
import { newGuid } from "../../policy/defaults.js";
import { adBackend } from "./ad-backend.js";
import type { StoreBackend } from "./backend.js";

/** The machine identity when this host is an AD member, else null. */
export function adMember(home: string): MachineIdentity | null {
  const id = keytabWriter.read(home);
  return id?.kind === "ad" ? id : null;
}

/** What a command on the domain's directory and SYSVOL needs on an AD member. */
export interface AdSession {
  id: MachineIdentity;
  domainDn: string;
  sysvol: SysvolAccess;
  /** Runs `f` on an LDAP connection to the DC (opened and closed around it). */
  session: <T>(f: (dir: Directory) => Promise<T>) => Promise<T>;
  /** Raises the GPO's version in GPT.INI (SYSVOL) and returns it for the directory. */
  bumpGpt: (gpo: GpoInfo) => Promise<number>;
}

/**
 * The caller's ccache (KRB5CCNAME) else the machine's, with a TGT got from the keytab when
 * the machine's holds none (or an expired one).
 */
export async function adSession(env: CliEnv): Promise<AdSession> {
  const id = adMember(env.home);
  if (!id)
    throw new PosternError(
      "no-dc",
      "the domain store is an Active Directory's, but this host is no longer a member (postern join --ad, or set store location=local)",
    );
  const own = env.vars.KRB5CCNAME?.replace(/^FILE:/, "");
  if (!own) await machineTgt(env.home, id);
  const ccache = own ?? machineCcachePath(env.home);
  const sysvol: SysvolAccess = {
    dcAddress: id.dc.host,
    dcName: id.dc.hostName ?? id.dc.host,
    realm: id.realm,
    kdc: { host: id.dc.host, port: id.dc.kdcPort ?? 88 },
    ccache,
  };
  return {
    id,
    domainDn: domainToDn(id.domain),
    sysvol,
    session: async (f) => {
      const conn = await connectLdap({
        host: id.dc.host,
        dcName: id.dc.hostName ?? id.dc.host,
        credentials: { kind: "ccache", ccache },
        ...(id.dc.kdcPort ? { kdc: { host: id.dc.host, port: id.dc.kdcPort } } : {}),
      });
      try {
        return await f(ldapDirectory(conn));
      } finally {
        await conn.close();
      }
    },
    bumpGpt: (gpo) => bumpGptIni(sysvol, gpoFolder(gpo.fileSysPath), gpo.version),
  };
}

export function adMemberBackend(env: CliEnv): StoreBackend {
  // the session is made at the first use: a store that is never read asks no ticket
  let s: Promise<AdSession> | undefined;
  const ad = () => {
    s ??= adSession(env);
    return s;
  };
  const id = adMember(env.home);
  if (!id)
    throw new PosternError(
      "no-dc",
      "the domain store is an Active Directory's, but this host is no longer a member (postern join --ad, or set store location=local)",
    );
  return adBackend({
    domainDn: domainToDn(id.domain),
    guid: () => newGuid(randomBytes),
    session: async (f) => (await ad()).session(f),
    bumpGpt: async (gpo) => (await ad()).bumpGpt(gpo),
  });
}
