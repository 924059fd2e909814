/**
 * `postern netsh firewall ...`: the handler registered for the "firewall" context.
 * 1. `show X` reads the settings and prints them;
 * 2. a settings command (set/add/delete) edits a copy, validated and saved atomically;
 * 3. then the rules take effect at once (effect.ts): directly as root, a note otherwise.
 */
import type { CliEnv } from "../../cmdline/env.js";
import { UsageError } from "../../errors.js";
import * as fs from "node:fs";
import * as path from "node:path";
import { requestControl } from "../../control/socket.js";
import { createBypassSet } from "../../firewall/bypass.js";
import { applyNow, netnsOf, rulesStatus } from "../../firewall/effect.js";
import { createNftRunner } from "../../firewall/nft.js";
import type { PrincipalResolver } from "../../firewall/principals.js";
import { createMemberResolver } from "../../member/principals.js";
import { loadEffectiveSettings } from "../../firewall/gpo-layer.js";
import { loadSettings, saveSettings } from "../../firewall/store.js";
import { matchPrefix, one, parseTagged } from "../args.js";
import type { NetshHandler } from "../shell.js";
import { editBypass, NAME_BYPASS, SET_BYPASS } from "./bypass.js";
import { domainFirewall, domainTarget } from "./domain.js";
import { profilesOf, settingsEdit } from "./set.js";
import { type LiveBypassPeer, show } from "./show.js";

export interface FirewallHandlerDeps {
  /** The name<->SID resolver; default: SIDs and `<home>/firewall/principals.json`. */
  resolver?: (env: CliEnv) => PrincipalResolver;
}

const USAGE =
  "netsh firewall: expected set opmode|portopening|allowedprogram|service|icmpsetting|notifications|" +
  "multicastbroadcastresponse|logging|currentprofile|bypass, add|delete portopening|allowedprogram|" +
  "bypass, reset, or show state|opmode|config|currentprofile|portopening|allowedprogram|service|icmpsetting|notifications|" +
  "multicastbroadcastresponse|logging|bypass";

const VERBS = ["set", "add", "delete", "show", "reset"];
const OBJECTS = [
  "opmode",
  "portopening",
  "allowedprogram",
  "service",
  "icmpsetting",
  "notifications",
  "multicastbroadcastresponse",
  "logging",
  "currentprofile",
  "bypass",
  "state",
  "config",
];

/** A command word, or an unambiguous prefix of one (netsh accepts `sh`, `port`). */
function word(tok: string | undefined, words: readonly string[]): string {
  if (!tok) throw new UsageError(USAGE);
  const m = matchPrefix(tok, words);
  if (m.kind === "match") return m.word;
  throw new UsageError(`netsh firewall: unknown or ambiguous word '${tok}'. ${USAGE}`);
}

export function createFirewallHandler(deps: FirewallHandlerDeps = {}): NetshHandler {
  return async (tokens, env) => {
    const verb = word(tokens[0], VERBS);
    // `reset` takes no object; any word after it is refused by the tag parser.
    const object = verb === "reset" ? "" : word(tokens[1], OBJECTS);
    const target = domainTarget(tokens.slice(verb === "reset" ? 1 : 2));
    const rest = target.rest;
    const resolver = () => (deps.resolver ?? createMemberResolver)(env);
    if (target.gpo !== null) return domainFirewall(verb, object, rest, target.gpo, env, resolver);
    // edits change the local settings; show and the kernel see the GPO layer over them
    const settings = loadSettings(env.home);
    const cmd = `firewall ${verb} ${object}`.trimEnd();
    if (verb === "show") {
      const effective = loadEffectiveSettings(env.home);
      const args = parseTagged(rest, [{ tag: "profile" }, { tag: "verbose" }], cmd);
      const p = one(args, "profile");
      const profile = p === undefined ? undefined : profilesOf(effective, p)[0];
      const status = object === "state" ? await rulesStatus(env, effective) : undefined;
      const live = object === "state" && status !== "none" ? await liveBypass(env) : null;
      show(object, effective, env, { status, profile, live });
      return;
    }
    const edit = settingsEdit(verb, object);
    if (edit) {
      edit.edit(settings, parseTagged(rest, edit.specs, cmd), env);
    } else if (object === "bypass" && (verb === "set" || verb === "add" || verb === "delete")) {
      const args = parseTagged(rest, verb === "set" ? SET_BYPASS : NAME_BYPASS, cmd);
      await editBypass(verb, settings, args, resolver());
    } else {
      throw new UsageError(`${cmd}: unknown command. ${USAGE}`);
    }
    saveSettings(env.home, settings);
    // read back (both layers): `set currentprofile auto` hands the profile back to the agent's decision
    await applyNow(env, loadEffectiveSettings(env.home));
    env.out("Ok.");
  };
}

export const firewallHandler: NetshHandler = createFirewallHandler();

/**
 * The bypass set as loaded (root), each peer with the agent's reason when the agent runs
 * (its control socket); null when neither can be read.
 */
async function liveBypass(env: CliEnv): Promise<LiveBypassPeer[] | null> {
  let peers: LiveBypassPeer[] | null = null;
  if (env.isRoot) {
    try {
      const set = createBypassSet(createNftRunner({ netns: netnsOf(env) }));
      peers = await set.listBypassPeers();
    } catch {
      peers = null;
    }
  }
  const sock = path.join(env.home, "agent", "agent.sock");
  if (!fs.existsSync(sock)) return peers;
  try {
    const r = await requestControl(sock, "bypass", 2000);
    const admitted = r.peers.filter((p) => p.authorizedBy !== null);
    if (peers === null) return admitted.map((p) => ({ ...p, expiresSec: null }));
    return peers.map((p) => {
      const d = admitted.find((a) => a.address === p.address);
      return d ? { ...p, principal: d.principal, why: d.why } : p;
    });
  } catch {
    return peers;
  }
}
