/**
 * `postern net group ...`: the Windows habit (`net group`, run on a DC or with /domain).
 *   net group                               lists the domain's groups
 *   net group NAME                          shows the group and its members
 *   net group NAME /add [/comment:"text"]   creates a global group
 *   net group NAME /delete                  deletes the group
 *   net group NAME MEMBER... /add           adds members (computers as NAME$)
 *   net group NAME MEMBER... /delete        removes members
 * `/domain` is accepted everywhere (we always act on the domain). Switches are
 * case-insensitive and may be shortened as Windows allows (/a, /del).
 */
import type { CliEnv } from "../../cmdline/env.js";
import { defineCommand } from "../../cmdline/grammar.js";
import type { GroupInfo, MemberInfo } from "../groups.js";
import { UsageError } from "../../errors.js";
import { adminCall } from "./client.js";

const RULE = "-".repeat(79);

interface NetArgs {
  names: string[];
  add: boolean;
  del: boolean;
  comment: string | undefined;
}

function parseNet(argv: readonly string[]): NetArgs {
  const out: NetArgs = { names: [], add: false, del: false, comment: undefined };
  for (const a of argv) {
    if (!a.startsWith("/")) {
      out.names.push(a);
      continue;
    }
    const [sw, value] = a.slice(1).split(/:(.*)/s) as [string, string | undefined];
    const s = sw.toLowerCase();
    if (s.length >= 1 && "add".startsWith(s)) out.add = true;
    else if (s.length >= 2 && "delete".startsWith(s)) out.del = true;
    else if (s.length >= 2 && "domain".startsWith(s)) continue;
    else if (s.length >= 1 && "comment".startsWith(s)) out.comment = value ?? "";
    else throw new UsageError(`net group: unknown switch ${a}`);
  }
  if (out.add && out.del) throw new UsageError("net group: /add and /delete together");
  return out;
}

function columns(names: string[]): string {
  const rows: string[] = [];
  for (let i = 0; i < names.length; i += 3)
    rows.push(
      names
        .slice(i, i + 3)
        .map((n) => n.padEnd(25))
        .join("")
        .trimEnd(),
    );
  return rows.join("\n");
}

async function netGroup(argv: string[], env: CliEnv): Promise<void> {
  const a = parseNet(argv);
  const [group, ...members] = a.names;
  const done = "The command completed successfully.";
  if (!group) {
    if (a.add || a.del) throw new UsageError("net group: name the group");
    const { result } = await adminCall(env, "group.list");
    const gs = result as GroupInfo[];
    env.out(
      env.json
        ? JSON.stringify(gs, null, 2)
        : `Group Accounts\n\n${RULE}\n${gs.map((g) => `*${g.name}`).join("\n")}\n${done}`,
    );
    return;
  }
  if (a.add || a.del) {
    if (members.length === 0) {
      if (a.add)
        await adminCall(env, "group.add", { name: group, scope: "global", description: a.comment });
      else await adminCall(env, "group.delete", { name: group });
    } else {
      for (const m of members)
        await adminCall(env, a.add ? "group.add-member" : "group.remove-member", {
          group,
          member: m,
        });
    }
    env.out(env.json ? JSON.stringify({ ok: true }) : done);
    return;
  }
  if (members.length > 0) throw new UsageError("net group: members need /add or /delete");
  const [{ result: g }, { result: ms }] = [
    await adminCall(env, "group.show", { name: group }),
    await adminCall(env, "group.members", { name: group }),
  ];
  const info = g as GroupInfo;
  const list = ms as MemberInfo[];
  if (env.json) env.out(JSON.stringify({ ...info, memberList: list }, null, 2));
  else
    env.out(
      `Group name     ${info.name}\nComment        ${info.description}\n\nMembers\n\n${RULE}\n${columns(list.map((m) => m.name))}\n${done}`,
    );
}

export const netCommand = defineCommand({
  name: "net",
  summary: "Windows habits: net group NAME [MEMBER...] /add|/delete [/domain]",
  help: `postern net - the Windows 'net' command, for the domain

SYNOPSIS
  postern net group [NAME [MEMBER ...] [/add [/comment:"TEXT"] | /delete]] [/domain]

EXAMPLES
  postern net group trusted /add /domain
  postern net group trusted xpclient$ /add /domain
  postern net group trusted
  postern net group trusted xpclient$ /delete
`,
  async raw(argv, env) {
    // Windows' /? and ours, anywhere: the grammar takes only a leading one for `net`.
    if (argv.some((a) => a === "/?" || a === "--help" || a === "-h")) {
      env.out(netCommand.help);
      return 0;
    }
    const [sub, ...rest] = argv;
    if (sub?.toLowerCase() !== "group")
      throw new UsageError(`net: only 'net group' is supported${sub ? `, not '${sub}'` : ""}`);
    await netGroup(rest, env);
    return 0;
  },
});
