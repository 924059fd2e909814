/**
 * The netsh contexts postern speaks. Each subsystem registers its handler here.
 */
import { firewallHelpFor } from "./firewall/help.js";
import { firewallHandler } from "./firewall/index.js";
import { ipsecDynamic } from "./ipsec-dynamic/index.js";
import { ipsecStatic } from "./ipsec-static/index.js";
import type { NetshContext } from "./shell.js";

export const NETSH_CONTEXTS: readonly NetshContext[] = [
  { words: ["ipsec", "static"], handler: ipsecStatic },
  // ipsec static and dynamic answer help words themselves (per command, anywhere on the line).
  { words: ["ipsec", "dynamic"], handler: ipsecDynamic },
  { words: ["firewall"], handler: firewallHandler, help: firewallHelpFor },
];
