/**
 * The bypass list, a postern extension to `netsh firewall` (Windows Server 2003 set it only
 * by Group Policy, "Allow authenticated IPsec bypass"):
 *   set bypass [sddl=]"O:DAG:DAD:(A;;RCGW;;;SID)..."   replaces the list ("" clears it)
 *   set bypass group=[DOMAIN\]GROUP|COMPUTER$|SID       replaces the list with that one
 *   add bypass [name=]GROUP|COMPUTER$|SID              adds one
 *   delete bypass [name=]GROUP|COMPUTER$|SID           removes one
 *   show bypass                                        prints the list and its SDDL
 * Names are resolved to SIDs through the PrincipalResolver (the directory, when there is one).
 */
import { UsageError } from "../../errors.js";
import { FirewallError } from "../../firewall/errors.js";
import type { FirewallSettings } from "../../firewall/model.js";
import type { PrincipalResolver } from "../../firewall/principals.js";
import { parseBypassSddl } from "../../firewall/sddl.js";
import { one, type TaggedArgs } from "../args.js";

export const SET_BYPASS = [{ tag: "sddl" }, { tag: "group" }];
export const NAME_BYPASS = [{ tag: "name", required: true }];

export async function editBypass(
  verb: "set" | "add" | "delete",
  s: FirewallSettings,
  a: TaggedArgs,
  resolver: PrincipalResolver,
): Promise<void> {
  if (verb === "set") {
    const group = one(a, "group");
    const text = one(a, "sddl");
    if ((group === undefined) === (text === undefined))
      throw new UsageError(
        'firewall set bypass: give sddl="O:DAG:DAD:(A;;RCGW;;;SID)..." or group=NAME',
      );
    if (group !== undefined) {
      const sid = await resolver.toSid(group);
      const name = /^S-/i.test(group) ? await resolver.toName(sid) : group;
      s.bypass = [name ? { sid, name } : { sid }];
      return;
    }
    const sddl = text ?? "";
    const sids = sddl.trim() === "" ? [] : parseBypassSddl(sddl);
    const entries = [];
    for (const sid of sids) {
      const name = await resolver.toName(sid);
      entries.push(name ? { sid, name } : { sid });
    }
    s.bypass = entries;
    return;
  }
  const who = one(a, "name") as string;
  const sid = await resolver.toSid(who);
  const i = s.bypass.findIndex((b) => b.sid === sid);
  if (verb === "add") {
    if (i >= 0) return;
    const name = /^S-/i.test(who) ? await resolver.toName(sid) : who;
    s.bypass.push(name ? { sid, name } : { sid });
    return;
  }
  if (i < 0)
    throw new FirewallError("unknown-principal", `'${who}' (${sid}) is not in the bypass list`);
  s.bypass.splice(i, 1);
}
