/**
 * Every top-level `postern` command. Subsystems add theirs here; `completion` and `man`
 * are made from this table.
 */
import { agentCommand } from "../agent/command.js";
import { labCommand } from "../lab/command.js";
import { dcCommand } from "../dc/command.js";
import { createDomainCommand } from "../dc/admin/command.js";
import { gpresultCommand } from "../member/gpresult.js";
import { gpupdateCommand, joinCommand, leaveCommand } from "../member/join.js";
import { netCommand } from "../dc/admin/net.js";
import { firewallCommand } from "../firewall/command.js";
import { ikeCommand } from "../ike/cli.js";
import { completionCommand } from "./completion.js";
import type { Command } from "../cmdline/env.js";
import { manCommand } from "./man.js";
import { packageVersion, usage } from "./usage.js";
import { ipsecCommand } from "./ipsec.js";
import { explainCommand } from "../explain/command.js";
import { consoleCommand } from "../console/command.js";
import { kdcCommand } from "../kerberos/kdc/command.js";
import { KERBEROS_COMMANDS } from "./kerberos.js";
import { netshCommand } from "./netsh.js";
import { guardedAdminCall } from "../policytest/guard.js";
import { policyCommand } from "../policytest/command.js";
import { ipseccmdCommand } from "./ipseccmd.js";

export const COMMANDS: readonly Command[] = [
  netshCommand,
  ipseccmdCommand,
  ipsecCommand,
  explainCommand,
  consoleCommand,
  firewallCommand,
  agentCommand,
  labCommand,
  ikeCommand,
  dcCommand,
  createDomainCommand({ guardedCall: guardedAdminCall }),
  policyCommand,
  netCommand,
  joinCommand,
  leaveCommand,
  gpupdateCommand,
  gpresultCommand,
  ...KERBEROS_COMMANDS,
  kdcCommand,
  completionCommand(() => COMMANDS),
  manCommand(
    () => COMMANDS,
    () => usage(COMMANDS),
    packageVersion,
  ),
];
