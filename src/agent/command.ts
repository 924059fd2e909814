/**
 * `postern agent`: the IPsec agent. This build runs the user-space ESP data path with
 * manually keyed SAs (IKEv2 plugs into the same DataPath later).
 */
import type { Command } from "../cli/env.js";
import { UsageError } from "../errors.js";
import { requestControl } from "./control.js";
import { agentPaths, runAgent } from "./run.js";

const HELP = `postern agent --manual-sa FILE
postern agent stats

Runs the IPsec agent's data path: a TUN device (postern0), ESP in UDP 4500 (RFC 4303,
RFC 3948), policy routing and an nftables chain that send protected flows to the TUN.
SAs come from FILE, a JSON manual keying file (docs/datapath.md "Manual keying"), the way
\`ip xfrm state add\` keys the kernel. Needs root. Prints "agent: ready" when traffic flows;
SIGTERM or SIGINT removes the rules and stops.

  stats    print the running agent's counters (drops by reason, per-SA packets and bytes),
           asked over <home>/agent/agent.sock. SIGUSR1 writes the same JSON to
           <home>/agent/stats.json.
`;

export const agentCommand: Command = {
  name: "agent",
  summary: "run the IPsec agent (user-space ESP data path; --manual-sa FILE)",
  help: HELP,
  async run(argv, env) {
    if (argv[0] === "stats") {
      if (argv.length > 1) throw new UsageError(`agent stats takes no arguments, got "${argv[1]}"`);
      const stats = await requestControl(agentPaths(env.home).sock, "stats");
      env.out(JSON.stringify(stats, null, env.json ? 0 : 2));
      return 0;
    }
    let manualSa: string | undefined;
    for (let i = 0; i < argv.length; i++) {
      const a = argv[i] as string;
      if (a === "--manual-sa") {
        manualSa = argv[++i];
        if (manualSa === undefined) throw new UsageError("--manual-sa needs a file");
      } else if (a.startsWith("--manual-sa=")) {
        manualSa = a.slice("--manual-sa=".length);
      } else {
        throw new UsageError(`agent: unknown argument "${a}" (see postern agent --help)`);
      }
    }
    if (manualSa === undefined) {
      throw new UsageError(
        "agent: give --manual-sa FILE (IKE-keyed operation is not in this build yet)",
      );
    }
    return runAgent({ manualSa }, env);
  },
};
