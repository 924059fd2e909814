/**
 * `postern agent`: the IPsec agent. This build runs the user-space ESP data path with
 * manually keyed SAs (IKEv2 plugs into the same DataPath later).
 */
import type { Command } from "../cmdline/env.js";
import { UsageError } from "../errors.js";
import { requestControl } from "../control/socket.js";
import { runIkeAgent } from "./ike-run.js";
import { agentPaths, runAgent } from "./run.js";

const HELP = `postern agent [--address A] [--dns HOST[:PORT]] [--gp-refresh MINUTES]
              [--ike-retransmit MS,TRIES] [--cert F --key F]
postern agent --manual-sa FILE
postern agent stats
postern agent delete-sas

Without --manual-sa the agent runs the host's effective IPsec policy: the one a GPO of the
domain assigned (\`postern gpupdate\` keeps it), else the assigned policy of the local store
(written with \`postern netsh ipsec static\`). A domain member fetches its policy from the DC
at start, every --gp-refresh minutes (default 90, as Windows refreshes Group Policy; 0:
never) and when \`postern gpupdate\` runs, and applies it without a restart (existing SAs
stay; DNS names in filters are resolved through the domain's DNS). On a domain member (after \`postern join\`)
Kerberos is an authentication method: the machine keytab proves us, the machine TGT in
<home>/agent/krb5cc gets tickets for host/<peer>, the peer's name coming from a PTR lookup
in the domain's DNS (--dns, default: the DC's address, port 53). The firewall settings of
<home>/firewall/ are loaded at start, and a peer whose Kerberos PAC holds a SID of the
bypass list enters the firewall's bypass set while its IKE SA lives (docs/agent.md
"Authenticated bypass"). Negotiate filters are steered to the TUN, the first packet
of a protected flow starts IKEv2 (ACQUIRE) with the peer derived from the rule, and the
child SAs key the ESP data path (docs/agent.md). --address: the local IKE/ESP address
(default: the first IPv4 address); --ike-retransmit: first retransmission delay and
number of transmissions (default 1000,5: a silent peer is given up after 31 s, when a
\`soft\` action falls back to cleartext); --cert/--key: our certificate for rootca rules.

Runs the IPsec agent's data path: a TUN device (postern0), ESP in UDP 4500 (RFC 4303,
RFC 3948), policy routing and an nftables chain that send protected flows to the TUN.
SAs come from FILE, a JSON manual keying file (docs/datapath.md "Manual keying"), the way
\`ip xfrm state add\` keys the kernel. Needs root. Prints "agent: ready" when traffic flows;
SIGTERM or SIGINT removes the rules and stops.

  On SIGTERM the agent removes its steering and guard but leaves the firewall table
  loaded: the host stays closed (fail closed).

  delete-sas  delete every IKE SA of the running agent (Delete sent to the peers; tickets
           kept): the next packet negotiates again. For troubleshooting and bench/lab.ts.

  stats    print the running agent's counters (drops by reason, per-SA packets and bytes),
           asked over <home>/agent/agent.sock. SIGUSR1 writes the same JSON to
           <home>/agent/stats.json.
`;

export const agentCommand: Command = {
  name: "agent",
  summary: "run the IPsec agent (policy + IKEv2 + user-space ESP; or --manual-sa FILE)",
  help: HELP,
  async run(argv, env) {
    if (argv[0] === "delete-sas") {
      if (argv.length > 1)
        throw new UsageError(`agent delete-sas takes no arguments, got "${argv[1]}"`);
      const r = await requestControl(agentPaths(env.home).sock, "delete-sas");
      env.out(
        env.json
          ? JSON.stringify(r)
          : `${r.deletedIkeSas.length} IKE SAs deleted; the next packet negotiates again`,
      );
      return 0;
    }
    if (argv[0] === "stats") {
      if (argv.length > 1) throw new UsageError(`agent stats takes no arguments, got "${argv[1]}"`);
      const stats = await requestControl(agentPaths(env.home).sock, "stats");
      env.out(JSON.stringify(stats, null, env.json ? 0 : 2));
      return 0;
    }
    let manualSa: string | undefined;
    const ike = {
      address: null as string | null,
      dns: null as string | null,
      cert: null as string | null,
      key: null as string | null,
    };
    let retransmit: { retransmitBaseMs: number; retransmitTries: number } | undefined;
    let gpRefreshMs = 90 * 60_000;
    for (let i = 0; i < argv.length; i++) {
      const a = argv[i] as string;
      if (a === "--address" || a === "--cert" || a === "--key" || a === "--dns") {
        const v = argv[++i];
        if (v === undefined) throw new UsageError(`${a} needs a value`);
        ike[a.slice(2) as "address" | "cert" | "key" | "dns"] = v;
      } else if (a === "--ike-retransmit") {
        const m = /^(\d+),(\d+)$/.exec(argv[++i] ?? "");
        if (!m) throw new UsageError("--ike-retransmit needs MS,TRIES (e.g. 500,3)");
        retransmit = { retransmitBaseMs: Number(m[1]), retransmitTries: Number(m[2]) };
      } else if (a === "--gp-refresh") {
        const m = /^(\d+)$/.exec(argv[++i] ?? "");
        if (!m || Number(m[1]) > 1440)
          throw new UsageError("--gp-refresh needs MINUTES from 0 (never) to 1440");
        gpRefreshMs = Number(m[1]) * 60_000;
      } else if (a === "--manual-sa") {
        manualSa = argv[++i];
        if (manualSa === undefined) throw new UsageError("--manual-sa needs a file");
      } else if (a.startsWith("--manual-sa=")) {
        manualSa = a.slice("--manual-sa=".length);
      } else {
        throw new UsageError(`agent: unknown argument "${a}" (see postern agent --help)`);
      }
    }
    if (manualSa === undefined) {
      return runIkeAgent(
        { ...ike, ike: retransmit ?? {}, maxQueue: 64, holdDownMs: 10_000, gpRefreshMs },
        env,
      );
    }
    return runAgent({ manualSa }, env);
  },
};
