/**
 * Every top-level `postern` command. Subsystems add theirs here.
 */
import type { Command } from "./env.js";
import { kdcCommand } from "../kerberos/kdc/command.js";
import { netshCommand } from "./netsh.js";

export const COMMANDS: readonly Command[] = [netshCommand, kdcCommand];
