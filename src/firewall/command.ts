/**
 * `postern firewall ...`: the native commands next to `postern netsh firewall`.
 *   apply [--force]            load the saved settings now (root)
 *   compile                    print the nft script the settings compile to
 *   remove                     delete table inet postern (teardown; "off" is `set opmode disable`)
 *   peer add ADDR [SECONDS]    add a bypass peer (no reload); peer remove ADDR; peer list
 *   log                        write pfirewall.log from NFLOG until SIGINT/SIGTERM
 * POSTERN_NETNS=NS makes apply/remove/peer act inside that network namespace; `log` reads
 * the namespace it runs in (`ip netns exec NS postern firewall log`). Without it, a home
 * other than the host's (/var/lib/postern) needs `--host` to change the host's kernel
 * (firewall/effect.ts), so a test's home never loads rules into the host by accident.
 */
import type { CliEnv, Command } from "../cmdline/env.js";
import { UsageError } from "../errors.js";
import { createApplier } from "./apply.js";
import { createBypassSet } from "./bypass.js";
import { compileRuleset } from "./compile.js";
import { firewallTargetIsHost, netnsOf } from "./effect.js";
import { FirewallError } from "./errors.js";
import { createLogFile } from "./logfile.js";
import { createFirewallLogger } from "./logger.js";
import { LOG_GROUP_DROP, LOG_GROUP_OPEN } from "./model.js";
import { createNftRunner } from "./nft.js";
import { defaultLogFile, loadSettings } from "./store.js";

function needRoot(env: CliEnv, what: string): void {
  if (!env.isRoot) throw new FirewallError("not-root", `firewall ${what}: needs root (nftables)`);
}

/** Root, and a target that is unambiguous: POSTERN_NETNS, the host's home, or --host. */
function needTarget(env: CliEnv, what: string, host: boolean): void {
  needRoot(env, what);
  if (!host && !firewallTargetIsHost(env))
    throw new FirewallError(
      "not-host-home",
      `firewall ${what}: ${env.home} is not the host's home: set POSTERN_NETNS=NS to act in a namespace, or add --host to change this host's kernel`,
    );
}

async function peer(args: string[], env: CliEnv, host: boolean): Promise<number> {
  const [op, addr, secs] = args;
  if (op === "list") needRoot(env, "peer");
  else needTarget(env, "peer", host);
  const set = createBypassSet(createNftRunner({ netns: netnsOf(env) }));
  if (op === "add" && addr) {
    const t = secs === undefined ? 0 : Number(secs);
    if (!/^\d+$/.test(secs ?? "0"))
      throw new UsageError(`peer add: bad timeout '${secs}' (seconds)`);
    await set.addBypassPeer(addr, t);
  } else if (op === "remove" && addr) {
    await set.removeBypassPeer(addr);
  } else if (op === "list") {
    const peers = await set.listBypassPeers();
    if (env.json) env.out(JSON.stringify(peers));
    else
      for (const p of peers)
        env.out(`${p.address}${p.expiresSec === null ? "" : ` expires ${p.expiresSec}s`}`);
  } else {
    throw new UsageError("firewall peer: expected add ADDR [SECONDS] | remove ADDR | list");
  }
  return 0;
}

async function log(env: CliEnv): Promise<number> {
  needRoot(env, "log");
  const s = loadSettings(env.home);
  const file = createLogFile(s.logging.file ?? defaultLogFile(env.home), s.logging.maxSizeKb);
  const logger = createFirewallLogger({ file, now: () => new Date() });
  const { listenNflog } = await import("./nflog.js"); // koffi loads only for this command
  const listener = listenNflog([LOG_GROUP_DROP, LOG_GROUP_OPEN], logger.onPacket);
  env.err(`firewall log: writing ${file.file} (NFLOG groups ${LOG_GROUP_DROP}, ${LOG_GROUP_OPEN})`);
  const stop = (): void => listener.stop();
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  await listener.done;
  return 0;
}

export const firewallCommand: Command = {
  name: "firewall",
  summary: "apply the firewall, bypass peers, pfirewall.log writer (see also netsh firewall)",
  help: `postern firewall - Windows Firewall on nftables (table inet postern)

SYNOPSIS
  postern firewall apply [--force] [--host]   load the saved settings now (root)
  postern firewall compile             print the nft script the settings compile to
  postern firewall remove [--host]     delete table inet postern (root)
  postern firewall peer add ADDR [SECONDS] | peer remove ADDR | peer list   [--host]
  postern firewall log                 write pfirewall.log from NFLOG until SIGTERM (root)

OPTIONS
  --host    with a --home other than /var/lib/postern and no POSTERN_NETNS: change this
            host's kernel anyway (without it such a home is refused, so a test's home
            never loads rules into the host)

ENVIRONMENT
  POSTERN_NETNS=NS   apply/remove/peer act inside network namespace NS

Settings are edited with: postern netsh firewall set|add|delete|show ...
`,
  async run(argv, env) {
    const [sub, ...all] = argv;
    const host = all.includes("--host");
    const rest = all.filter((a) => a !== "--host");
    const runner = createNftRunner({ netns: netnsOf(env) });
    switch (sub) {
      case "apply": {
        needTarget(env, "apply", host);
        const r = await createApplier({ runner }).apply(loadSettings(env.home), {
          force: rest.includes("--force"),
        });
        env.out(
          r.changed
            ? `applied (ruleset ${r.digest})`
            : `unchanged (ruleset ${r.digest} already loaded)`,
        );
        return 0;
      }
      case "compile": {
        const subnets = env.isRoot ? await runner.localSubnets() : [];
        env.out(compileRuleset({ settings: loadSettings(env.home), localSubnets: subnets }).script);
        return 0;
      }
      case "remove":
        needTarget(env, "remove", host);
        await createApplier({ runner }).remove();
        return 0;
      case "peer":
        return peer(rest, env, host);
      case "log":
        return log(env);
      default:
        throw new UsageError(
          "firewall: expected apply|compile|remove|peer|log (see postern firewall --help)",
        );
    }
  },
};
