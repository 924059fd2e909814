/**
 * Immediate effect, as with netsh: after a settings command saves, the rules are loaded at
 * once. The seam: when the agent runs (its control socket `<home>/agent/agent.sock`
 * exists) the command will ask it to apply, so the agent carries its bypass sets over;
 * until the agent exists, a root command applies directly. Not root: nothing is loaded
 * and the command says so.
 */
import type { CliEnv } from "../cmdline/env.js";
import { type ApplyResult, createApplier } from "./apply.js";
import { compileRuleset, needsLocalSubnets } from "./compile.js";
import type { FirewallSettings } from "./model.js";
import { createNftRunner } from "./nft.js";

export interface FirewallControl {
  via: "agent" | "direct";
  apply(settings: FirewallSettings): Promise<ApplyResult>;
}

/** The network namespace to act in (tests, the lab): `POSTERN_NETNS`. */
export function netnsOf(env: CliEnv): string | undefined {
  return env.vars.POSTERN_NETNS || undefined;
}

/** How this process can change the loaded rules, or null when it cannot (not root). */
export function firewallControl(env: CliEnv): FirewallControl | null {
  if (!env.isRoot) return null;
  // Agent seam: when src/agent provides a control client, return { via: "agent", ... } here
  // if `<home>/agent/agent.sock` answers.
  const applier = createApplier({ runner: createNftRunner({ netns: netnsOf(env) }) });
  return { via: "direct", apply: (s) => applier.apply(s) };
}

/** Applies after a change, printing what happened. */
export async function applyNow(env: CliEnv, settings: FirewallSettings): Promise<void> {
  const control = firewallControl(env);
  if (!control) {
    env.out(
      "Note: not running as root: the settings were saved but the firewall rules were not " +
        "applied (run the command as root, or `postern firewall apply` as root).",
    );
    return;
  }
  await control.apply(settings);
}

export type RulesStatus = "current" | "stale" | "none" | "unknown";

/** Whether the loaded table matches the settings (root only; "unknown" otherwise). */
export async function rulesStatus(env: CliEnv, settings: FirewallSettings): Promise<RulesStatus> {
  if (!env.isRoot) return "unknown";
  const runner = createNftRunner({ netns: netnsOf(env) });
  const loaded = await createApplier({ runner }).loadedDigest();
  if (loaded === null) return "none";
  const subnets = needsLocalSubnets(settings) ? await runner.localSubnets() : [];
  return compileRuleset({ settings, localSubnets: subnets }).digest === loaded
    ? "current"
    : "stale";
}
