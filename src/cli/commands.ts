/**
 * Every top-level `postern` command. Subsystems add theirs here.
 */
import type { Command } from "./env.js";
import { dcCommand } from "../dc/command.js";
import { domainCommand } from "../domain/command.js";
import { gpupdateCommand, joinCommand, leaveCommand } from "../domain/join.js";
import { netCommand } from "../domain/net.js";
import { netshCommand } from "./netsh.js";

export const COMMANDS: readonly Command[] = [
  netshCommand,
  dcCommand,
  domainCommand,
  netCommand,
  joinCommand,
  leaveCommand,
  gpupdateCommand,
];
