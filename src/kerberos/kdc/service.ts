/**
 * Resolving the service a request names: krbtgt/REALM is the KDC itself (its keys come
 * from the configuration); anything else is a database account (S_PRINCIPAL_UNKNOWN).
 */
import type { PrincipalName } from "../principal.js";
import { isKrbtgt, type KdcContext, nameText, type ServiceInfo } from "./context.js";
import { kdcError } from "./errors.js";
import { accountEnctypes } from "./etype-choice.js";

export function lookupService(ctx: KdcContext, sname: PrincipalName): ServiceInfo {
  if (isKrbtgt(sname, ctx.config.realm))
    return {
      keys: ctx.config.krbtgtKeys,
      etypes: ctx.config.krbtgtEnctypes,
      isTgt: true,
      account: "krbtgt",
    };
  const text = nameText(sname);
  const entry = ctx.db.lookup(text, ctx.config.realm);
  if (!entry) throw kdcError("KDC_ERR_S_PRINCIPAL_UNKNOWN", `service ${text} unknown`);
  if (!entry.enabled) throw kdcError("KDC_ERR_SERVICE_REVOKED", `service ${text} is disabled`);
  return {
    keys: entry.keys,
    etypes: accountEnctypes(entry.keys, entry.supportedEnctypes),
    isTgt: false,
    account: entry.name,
  };
}
