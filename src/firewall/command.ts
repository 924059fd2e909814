/**
 * `postern firewall ...`: the native commands next to `postern netsh firewall`.
 *   apply [--force]            load the saved settings now (root)
 *   compile                    print the nft script the settings compile to
 *   remove                     delete table inet postern (teardown; "off" is `set opmode disable`)
 *   peer add ADDR [SECONDS]    record an admitted address (no reload); peer remove ADDR; peer list
 *                              (the record only: the bypass is bound to SAs, docs/firewall.md)
 *   log                        write pfirewall.log from NFLOG until SIGINT/SIGTERM
 * POSTERN_NETNS=NS makes apply/remove/peer act inside that network namespace; `log` reads
 * the namespace it runs in (`ip netns exec NS postern firewall log`). Without it, a home
 * other than the host's (/var/lib/postern) needs `--host` to change the host's kernel
 * (firewall/effect.ts), so a test's home never loads rules into the host by accident.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { CliEnv } from "../cmdline/env.js";
import { defineCommand, type OptionSpec, type Parsed } from "../cmdline/grammar.js";
import { requestControl } from "../control/socket.js";
import { UsageError } from "../errors.js";
import { createApplier } from "./apply.js";
import { createBypassSet } from "./bypass.js";
import { compileRuleset } from "./compile.js";
import { firewallTargetIsHost, netnsOf } from "./effect.js";
import { FirewallError } from "./errors.js";
import { IDENTITY_LOG_NAME, identityLine, type PeerSa } from "./identity-log.js";
import { createLogFile } from "./logfile.js";
import type { LogPath } from "./logformat.js";
import { createFirewallLogger } from "./logger.js";
import { type FirewallSettings, LOG_GROUP_DROP, LOG_GROUP_OPEN } from "./model.js";
import { createNftRunner } from "./nft.js";
import { programPortsFor } from "./programs.js";
import type { PacketFields } from "./packet.js";
import { loadEffectiveSettings } from "./gpo-layer.js";
import { defaultLogFile, loadSettings, saveSettings } from "./store.js";

function needRoot(env: CliEnv, what: string): void {
  if (!env.isRoot) throw new FirewallError("not-root", `firewall ${what}: needs root (nftables)`);
}

/** Root, and a target that is unambiguous: POSTERN_NETNS, the host's home, or --host. */
function needTarget(env: CliEnv, what: string, p: Parsed): void {
  needRoot(env, what);
  if (!p.flag("host") && !firewallTargetIsHost(env))
    throw new FirewallError(
      "not-host-home",
      `firewall ${what}: ${env.home} is not the host's home: set POSTERN_NETNS=NS to act in a namespace, or add --host to change this host's kernel`,
    );
}

const HOST: OptionSpec = {
  name: "host",
  type: "boolean",
  help: "with a --home other than /var/lib/postern and no POSTERN_NETNS: change this host's kernel anyway",
};

async function peerAdd(p: Parsed, env: CliEnv): Promise<number> {
  needTarget(env, "peer", p);
  const [addr, secs] = p.positionals as [string, string | undefined];
  if (!/^\d+$/.test(secs ?? "0")) throw new UsageError(`peer add: bad timeout '${secs}' (seconds)`);
  await createBypassSet(createNftRunner({ netns: netnsOf(env) })).addBypassPeer(
    addr,
    Number(secs ?? 0),
  );
  env.err(
    `note: ${addr} recorded in the set of admitted addresses; it admits nothing: the bypass follows the SA that carries a packet (docs/firewall.md)`,
  );
  return 0;
}

async function peerRemove(p: Parsed, env: CliEnv): Promise<number> {
  needTarget(env, "peer", p);
  await createBypassSet(createNftRunner({ netns: netnsOf(env) })).removeBypassPeer(
    p.positionals[0] as string,
  );
  return 0;
}

/**
 * `postern firewall refused-response drop|reject`: saved, then loaded at once where the
 * firewall acts (root); the agent's next reload loads it too.
 */
async function refusedResponse(p: Parsed, env: CliEnv): Promise<number> {
  const mode = p.positionals[0];
  if (mode !== "drop" && mode !== "reject")
    throw new UsageError(`refused-response: '${mode ?? ""}' is not drop or reject`);
  const settings = loadSettings(env.home);
  if (mode === "reject") settings.refusedResponse = "reject";
  else delete settings.refusedResponse;
  saveSettings(env.home, settings);
  if (!env.isRoot || (!p.flag("host") && !firewallTargetIsHost(env))) {
    env.out(`refused-response ${mode} saved; load it with postern firewall apply`);
    return 0;
  }
  const r = await createApplier({ runner: createNftRunner({ netns: netnsOf(env) }) }).apply(
    loadEffectiveSettings(env.home),
  );
  env.out(`refused-response ${mode}: applied (ruleset ${r.digest})`);
  return 0;
}

async function peerList(_p: Parsed, env: CliEnv): Promise<number> {
  needRoot(env, "peer");
  const peers = await createBypassSet(createNftRunner({ netns: netnsOf(env) })).listBypassPeers();
  if (env.json) env.out(JSON.stringify(peers));
  else
    for (const p of peers)
      env.out(`${p.address}${p.expiresSec === null ? "" : ` expires ${p.expiresSec}s`}`);
  return 0;
}

/** How long the agent's bypass decisions are reused for naming dropped peers. */
const PEER_CACHE_MS = 1000;

/**
 * Drops with identity (identity-log.ts): the agent's live SAs by address, asked over its
 * control socket at most once a second; no agent, no SAs, nothing written.
 */
