/**
 * Every top-level `postern` command. Subsystems add theirs here.
 */
import type { Command } from "./env.js";
import { KERBEROS_COMMANDS } from "./kerberos.js";
import { netshCommand } from "./netsh.js";

export const COMMANDS: readonly Command[] = [netshCommand, ...KERBEROS_COMMANDS];
