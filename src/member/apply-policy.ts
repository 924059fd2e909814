/**
 * A member applies the effective policy `postern gpupdate` fetched:
 * 1. everything is validated first (the IPsec store deeply, the firewall settings with the
 *    firewall's own validator); a bad document changes nothing on the host;
 * 2. IPsec: the assigned store becomes the host's domain-assigned store
 *    (policy/effective.ts), which overrides the local store as on Windows; no IPsec
 *    policy from the domain removes it (the local store applies again);
 * 3. firewall: the settings replace `<home>/firewall/settings.json` (firewall/store.ts) and
 *    are loaded with the firewall's applier (firewall/effect.ts) when root AND either
 *    POSTERN_NETNS names a namespace or the home is the host's own (DEFAULT_HOME), so a
 *    test's temporary home never loads rules into the host's namespace. No firewall
 *    settings from the domain leave the host's settings as they are.
 *    An Active Directory member's GPOs come as a layer instead (`gpoFirewall`,
 *    firewall/gpo-layer.ts): it is stored beside the local settings, which stay as netsh
 *    wrote them, and the effective settings (local with the layer over them) are loaded; a
 *    null layer removes it, so the local settings apply alone again.
 */
import type { CliEnv } from "../cmdline/env.js";
import { applyNow, firewallTargetIsHost } from "../firewall/effect.js";
import type { FirewallSettings } from "../firewall/model.js";
import { type FirewallPolicy, mergeFirewall, saveGpoLayer } from "../firewall/gpo-layer.js";
import { loadSettings, saveSettings } from "../firewall/store.js";
import { validateSettings } from "../firewall/validate.js";
import { PosternError } from "../errors.js";
import { saveDomainAssigned } from "../policy/effective.js";
import type { PolicyStore } from "../policy/model.js";
import { validateStore } from "../policy/validate.js";

export interface FetchedPolicy {
  version: number;
  ipsec: unknown;
  ipsecFrom: string | null;
  firewall: unknown;
  firewallFrom: string | null;
  /** Active Directory: the applied GPOs' firewall settings merged in order (null: none). */
  gpoFirewall?: FirewallPolicy | null;
}

export interface AppliedPolicy {
  ipsec: string | null;
  firewall: "applied" | "saved" | "none";
  notes: string[];
}

function validate(
  home: string,
  p: FetchedPolicy,
): { ipsec: PolicyStore | null; fw: FirewallSettings | null } {
  try {
    const ipsec =
      p.ipsec === null || p.ipsec === undefined
        ? null
        : validateStore(p.ipsec, `IPsec policy from GPO '${p.ipsecFrom}'`);
    const fw =
      p.gpoFirewall !== undefined
        ? validateSettings(
            mergeFirewall(loadSettings(home), p.gpoFirewall ?? { profiles: {} }),
            `firewall settings of the GPOs (last: '${p.firewallFrom}') over the local ones`,
          )
        : p.firewall === null || p.firewall === undefined
          ? null
          : validateSettings(p.firewall, `firewall settings from GPO '${p.firewallFrom}'`);
    return { ipsec, fw };
  } catch (e) {
    throw new PosternError("policy", `gpupdate: ${(e as Error).message}; nothing applied`);
  }
}

/** Whether loading rules here is safe (moved to firewall/effect.ts, the one place that decides). */
export { firewallTargetIsHost };

export async function applyFetchedPolicy(
  env: CliEnv,
  domain: string,
  p: FetchedPolicy,
): Promise<AppliedPolicy> {
  const { ipsec, fw } = validate(env.home, p);
  const notes: string[] = [];
  saveDomainAssigned(
    env.home,
    ipsec && p.ipsecFrom !== null
      ? { domain, gpo: p.ipsecFrom, version: p.version, store: ipsec }
      : null,
  );
  let firewall: AppliedPolicy["firewall"] = "none";
  if (fw) {
    if (p.gpoFirewall !== undefined) saveGpoLayer(env.home, p.gpoFirewall);
    else saveSettings(env.home, fw);
    firewall = "saved";
    if (env.isRoot && firewallTargetIsHost(env)) {
      await applyNow(env, fw);
      firewall = "applied";
    } else {
      notes.push(
        env.isRoot
          ? "firewall settings saved, not loaded: this home is not the host's (set POSTERN_NETNS to load them into a namespace)"
          : "firewall settings saved, not loaded: not root",
      );
    }
  }
  return { ipsec: ipsec ? p.ipsecFrom : null, firewall, notes };
}
