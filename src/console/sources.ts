/**
 * What the pages show, read where the CLI reads it:
 *   the agent      its control socket <home>/agent/agent.sock (mmsas, qmsas, stats, bypass);
 *   the firewall   <home>/firewall/settings.json and the drop logs beside pfirewall.log;
 *   the directory  the DC at <dc home>: its admin socket, else its database (adminCall);
 *   Why?           `postern explain --json` run in this process (explain/command.ts).
 * Each reader answers its data or an error sentence for the page; none throws.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { CliEnv } from "../cmdline/env.js";
import type { BypassEntry, MmSaView, QmSaView, StatsReply } from "../control/protocol.js";
import { requestControl } from "../control/socket.js";
import { adminCall } from "../dc/admin/client.js";
import type { ComputerInfo } from "../dc/computers.js";
import type { EffectivePolicy, GpoInfo } from "../dc/gpo.js";
import type { EffectiveGroup, GroupInfo, MemberInfo } from "../dc/groups.js";
import { explainCommand } from "../explain/command.js";
import type { Trace } from "../explain/trace.js";
import { IDENTITY_LOG_NAME, type IdentityLine } from "../firewall/identity-log.js";
import type { FirewallSettings } from "../firewall/model.js";
import { loadEffectiveIfAny } from "../firewall/gpo-layer.js";
import { defaultLogFile } from "../firewall/store.js";

export type Read<T> = { ok: true; value: T } | { ok: false; why: string };

const failed = (e: unknown): { ok: false; why: string } => ({
  ok: false,
  why: ((e as Error).message ?? String(e)).split("\n")[0] ?? "",
});

async function read<T>(f: () => Promise<T> | T): Promise<Read<T>> {
  try {
    return { ok: true, value: await f() };
  } catch (e) {
    return failed(e);
  }
}

export const agentSocket = (home: string) => path.join(home, "agent", "agent.sock");

export interface MonitorData {
  mm: MmSaView[];
  qm: QmSaView[];
  stats: StatsReply;
}

export function readMonitor(home: string): Promise<Read<MonitorData>> {
  const sock = agentSocket(home);
  return read(async () => {
    const [mm, qm, stats] = await Promise.all([
      requestControl(sock, "mmsas"),
      requestControl(sock, "qmsas"),
      requestControl(sock, "stats"),
    ]);
    return { mm, qm, stats };
  });
}

export function readStats(home: string): Promise<Read<StatsReply>> {
  return read(() => requestControl(agentSocket(home), "stats"));
}

/** The last `bytes` of a file as lines (the first, likely cut, dropped), [] when absent. */
export function tailLines(file: string, bytes = 64 * 1024): string[] {
  let fd: number;
  try {
    fd = fs.openSync(file, "r");
  } catch {
    return [];
  }
  try {
    const size = fs.fstatSync(fd).size;
    const start = Math.max(0, size - bytes);
    const buf = Buffer.alloc(size - start);
    fs.readSync(fd, buf, 0, buf.length, start);
    const lines = buf.toString("utf8").split("\n");
    if (start > 0) lines.shift();
    return lines.filter((l) => l.trim() !== "");
  } finally {
    fs.closeSync(fd);
  }
}

export const RECENT_DROPS = 30;

export interface FirewallData {
  settings: FirewallSettings | null;
  /** The agent's bypass decision for each live IKE SA; null when no agent answers. */
  peers: Read<BypassEntry[]>;
  /** The newest drops with the peer's identity (pfirewall.identity.jsonl), newest first. */
  identified: IdentityLine[];
  /** The newest DROP lines of pfirewall.log (W3C, every drop, named or not), newest first. */
  logged: string[];
}

export async function readFirewall(home: string): Promise<Read<FirewallData>> {
  return read(async () => {
    const settings = loadEffectiveIfAny(home);
    const log = settings?.logging.file ?? defaultLogFile(home);
    const identified: IdentityLine[] = [];
    for (const l of tailLines(path.join(path.dirname(log), IDENTITY_LOG_NAME)).reverse()) {
      if (identified.length >= RECENT_DROPS) break;
      try {
        identified.push(JSON.parse(l) as IdentityLine);
      } catch {
        // a line cut by rotation: skip it
      }
    }
    const logged = tailLines(log)
      .filter((l) => / DROP /.test(l) && !l.startsWith("#"))
      .reverse()
      .slice(0, RECENT_DROPS);
    const peers = await read(async () => (await requestControl(agentSocket(home), "bypass")).peers);
    return { settings, peers, identified, logged };
  });
}

/** The directory is shown for at most this many computers and groups. */
export const DIRECTORY_LIMIT = 200;

export interface DirectoryData {
  computers: (ComputerInfo & { groups: EffectiveGroup[]; policy: EffectivePolicy | null })[];
  groups: (GroupInfo & { list: MemberInfo[] })[];
  gpos: GpoInfo[];
}

export async function readDirectory(env: CliEnv): Promise<Read<DirectoryData>> {
  return read(async () => {
    const call = async <T>(op: Parameters<typeof adminCall>[1], params = {}) =>
      (await adminCall(env, op, params)).result as T;
    const computers = (await call<ComputerInfo[]>("computer.list")).slice(0, DIRECTORY_LIMIT);
    const groups = (await call<GroupInfo[]>("group.list")).slice(0, DIRECTORY_LIMIT);
    const gpos = await call<GpoInfo[]>("gpo.list");
    return {
      computers: await Promise.all(
        computers.map(async (c) => ({
          ...c,
          groups: await call<EffectiveGroup[]>("effective-groups", { name: c.sam }),
          policy: await call<EffectivePolicy>("gpo.effective", { computer: c.sam }).catch(
            () => null,
          ),
        })),
      ),
      groups: await Promise.all(
        groups.map(async (g) => ({
          ...g,
          list: await call<MemberInfo[]>("group.members", { name: g.name }),
        })),
      ),
      gpos,
    };
  });
}

export interface WhyForm {
  src: string;
  dst: string;
  proto: string;
  sport: string;
  dport: string;
}

export const WHY_FIELDS = ["src", "dst", "proto", "sport", "dport"] as const;

/**
 * `postern explain --json` for the form's flow, in this process. Each value is passed as
 * `--name=value`, so a value that starts with `--` is a value, never another option.
 */
export async function explainFlow(env: CliEnv, f: WhyForm): Promise<Read<Trace>> {
  const argv = WHY_FIELDS.filter((k) => f[k] !== "").map((k) => `--${k}=${f[k]}`);
  let out = "";
  return read(async () => {
    await explainCommand.run(argv, {
      ...env,
      json: true,
      out: (t) => {
        out += t;
      },
      err: () => {},
    });
    return JSON.parse(out) as Trace;
  });
}
