/**
 * Every top-level `postern` command. Subsystems add theirs here.
 */
import type { Command } from "./env.js";
import { firewallCommand } from "../firewall/command.js";
import { netshCommand } from "./netsh.js";

export const COMMANDS: readonly Command[] = [netshCommand, firewallCommand];
