/**
 * Every top-level `postern` command. Subsystems add theirs here.
 */
import { agentCommand } from "../agent/command.js";
import { firewallCommand } from "../firewall/command.js";
import type { Command } from "./env.js";
import { ipsecCommand } from "./ipsec.js";
import { netshCommand } from "./netsh.js";

export const COMMANDS: readonly Command[] = [
  netshCommand,
  ipsecCommand,
  firewallCommand,
  agentCommand,
];
