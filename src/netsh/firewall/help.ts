/**
 * Help for `postern netsh firewall`: the context (`firewall ?`, `firewall help`), a verb
 * (`firewall set ?`) and one command (`firewall set opmode ?`, `firewall help show state`),
 * with the usage lines of XP SP2 / 2003 SP1's netsh (docs/firewall.md has the mapping).
 */
import { UsageError } from "../../errors.js";
import { expandWords } from "../help.js";

const PROFILE = "[[profile=]CURRENT|DOMAIN|STANDARD|ALL]";
const SCOPE = "[[scope=]ALL|SUBNET|CUSTOM] [[addresses=]LIST]";

export const FIREWALL_USAGE: Record<string, string> = {
  "set opmode": `set opmode [mode=]ENABLE|DISABLE [[exceptions=]ENABLE|DISABLE] ${PROFILE}
  Turns the firewall on or off; exceptions=DISABLE is "Don't allow exceptions".`,
  "set portopening": `set portopening [protocol=]TCP|UDP|ALL [port=]1-65535 [[name=]NAME] [[mode=]ENABLE|DISABLE]
           ${SCOPE} ${PROFILE}
  Changes a port opening; omitted tags keep their values.`,
  "set allowedprogram": `set allowedprogram [program=]PATH [[name=]NAME] [[mode=]ENABLE|DISABLE] ${SCOPE} ${PROFILE}
  Changes an allowed program; omitted tags keep their values.`,
  "set service": `set service [type=]FILEANDPRINT|REMOTEADMIN|REMOTEDESKTOP|UPNP|ALL [[mode=]ENABLE|DISABLE]
           ${SCOPE} ${PROFILE}
  Enables or disables a predefined service exception (its ports: show service).`,
  "set icmpsetting": `set icmpsetting [type=]2-5|8|9|11-13|17|ALL [[mode=]ENABLE|DISABLE] ${PROFILE}`,
  "set notifications": `set notifications [mode=]ENABLE|DISABLE ${PROFILE}
  Stored and shown; no effect (no desktop to notify).`,
  "set multicastbroadcastresponse": `set multicastbroadcastresponse [mode=]ENABLE|DISABLE ${PROFILE}
  ENABLE: unicast answers to this host's multicast or broadcast queries are accepted for 3 s.`,
  "set logging": `set logging [[filelocation=]PATH] [[filesize=]1-32767] [[droppedpackets=]ENABLE|DISABLE]
           [[connections=]ENABLE|DISABLE]`,
  "set currentprofile": `set currentprofile [profile=]DOMAIN|STANDARD|AUTO   (postern extension)
  The agent chooses the current profile as Windows does (DOMAIN when this host is a domain
  member and a DC of its domain answers, else STANDARD). DOMAIN or STANDARD overrides that
  choice; AUTO gives it back to the agent (its last decision applies at once).`,
  "set bypass": `set bypass [sddl=]"O:DAG:DAD:(A;;RCGW;;;SID)..."   (postern extension; "" clears)`,
  "add portopening": `add portopening [protocol=]TCP|UDP|ALL [port=]1-65535 [name=]NAME [[mode=]ENABLE|DISABLE]
           ${SCOPE} ${PROFILE}`,
  "add allowedprogram": `add allowedprogram [program=]PATH [name=]NAME [[mode=]ENABLE|DISABLE] ${SCOPE} ${PROFILE}`,
  "add bypass": `add bypass [name=]GROUP|COMPUTER$|SID   (postern extension)`,
  "delete portopening": `delete portopening [protocol=]TCP|UDP|ALL [port=]1-65535 ${PROFILE}`,
  "delete allowedprogram": `delete allowedprogram [program=]PATH ${PROFILE}`,
  "delete bypass": `delete bypass [name=]GROUP|COMPUTER$|SID   (postern extension)`,
  reset: `reset
  Restores the default configuration of both profiles (keeps the bypass list).`,
  "show state": `show state ${PROFILE}   current state, with the rules loaded in nftables`,
  "show opmode": `show opmode ${PROFILE}`,
  "show currentprofile": "show currentprofile   the current profile, who chose it and why",
  "show config": `show config ${PROFILE}   every setting`,
  "show portopening": `show portopening ${PROFILE}`,
  "show allowedprogram": `show allowedprogram ${PROFILE}   with the ports each program listens on now`,
  "show service": `show service ${PROFILE}`,
  "show icmpsetting": `show icmpsetting ${PROFILE}`,
  "show notifications": `show notifications ${PROFILE}`,
  "show multicastbroadcastresponse": `show multicastbroadcastresponse ${PROFILE}`,
  "show logging": "show logging",
  "show bypass": "show bypass   the SIDs and the SDDL (postern extension)",
};

export const FIREWALL_HELP = `The following commands are available:

Commands in this context:
?              - Displays a list of commands.
add            - Adds firewall configuration.
delete         - Deletes firewall configuration.
help           - Displays a list of commands.
reset          - Resets firewall configuration to default.
set            - Sets firewall configuration.
show           - Shows firewall configuration.

To view help for a command, type the command, followed by a space, and then type ?.
Words and tags may be shortened (sh st); --json for show. Settings: <home>/firewall/,
compiled to nftables (docs/firewall.md).

On an Active Directory member, store=domain gponame=GPO (after the other tags) makes set opmode,
add|set|delete portopening, set icmpsetting, set logging and set|add|delete bypass edit that GPO's
Machine\\Registry.pol in SYSVOL (docs/group-policy.md).
`;

/** `[]`: the context; `["set"]`: every set command; `["set", "opmode"]`: that one. */
export function firewallHelpFor(words: readonly string[]): string {
  if (words.length === 0) return FIREWALL_HELP;
  const key = expandWords(words, Object.keys(FIREWALL_USAGE));
  const hits = Object.entries(FIREWALL_USAGE).filter(
    ([cmd]) => cmd === key || cmd.startsWith(`${key} `),
  );
  if (hits.length === 0) throw new UsageError(`firewall help: no command '${key}' (try 'help')`);
  return hits.map(([, u]) => `Usage: ${u}`).join("\n\n");
}
