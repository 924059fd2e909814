/**
 * The netsh contexts postern speaks. Each subsystem registers its handler here.
 */
import { FIREWALL_HELP, firewallHandler } from "./firewall/index.js";
import { IPSEC_DYNAMIC_HELP, ipsecDynamic } from "./ipsec-dynamic/index.js";
import { ipsecStatic } from "./ipsec-static/index.js";
import type { NetshContext } from "./shell.js";

export const NETSH_CONTEXTS: readonly NetshContext[] = [
  { words: ["ipsec", "static"], handler: ipsecStatic },
  { words: ["ipsec", "dynamic"], handler: ipsecDynamic, help: IPSEC_DYNAMIC_HELP },
  { words: ["firewall"], handler: firewallHandler, help: FIREWALL_HELP },
];
