/**
 * ipseccmd's dynamic mode (no -w). On XP it puts the rule straight into the running IPsec
 * service's policy, never into the registry, in force until the service stops. Here:
 * 1. the running agent must answer (else one line, exit 1, nothing written);
 * 2. the rule is built exactly as -w REG builds it (apply.ts) into the dynamic store
 *    (`<home>/ipsec/dynamic-store.json`, one assigned policy DYNAMIC_POLICY, under the
 *    store lock, validated, replaced atomically);
 * 3. the agent reloads: the effective policy (policy/effective.ts) has the dynamic rules
 *    first, named `dynamic: RULE`; the agent deletes the store when it next starts.
 * -u deletes every dynamic policy (the store) and reloads the agent; -confirm is accepted
 * (there is no prompt to confirm).
 */
import type { CliEnv } from "../../cmdline/env.js";
import { isPosternError, PosternError } from "../../errors.js";
import { withStoreLock } from "../../policy/lock.js";
import { removeDynamicStore } from "../../policy/store.js";
import type { AgentRequest } from "../ipsec-dynamic/index.js";
import { dynamicBackend } from "../ipsec-static/backend.js";
import { type ApplyDeps, applyStatic, warnNotKept } from "./apply.js";
import type { IpseccmdRequest } from "./switches.js";

export type DynamicRequest = Extract<IpseccmdRequest, { mode: "dynamic" }>;

/** The one policy of the dynamic store, which holds every dynamic-mode rule. */
export const DYNAMIC_POLICY = "ipseccmd dynamic";

export const NO_AGENT_DYNAMIC =
  "no IPsec agent is running: dynamic mode needs one (use -w REG to store the policy)";

/** Whether the agent of `home` answers (a cheap monitor request). */
async function agentRunning(home: string, request: AgentRequest): Promise<boolean> {
  try {
    await request(home, "dstats");
    return true;
  } catch (e) {
    if (isPosternError(e) && e.code === "agent-not-running") return false;
    throw e;
  }
}

export async function runDynamic(
  env: CliEnv,
  req: DynamicRequest,
  d: ApplyDeps,
  request: AgentRequest,
): Promise<void> {
  const home = env.home;
  if (req.deleteAll) {
    const had = withStoreLock(home, () => removeDynamicStore(home));
    if (!(await agentRunning(home, request))) {
      env.out(
        env.json
          ? JSON.stringify({ deleted: had, agent: null })
          : "no dynamic policy in force (no IPsec agent is running)",
      );
      return;
    }
    const r = await request(home, "reload");
    env.out(
      env.json
        ? JSON.stringify({ deleted: had, agent: r })
        : `${had ? "dynamic policies deleted" : "no dynamic policy to delete"}; ${agentLine(r)}`,
    );
    return;
  }
  if (!(await agentRunning(home, request)))
    throw new PosternError("agent-not-running", NO_AGENT_DYNAMIC);
  warnNotKept(req.rule, d.warn);
  const rule = await dynamicBackend(home).update((store) => {
    const before = store.policies.find((p) => p.name === DYNAMIC_POLICY)?.rules.length ?? 0;
    const ruleName = `ipseccmd rule ${before + 1}`;
    applyStatic(
      store,
      {
        mode: "static",
        store: "reg",
        policy: DYNAMIC_POLICY,
        ruleName,
        rule: req.rule,
        assign: true,
        deletePolicy: false,
      },
      d,
    );
    return ruleName;
  });
  const r = await request(home, "reload");
  env.out(
    env.json
      ? JSON.stringify({ rule: `dynamic: ${rule}`, agent: r })
      : `dynamic rule "dynamic: ${rule}" added; ${agentLine(r)}`,
  );
}

function agentLine(r: { reloaded: boolean; policy: string | null }): string {
  return r.reloaded
    ? `agent: now running policy "${r.policy}"`
    : `agent: kept policy "${r.policy}" (nothing assigned any more: it stays until the agent restarts)`;
}