function identityWriter(home: string, dir: string, s: FirewallSettings) {
  const out = path.join(dir, IDENTITY_LOG_NAME);
  const sock = path.join(home, "agent", "agent.sock");
  const names = s.bypass.map((b) => b.name ?? b.sid);
  let cached: { at: number; peers: Promise<PeerSa[]> } | null = null;
  const peers = () => {
    const now = Date.now();
    if (cached === null || now - cached.at > PEER_CACHE_MS) {
      const asked = requestControl(sock, "bypass", 1000).then(
        (r) => r.peers,
        () => [] as PeerSa[],
      );
      cached = { at: now, peers: asked };
    }
    return cached.peers;
  };
  return (f: PacketFields, where: LogPath) => {
    const at = new Date();
    void peers().then((list) => {
      const line = identityLine(at, f, where, list, names);
      if (line !== null) fs.appendFileSync(out, `${JSON.stringify(line)}\n`);
    });
  };
}

async function log(_p: Parsed, env: CliEnv): Promise<number> {
  needRoot(env, "log");
  const s = loadEffectiveSettings(env.home);
  const file = createLogFile(s.logging.file ?? defaultLogFile(env.home), s.logging.maxSizeKb);
  const identity = identityWriter(env.home, path.dirname(file.file), s);
  const logger = createFirewallLogger({ file, now: () => new Date(), onDrop: identity });
  const { listenNflog } = await import("./nflog.js"); // koffi loads only for this command
  const listener = listenNflog([LOG_GROUP_DROP, LOG_GROUP_OPEN], logger.onPacket);
  env.err(`firewall log: writing ${file.file} (NFLOG groups ${LOG_GROUP_DROP}, ${LOG_GROUP_OPEN})`);
  const stop = (): void => listener.stop();
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  await listener.done;
  return 0;
}

export const firewallCommand = defineCommand({
  name: "firewall",
  summary: "apply the firewall, bypass peers, pfirewall.log writer (see also netsh firewall)",
  help: `postern firewall - Windows Firewall on nftables (table inet postern)

SYNOPSIS
  postern firewall apply [--force] [--host]   load the saved settings now (root)
  postern firewall compile             print the nft script the settings compile to
  postern firewall remove [--host]     delete table inet postern (root)
  postern firewall peer add ADDR [SECONDS] | peer remove ADDR | peer list   [--host]
  postern firewall log                 write pfirewall.log from NFLOG until SIGTERM (root)
  postern firewall refused-response drop|reject [--host]

  refused-response: what a peer whose packets came out of an IPsec SA (it authenticated)
  but meet no exception gets. drop (the default) is Windows' silence: its connect waits
  out its timeout. reject is a departure from Windows: a TCP RST (ECONNREFUSED at once),
  else ICMP destination unreachable, administratively prohibited (3/13; ICMPv6 1/1).
  Cleartext, unauthenticated traffic is always dropped in silence. Saved, and loaded at
  once where the firewall acts (root; docs/firewall.md).

  peer add|remove|list edit and show the sets bypass4/bypass6, the addresses the agent
  has admitted (shown by peer list and netsh firewall show state). They are a record:
  the firewall lets a packet bypass because the SA that carried it was admitted (it
  arrives on the TUN device postern-bp), never because of its source address.

OPTIONS
  --host    with a --home other than /var/lib/postern and no POSTERN_NETNS: change this
            host's kernel anyway (without it such a home is refused, so a test's home
            never loads rules into the host)

ENVIRONMENT
  POSTERN_NETNS=NS   apply/remove/peer/refused-response act inside network namespace NS

Settings are edited with: postern netsh firewall set|add|delete|show ...
`,
  subcommands: [
    {
      name: "apply",
      summary: "load the saved settings now (root)",
      options: [
        { name: "force", type: "boolean", help: "load even when the same ruleset is loaded" },
        HOST,
      ],
      async run(p, env) {
        needTarget(env, "apply", p);
        const runner = createNftRunner({ netns: netnsOf(env) });
        const r = await createApplier({ runner }).apply(loadEffectiveSettings(env.home), {
          force: p.flag("force"),
        });
        env.out(
          r.changed
            ? `applied (ruleset ${r.digest})`
            : `unchanged (ruleset ${r.digest} already loaded)`,
        );
        return 0;
      },
    },
    {
      name: "compile",
      summary: "print the nft script the settings compile to",
      async run(_p, env) {
        const runner = createNftRunner({ netns: netnsOf(env) });
        const subnets = env.isRoot ? await runner.localSubnets() : [];
        const settings = loadEffectiveSettings(env.home);
        const programPorts = programPortsFor(settings, netnsOf(env));
        env.out(compileRuleset({ settings, localSubnets: subnets, programPorts }).script);
        return 0;
      },
    },
    {
      name: "remove",
      summary: "delete table inet postern (root)",
      options: [HOST],
      async run(p, env) {
        needTarget(env, "remove", p);
        await createApplier({ runner: createNftRunner({ netns: netnsOf(env) }) }).remove();
        return 0;
      },
    },
    {
      name: "peer",
      summary: "the bypass set: add, remove, list (root)",
      subcommands: [
        {
          name: "add",
          summary: "record an admitted address (admits nothing: the bypass follows the SA)",
          args: "ADDR [SECONDS]",
          options: [HOST],
          run: peerAdd,
        },
        {
          name: "remove",
          summary: "remove a recorded admitted address",
          args: "ADDR",
          options: [HOST],
          run: peerRemove,
        },
        {
          name: "list",
          summary: "list the addresses the agent has admitted",
          options: [HOST],
          run: peerList,
        },
      ],
    },
    { name: "log", summary: "write pfirewall.log from NFLOG until SIGTERM (root)", run: log },
    {
      name: "refused-response",
      summary: "drop (default, as Windows) or reject authenticated peers the firewall refuses",
      args: "drop|reject",
      options: [HOST],
      run: refusedResponse,
    },
  ],
});
