/**
 * `set store location=domain` on an Active Directory member (`postern join --ad`): the
 * domain store is the AD's IP Security container (ad-backend.ts) over LDAP to the DC the
 * member joined, sealed with Kerberos. The credentials are those of the caller's ccache
 * (KRB5CCNAME, e.g. after `kinit` as a domain administrator, as Windows' snap-in runs as
 * the logged-on administrator), else the machine's own TGT (which AD lets read the
 * policies but, by default, not write them). Each command opens one connection and
 * closes it.
 */
import type { CliEnv } from "../../cmdline/env.js";
import { randomBytes } from "../../crypto/primitives.js";
import { PosternError } from "../../errors.js";
import { ldapDirectory } from "../../gpipsec/ldap.js";
import { connectLdap, domainToDn } from "../../ldap/client.js";
import {
  keytabWriter,
  type MachineIdentity,
  machineCcachePath,
} from "../../member/machine-keys.js";
import { newGuid } from "../../policy/defaults.js";
import { adBackend } from "./ad-backend.js";
import type { StoreBackend } from "./backend.js";

/** The machine identity when this host is an AD member, else null. */
export function adMember(home: string): MachineIdentity | null {
  const id = keytabWriter.read(home);
  return id?.kind === "ad" ? id : null;
}

export function adMemberBackend(env: CliEnv): StoreBackend {
  const id = adMember(env.home);
  if (!id)
    throw new PosternError(
      "no-dc",
      "the domain store is an Active Directory's, but this host is no longer a member (postern join --ad, or set store location=local)",
    );
  const ccache = env.vars.KRB5CCNAME?.replace(/^FILE:/, "") ?? machineCcachePath(env.home);
  return adBackend({
    domainDn: domainToDn(id.domain),
    guid: () => newGuid(randomBytes),
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
  });
}
