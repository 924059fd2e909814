/**
 * Names of groups and computers -> SIDs on a domain member, for the firewall's bypass list
 * (`netsh firewall add bypass name=trusted`): the names of `<home>/firewall/principals.json`
 * first (firewall/principals.ts), then the DC (POST /v1/principal, authenticated as this
 * machine), or for an Active Directory member the DC's LDAP (ad-principals.ts). A host
 * that has not joined a domain keeps the local resolver alone.
 */
import type { CliEnv } from "../cmdline/env.js";
import { FirewallError } from "../firewall/errors.js";
import { createLocalResolver, type PrincipalResolver } from "../firewall/principals.js";
import { isSid } from "../firewall/sddl.js";
import { adNameToSid, adSidToName } from "./ad-principals.js";
import { machineRequest } from "./join.js";
import { keytabWriter, type MachineIdentity } from "./machine-keys.js";

export function createMemberResolver(env: CliEnv): PrincipalResolver {
  const local = createLocalResolver(env.home);
  const id = keytabWriter.read(env.home);
  if (id === null) return local;
  if (id.kind === "ad") return adResolver(env, local, id);
  const ask = async (body: { name: string } | { sid: string }) => {
    const { r } = await machineRequest(env, id, "POST", "/v1/principal", body);
    if (r.status === 404) return null;
    if (r.status !== 200)
      throw new FirewallError(
        "unknown-principal",
        `the DC did not answer the lookup of ${Object.values(body)[0]}: ${String(r.body.error ?? r.status)}`,
      );
    return r.body as { name: string; sid: string };
  };
  return {
    async toSid(nameOrSid) {
      if (isSid(nameOrSid)) return local.toSid(nameOrSid);
      try {
        return await local.toSid(nameOrSid);
      } catch {
        const found = await ask({ name: nameOrSid });
        if (found === null)
          throw new FirewallError(
            "unknown-principal",
            `no group or computer '${nameOrSid}' in ${id.domain} (asked the DC ${id.dc.host})`,
          );
        return found.sid;
      }
    },
    async toName(sid) {
      const known = await local.toName(sid);
      if (known !== undefined) return known;
      try {
        return (await ask({ sid }))?.name;
      } catch {
        return undefined;
      }
    },
  };
}

/** principals.json first, then AD over LDAP as the machine. */
function adResolver(env: CliEnv, local: PrincipalResolver, id: MachineIdentity): PrincipalResolver {
  return {
    async toSid(nameOrSid) {
      if (isSid(nameOrSid)) return local.toSid(nameOrSid);
      try {
        return await local.toSid(nameOrSid);
      } catch {
        return adNameToSid(env.home, id, nameOrSid);
      }
    },
    async toName(sid) {
      const known = await local.toName(sid);
      if (known !== undefined) return known;
      try {
        return await adSidToName(env.home, id, sid);
      } catch {
        return undefined;
      }
    },
  };
}
