/**
 * Immediate effect, as with netsh: after a settings command saves, the rules are loaded at
 * once, when this process may touch the kernel's rules:
 *   - root, and
 *   - the rules' target is unambiguous: POSTERN_NETNS names a namespace, or the home is the
 *     host's own (DEFAULT_HOME). A test's or an experiment's `--home /tmp/x` never loads
 *     rules into the host's kernel by accident (`gpupdate` follows the same rule); with
 *     such a home, `postern firewall apply --host` is the explicit way to do it.
 * Otherwise the settings are saved and the command says why they were not loaded.
 * The firewall's chains replace only themselves (platform/nftables.ts): a running agent's
 * steering, guard and bypass sets stay as they are.
 */
import type { CliEnv } from "../cmdline/env.js";
import { DEFAULT_HOME } from "../platform/home.js";
import { type ApplyResult, createApplier } from "./apply.js";
import { compileRuleset, needsLocalSubnets } from "./compile.js";
import type { FirewallSettings } from "./model.js";
import { createNftRunner } from "./nft.js";
import { programPortsFor } from "./programs.js";

export interface FirewallControl {
  via: "agent" | "direct";
  apply(settings: FirewallSettings): Promise<ApplyResult>;
}

/** The network namespace to act in (tests, the lab): `POSTERN_NETNS`. */
export function netnsOf(env: CliEnv): string | undefined {
  return env.vars.POSTERN_NETNS || undefined;
}

/** Whether loading rules is safe without asking: a named namespace, or the host's own home. */
export function firewallTargetIsHost(env: CliEnv): boolean {
  return netnsOf(env) !== undefined || env.home === DEFAULT_HOME;
}

/** Why this process does not load rules on its own, or null when it does. */
export function notLoadedReason(env: CliEnv): string | null {
  if (!env.isRoot)
    return "not running as root: the settings were saved but the firewall rules were not applied (run the command as root, or `postern firewall apply` as root)";
  if (!firewallTargetIsHost(env))
    return `the settings were saved but not loaded: ${env.home} is not the host's home (${DEFAULT_HOME}); set POSTERN_NETNS=NS to load them into a namespace, or run \`postern firewall apply --host\` to load them into this host's kernel`;
  return null;
}

/**
 * How this process can change the loaded rules, or null when it may not (not root, or a
 * home that is not the host's without POSTERN_NETNS).
 */
export function firewallControl(env: CliEnv): FirewallControl | null {
  if (notLoadedReason(env) !== null) return null;
  // Agent seam: when src/agent provides a control client, return { via: "agent", ... } here
  // if `<home>/agent/agent.sock` answers.
  const applier = createApplier({ runner: createNftRunner({ netns: netnsOf(env) }) });
  return { via: "direct", apply: (s) => applier.apply(s) };
}

/** Applies after a change, printing what happened. */
export async function applyNow(env: CliEnv, settings: FirewallSettings): Promise<void> {
  const why = notLoadedReason(env);
  const control = firewallControl(env);
  if (why !== null || !control) {
    env.out(`Note: ${why}.`);
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
  const programPorts = programPortsFor(settings, netnsOf(env));
  return compileRuleset({ settings, localSubnets: subnets, programPorts }).digest === loaded
    ? "current"
    : "stale";
}
