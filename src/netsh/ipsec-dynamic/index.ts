/**
 * `postern netsh ipsec dynamic show mmsas|qmsas|stats|mmfilter|qmfilter|all`: what the
 * running agent has negotiated and enforces, read over its control socket
 * (`<home>/agent/agent.sock`, commands of src/agent/monitor.ts). Tags as 2003 had them:
 *   show mmsas|qmsas [all] [srcaddr=] [dstaddr=] [format=list|table] [resolvedns=yes|no]
 *   show mmfilter|qmfilter [name=RULE] [all] [srcaddr=] [dstaddr=] [resolvedns=yes|no]
 *   show stats [type=all|ike|ipsec]      show all [resolvedns=yes|no]
 * With --json each prints its records as one JSON document. No agent: one line, exit 1.
 * createIpsecDynamic(deps) takes the request function; `ipsecDynamic` is the real one.
 */
import type { MonitorCommand } from "../../agent/monitor.js";
import type { ControlReplies } from "../../control/protocol.js";
import { agentPaths } from "../../agent/run.js";
import { requestControl } from "../../control/socket.js";
import type { CliEnv } from "../../cmdline/env.js";
import { PosternError, UsageError } from "../../errors.js";
import { matchPrefix, one, parseBool, parseKeyword, parseTagged, type TagSpec } from "../args.js";
import type { NetshHandler } from "../shell.js";
import {
  formatMmFilters,
  formatMmSas,
  formatQmFilters,
  formatQmSas,
  formatStats,
} from "./format.js";

/** Asks the agent of `home` one control command; throws PosternError when none answers. */
export type AgentRequest = <C extends MonitorCommand>(
  home: string,
  command: C,
) => Promise<ControlReplies[C]>;

export const realRequest: AgentRequest = async (home, command) => {
  const sock = agentPaths(home).sock;
  try {
    return await requestControl(sock, command);
  } catch (e) {
    if (e instanceof PosternError && e.message.startsWith("cannot reach"))
      throw new PosternError("agent-not-running", `no IPsec agent is running (${sock})`);
    throw e;
  }
};

const SA_TAGS: TagSpec[] = [
  { tag: "all" },
  { tag: "srcaddr" },
  { tag: "dstaddr" },
  { tag: "format" },
  { tag: "resolvedns" },
];
const FILTER_TAGS: TagSpec[] = [
  { tag: "name" },
  { tag: "all" },
  { tag: "srcaddr" },
  { tag: "dstaddr" },
  { tag: "resolvedns" },
];
const STATS_TAGS: TagSpec[] = [{ tag: "type" }];

export const IPSEC_DYNAMIC_HELP = `netsh ipsec dynamic - the running agent's SPD and SAs (asked over its socket)

  show mmsas [all] [srcaddr=A] [dstaddr=A] [format=list|table] [resolvedns=yes|no]
  show qmsas [all] [srcaddr=A] [dstaddr=A] [format=list|table] [resolvedns=yes|no]
  show mmfilter|qmfilter [name=RULE] [all] [srcaddr=A] [dstaddr=A] [resolvedns=yes|no]
  show stats [type=all|ike|ipsec]
  show all [resolvedns=yes|no]

Words and tags may be shortened (sh qm); --json prints the same as JSON.
`;
const ALL_TAGS: TagSpec[] = [{ tag: "resolvedns" }];

/** `all` is a bare word in 2003's syntax; make it a tag so parseTagged takes it. */
function bareAll(tokens: string[]): string[] {
  return tokens.map((t) => (t.toLowerCase() === "all" ? "all=yes" : t));
}

interface Query {
  src?: string;
  dst?: string;
  format: "list" | "table";
  name?: string;
}

function query(tokens: string[], specs: TagSpec[], cmd: string): Query {
  const a = parseTagged(bareAll(tokens), specs, cmd);
  const rd = one(a, "resolvedns");
  if (rd !== undefined) parseBool(rd, "resolvedns");
  const all = one(a, "all");
  if (all !== undefined) parseBool(all, "all");
  const f = one(a, "format");
  return {
    src: one(a, "srcaddr")?.toLowerCase(),
    dst: one(a, "dstaddr")?.toLowerCase(),
    format: f === undefined ? "list" : parseKeyword(f, ["list", "table"] as const, "format"),
    name: one(a, "name")?.toLowerCase(),
  };
}

