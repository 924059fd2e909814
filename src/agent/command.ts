/**
 * `postern agent`: the IPsec policy agent's command. `postern agent` runs the assigned
 * policy with IKEv2 (ike-run.ts, a thin shell over createAgent in core.ts); `--manual-sa`
 * runs the data path with manually keyed SAs (run.ts); `stats` and `delete-sas` ask a
 * running agent over its control socket (src/control/).
 */
import { defineCommand, type OptionSpec, type Parsed } from "../cmdline/grammar.js";
import { LOG_OPTIONS } from "../cmdline/log-options.js";
import { UsageError } from "../errors.js";
import { DEFAULT_AGENT_METRICS, parseMetricsListen } from "../metrics/server.js";
import { parseLogFormat, parseLogLevel } from "../platform/log.js";
import { requestControl } from "../control/socket.js";
import { runIkeAgent } from "./ike-run.js";
import { REFUSAL_MODES, type RefusalMode } from "./refusal.js";
import { MAX_POLL_MS, MIN_POLL_MS } from "../member/ad-changes.js";
import { REVOCATION_MODES, type RevocationMode } from "./revocation.js";
import { agentPaths, runAgent } from "./run.js";

const HELP = `postern agent [--address A] [--dns HOST[:PORT]] [--gp-refresh MINUTES[:OFFSET]]
              [--ike-retransmit MS,TRIES] [--ike-liveness SEC]
              [--ike-initial-contact yes|no] [--ike-invalid-spi yes|no]
              [--cert F --key F] [--metrics HOST:PORT|on]
              [--log-format text|json] [--log-level LEVEL | --verbose]
              [--refusal-notice MODE] [--revocation off|immediate]
              [--revocation-poll MS]
              [--profile-check SECONDS]
postern agent --manual-sa FILE
postern agent stats
postern agent delete-sas

Without --manual-sa the agent runs the host's effective IPsec policy: the one a GPO of the
domain assigned (\`postern gpupdate\` keeps it), else the assigned policy of the local store
(written with \`postern netsh ipsec static\`). A domain member fetches its policy from the DC
at start, every --gp-refresh MINUTES plus a random offset up to OFFSET minutes, drawn again
each time (default 90:30, as Windows refreshes Group Policy; MINUTES 0: never; decimals
allowed) and when \`postern gpupdate\` runs, and applies it without a restart (existing SAs
stay; DNS names in filters are resolved through the domain's DNS). On an Active Directory
member the refresh is \`postern gpupdate\` itself (the GPOs read as the machine): an
unchanged result is not applied again; a changed one is logged in one line and loaded, the
firewall's chains in one nft transaction from the old ruleset to the new (no moment
without rules). On a domain member (after \`postern join\`)
Kerberos is an authentication method: the machine keytab proves us, the machine TGT in
<home>/agent/krb5cc gets tickets for host/<peer>, the peer's name coming from a PTR lookup
in the domain's DNS (--dns, repeated to name several servers, asked in order with the next
one taken when one is silent; default: the DNS servers machine.json names, the DCs found at
join, port 53). The firewall settings of
<home>/firewall/ are loaded at start, and a peer whose Kerberos PAC holds a SID of the
bypass list enters the firewall's bypass set while its IKE SA lives (docs/agent.md
"Authenticated bypass"). Negotiate filters are steered to the TUN, the first packet
of a protected flow starts IKEv2 (ACQUIRE) with the peer derived from the rule, and the
child SAs key the ESP data path (docs/agent.md). --address: the local IKE/ESP address
(default: the first IPv4 address); --ike-retransmit: first retransmission delay and
number of transmissions (default 1000,5: a silent peer is given up after 31 s, when a
\`soft\` action falls back to cleartext); --ike-liveness: dead peer detection, an empty
INFORMATIONAL after SEC seconds without a word from the peer, retransmitted as above; no
answer closes the IKE SA and its child SAs (default 30; 0: off); --ike-initial-contact:
send INITIAL_CONTACT in IKE_AUTH when we hold no SA with the peer, so a peer still holding
SAs from before our restart drops them at once (default yes; docs/ike.md "Restarts");
--ike-invalid-spi: answer ESP/AH for an SPI we have no SA for with INVALID_SPI inside the
IKE SA with its sender (at most once a second per peer; no IKE SA: only counted), and on
the peer's INVALID_SPI drop that child SA at once and negotiate a new one (default yes);
--cert/--key: our certificate for rootca rules;
--metrics: Prometheus metrics over HTTP at /metrics (off by default; \`on\` serves them on
${DEFAULT_AGENT_METRICS}; no authentication, so keep it on loopback; docs/metrics.md);
--log-format json: one JSON object per line (time, level, priority, component, msg);
--log-level: the lowest level written (error, warning, notice, info, debug; default info),
--verbose: debug. Under systemd each line carries its journald priority (<3> ... <7>), so
\`journalctl -p warning -u postern-agent\` shows failed negotiations and refused peers.
--refusal-notice: what a peer that authenticated but is not admitted by the bypass is
told, inside its IKE SA (private notify POSTERN_NOT_ADMITTED, docs/explain.md): none (as
Windows: silence), reason (default: the reason code) or names (also the bypass group's
name); at most once per peer every 60 s. A client logs what it is told once per peer.
--revocation: off (default, as the article: a peer's groups are those of its ticket's PAC
until it gets a new ticket, after a reboot or \`postern klist --machine purge\`) or
immediate: the agent watches the directory (postern's DC: a long poll on its API as this
machine; Active Directory: uSNChanged polling over sealed LDAP as this machine) and, within
seconds of a computer being disabled, deleted, having its keys reset or leaving the bypass
group (directly or through a nested group), takes its admitted IKE SAs out of the bypass
set and deletes them (IKE DELETE); its next SA is refused while the directory says so,
stale ticket or not, and admitted again once it does not (docs/agent.md "Immediate
revocation"). --revocation-poll: how often an Active Directory member asks its DC for
changes (its highestCommittedUSN, then the computers and groups changed since), in ms from
500 to 60000 (default 2000); postern's DC needs none (it answers a long poll at once).
--profile-check: the firewall's current profile is decided at start and every
SECONDS (default 60; 0: at start only), as Windows decides it: the domain profile when this
host is a domain member and a DC of its domain answers (a TCP connection to its KDC), else
the standard profile; a switch is logged and the firewall reloaded in one transaction
(\`netsh firewall set currentprofile\` overrides it; docs/firewall.md "Profiles").

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

/** --ike-retransmit MS,TRIES; absent: the engine's defaults. */
function retransmitOption(text: string | undefined) {
  if (text === undefined) return {};
  const m = /^(\d+),(\d+)$/.exec(text);
  if (!m) throw new UsageError("--ike-retransmit needs MS,TRIES (e.g. 500,3)");
  return { retransmitBaseMs: Number(m[1]), retransmitTries: Number(m[2]) };
}

/** --metrics [HOST:PORT]: "on" alone means the default loopback address. */
function metricsOption(text: string | undefined) {
  if (text === undefined) return null;
  return parseMetricsListen(text === "on" ? DEFAULT_AGENT_METRICS : text);
}

/** --refusal-notice none|reason|names; absent: reason. */
function refusalMode(text: string | undefined): RefusalMode {
  const m = REFUSAL_MODES.find((x) => x === (text ?? "reason"));
  if (m === undefined) throw new UsageError("--refusal-notice needs none, reason or names");
  return m;
}

/** --revocation off|immediate; absent: off. */
function revocationMode(text: string | undefined): RevocationMode {
  const m = REVOCATION_MODES.find((x) => x === (text ?? "off"));
  if (m === undefined) throw new UsageError("--revocation needs off or immediate");
  return m;
}

/** --revocation-poll MS; absent: the AD watch's default. */
function revocationPoll(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text) || Number(text) < MIN_POLL_MS || Number(text) > MAX_POLL_MS)
    throw new UsageError(`--revocation-poll needs MS from ${MIN_POLL_MS} to ${MAX_POLL_MS}`);
  return Number(text);
}

/** --ike-liveness SEC, --ike-initial-contact and --ike-invalid-spi; absent: the engine's defaults. */
function restartOptions(p: Parsed) {
  const out: { livenessMs?: number; initialContact?: boolean; invalidSpi?: boolean } = {};
  const live = p.str("ike-liveness");
  if (live !== undefined) {
    if (!/^\d+$/.test(live) || Number(live) > 86_400)
      throw new UsageError("--ike-liveness needs SECONDS from 0 (off) to 86400");
    out.livenessMs = Number(live) * 1000;
  }
  const ic = p.str("ike-initial-contact");
  if (ic !== undefined) {
    if (ic !== "yes" && ic !== "no") throw new UsageError("--ike-initial-contact needs yes or no");
    out.initialContact = ic === "yes";
  }
  const is = p.str("ike-invalid-spi");
  if (is !== undefined) {
    if (is !== "yes" && is !== "no") throw new UsageError("--ike-invalid-spi needs yes or no");
    out.invalidSpi = is === "yes";
  }
  return out;
}

function agentOptions(p: Parsed) {
  // Windows' defaults: 90 minutes plus a random offset up to 30
  const gp = p.str("gp-refresh") ?? "90:30";
  const m = /^(\d+(?:\.\d+)?)(?::(\d+(?:\.\d+)?))?$/.exec(gp);
  if (!m || Number(m[1]) > 1440 || Number(m[2] ?? 0) > 1440)
    throw new UsageError(
      "--gp-refresh needs MINUTES[:OFFSET], each from 0 to 1440 (MINUTES 0: never)",
    );
  return {
    address: p.str("address") ?? null,
    dns: p.list("dns"),
    cert: p.str("cert") ?? null,
    key: p.str("key") ?? null,
    ike: { ...retransmitOption(p.str("ike-retransmit")), ...restartOptions(p) },
    maxQueue: 64,
    holdDownMs: 10_000,
    gpRefreshMs: Number(m[1]) * 60_000,
    gpRefreshOffsetMs: Number(m[2] ?? 0) * 60_000,
    metrics: metricsOption(p.str("metrics")),
    logFormat: parseLogFormat(p.str("log-format")),
    logLevel: p.flag("verbose") ? ("debug" as const) : parseLogLevel(p.str("log-level"), "info"),
    refusalNotice: refusalMode(p.str("refusal-notice")),
    revocation: revocationMode(p.str("revocation")),
    revocationPollMs: revocationPoll(p.str("revocation-poll")),
    profileCheckMs: profileCheck(p.str("profile-check")),
  };
}

function profileCheck(v: string | undefined): number {
  const s = v ?? "60";
  if (!/^\d+$/.test(s) || Number(s) > 86_400)
    throw new UsageError("--profile-check needs SECONDS from 0 (at start only) to 86400");
  return Number(s) * 1000;
}

const OPTIONS: readonly OptionSpec[] = [
  {
    name: "address",
    type: "string",
    value: "A",
    help: "local IKE/ESP address (default: first IPv4)",
  },
  {
    name: "dns",
    type: "string",
    value: "HOST[:PORT]",
    multiple: true,
    help: "the domain's DNS, repeated: asked in order (default: machine.json's DCs, port 53)",
  },
  {
    name: "profile-check",
    type: "string",
    value: "SECONDS",
    help: "how often the firewall's current profile is decided again (default 60; 0 at start only)",
  },
  {
    name: "gp-refresh",
    type: "string",
    value: "MINUTES[:OFFSET]",
    help: "policy refresh interval plus a random offset up to OFFSET (default 90:30; 0 never)",
  },
  {
    name: "ike-retransmit",
    type: "string",
    value: "MS,TRIES",
    help: "first IKE retransmission delay and transmissions (default 1000,5)",
  },
  {
    name: "refusal-notice",
    type: "string",
    value: "MODE",
    help: "tell authenticated peers we refuse why: none, reason (default) or names",
    complete: ["none", "reason", "names"],
  },
  {
    name: "revocation",
    type: "string",
    value: "off|immediate",
    help: "watch the directory and revoke bypass within seconds (default off)",
    complete: ["off", "immediate"],
  },
  {
    name: "revocation-poll",
    type: "string",
    value: "MS",
    help: "Active Directory: how often to ask the DC for changes (default 2000)",
  },
  {
    name: "ike-liveness",
    type: "string",
    value: "SEC",
    help: "dead peer detection after SEC s of silence (default 30; 0 off)",
  },
  {
    name: "ike-initial-contact",
    type: "string",
    value: "yes|no",
    help: "send INITIAL_CONTACT to peers we hold no SA with (default yes)",
  },
  {
    name: "ike-invalid-spi",
    type: "string",
    value: "yes|no",
    help: "send and honour INVALID_SPI for ESP/AH with unknown SPIs (default yes)",
  },
  {
    name: "cert",
    type: "string",
    value: "F",
    help: "our certificate for rootca rules",
    complete: "file",
  },
  {
    name: "key",
    type: "string",
    value: "F",
    help: "the certificate's private key",
    complete: "file",
  },
  {
    name: "metrics",
    type: "string",
    value: "HOST:PORT",
    help: `serve Prometheus /metrics there ('on': ${DEFAULT_AGENT_METRICS}; off by default)`,
  },
  ...LOG_OPTIONS,
  {
    name: "verbose",
    type: "boolean",
    help: "log debug lines too (IKE detail); as --log-level debug",
  },
  {
    name: "manual-sa",
    type: "string",
    value: "FILE",
    help: "run with manually keyed SAs from FILE (JSON)",
    complete: "file",
  },
];

export const agentCommand = defineCommand({
  name: "agent",
  summary: "run the IPsec agent (policy + IKEv2 + user-space ESP; or --manual-sa FILE)",
  help: HELP,
  options: OPTIONS,
  run(p, env) {
    const manualSa = p.str("manual-sa");
    if (manualSa !== undefined) return runAgent({ manualSa }, env);
    return runIkeAgent(agentOptions(p), env);
  },
  subcommands: [
    {
      name: "stats",
      summary: "the running agent's counters (JSON)",
      async run(_p, env) {
        const stats = await requestControl(agentPaths(env.home).sock, "stats");
        env.out(JSON.stringify(stats, null, env.json ? 0 : 2));
        return 0;
      },
    },
    {
      name: "delete-sas",
      summary: "delete every IKE SA of the running agent",
      async run(_p, env) {
        const r = await requestControl(agentPaths(env.home).sock, "delete-sas");
        env.out(
          env.json
            ? JSON.stringify(r)
            : `${r.deletedIkeSas.length} IKE SAs deleted; the next packet negotiates again`,
        );
        return 0;
      },
    },
  ],
});