const addrOk = (want: string | undefined, have: string) =>
  want === undefined || want === "any" || want === have.toLowerCase();

function print(env: CliEnv, doc: unknown, lines: string[]): void {
  env.out(env.json ? JSON.stringify(doc, null, 2) : lines.join("\n"));
}

export function createIpsecDynamic(request: AgentRequest): NetshHandler {
  const show: Record<string, (tokens: string[], env: CliEnv) => Promise<void>> = {
    async mmsas(tokens, env) {
      const q = query(tokens, SA_TAGS, "show mmsas");
      const sas = (await request(env.home, "mmsas")).filter(
        (s) => addrOk(q.src, s.local) && addrOk(q.dst, s.remote),
      );
      print(env, sas, formatMmSas(sas, q.format));
    },
    async qmsas(tokens, env) {
      const q = query(tokens, SA_TAGS, "show qmsas");
      const sas = (await request(env.home, "qmsas")).filter(
        (s) => addrOk(q.src, s.local) && addrOk(q.dst, s.remote),
      );
      print(env, sas, formatQmSas(sas, q.format));
    },
    async stats(tokens, env) {
      const a = parseTagged(tokens, STATS_TAGS, "show stats");
      const t = one(a, "type");
      const type =
        t === undefined ? "all" : parseKeyword(t, ["all", "ike", "ipsec"] as const, "type");
      const s = await request(env.home, "dstats");
      print(env, s, formatStats(s, type));
    },
    async mmfilter(tokens, env) {
      const q = query(tokens, FILTER_TAGS, "show mmfilter");
      const fs = (await request(env.home, "mmfilter")).filter(
        (f) =>
          (q.name === undefined || f.rule.toLowerCase() === q.name) &&
          addrOk(q.src, f.src) &&
          addrOk(q.dst, f.dst),
      );
      print(env, fs, formatMmFilters(fs));
    },
    async qmfilter(tokens, env) {
      const q = query(tokens, FILTER_TAGS, "show qmfilter");
      const fs = (await request(env.home, "qmfilter")).filter(
        (f) =>
          (q.name === undefined || f.rule.toLowerCase() === q.name) &&
          addrOk(q.src, f.src) &&
          addrOk(q.dst, f.dst),
      );
      print(env, fs, formatQmFilters(fs));
    },
    async all(tokens, env) {
      parseTagged(tokens, ALL_TAGS, "show all");
      const doc = {
        mmfilter: await request(env.home, "mmfilter"),
        qmfilter: await request(env.home, "qmfilter"),
        mmsas: await request(env.home, "mmsas"),
        qmsas: await request(env.home, "qmsas"),
        stats: await request(env.home, "dstats"),
      };
      print(env, doc, [
        ...formatMmFilters(doc.mmfilter),
        "",
        ...formatQmFilters(doc.qmfilter),
        "",
        ...formatMmSas(doc.mmsas, "list"),
        "",
        ...formatQmSas(doc.qmsas, "list"),
        "",
        ...formatStats(doc.stats, "all"),
      ]);
    },
  };
  const objects = Object.keys(show);
  return async (tokens, env) => {
    const [verb, object, ...rest] = tokens;
    if (verb === undefined || !"show".startsWith(verb.toLowerCase()) || verb.length < 2)
      throw new UsageError(
        `ipsec dynamic: only "show ${objects.join("|")}" is supported (got "${tokens.join(" ")}")`,
      );
    const m = object === undefined ? undefined : matchPrefix(object, objects);
    const pick = m?.kind === "match" ? m.word : undefined;
    if (pick === undefined)
      throw new UsageError(`ipsec dynamic show: expected one of ${objects.join("|")}`);
    await (show[pick] as (t: string[], e: CliEnv) => Promise<void>)(rest, env);
  };
}

export const ipsecDynamic: NetshHandler = createIpsecDynamic(realRequest);
