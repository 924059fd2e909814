/**
 * `postern netsh ipsec dynamic`: what the running agent has negotiated and enforces, read
 * over its control socket (`<home>/agent/agent.sock`, commands of src/agent/monitor.ts),
 * the SAs deleted through it, and the IPsec service's configuration. Tags as 2003 had them:
 *   show mmsas|qmsas [all] [srcaddr=] [dstaddr=] [format=list|table] [resolvedns=yes|no]
 *   show mmfilter|qmfilter [name=RULE] [all] [srcaddr=] [dstaddr=] [resolvedns=yes|no]
 *   show stats [type=all|ike|ipsec]      show all [resolvedns=yes|no]      show config
 *   set config [property=]NAME [value=]N  (stored; the running agent re-reads it at once)
 *   delete mmsas|qmsas [all] [srcaddr=] [dstaddr=]      delete all
 * With --json each prints its records as one JSON document. No agent: one line, exit 1
 * (set config and show config work without one: the setting is read when it starts).
 * createIpsecDynamic(deps) takes the request function; `ipsecDynamic` is the real one.
 */
import type { ControlArgs, ControlCommand, ControlReplies } from "../../control/protocol.js";
import {
  CONFIG_PROPERTIES,
  type IpsecConfig,
  loadIpsecConfig,
  parseConfigProperty,
  parseConfigValue,
  saveIpsecConfig,
} from "../../policy/ipsec-config.js";
import { agentPaths } from "../../agent/run.js";
import { requestControl } from "../../control/socket.js";
import type { CliEnv } from "../../cmdline/env.js";
import { PosternError, UsageError } from "../../errors.js";
import { matchPrefix, one, parseBool, parseKeyword, parseTagged, type TagSpec } from "../args.js";
import { expandWords, HELP_WORDS } from "../help.js";
import type { NetshHandler } from "../shell.js";
import {
  formatMmFilters,
  formatMmSas,
  formatQmFilters,
  formatQmSas,
  formatStats,
} from "./format.js";

/** Asks the agent of `home` one control command; throws PosternError when none answers. */
export type AgentRequest = <C extends ControlCommand>(
  home: string,
  command: C,
  args?: ControlArgs,
) => Promise<ControlReplies[C]>;

export const realRequest: AgentRequest = async (home, command, args) => {
  const sock = agentPaths(home).sock;
  try {
    return await requestControl(sock, command, 5000, args);
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

/** Each command's usage, printed by `help CMD`, `CMD ?` and (all of them) `help`. */
export const DYNAMIC_USAGE: Record<string, string> = {
  "show mmsas": `show mmsas [all] [[srcaddr=]A] [[dstaddr=]A] [[format=]list|table] [[resolvedns=]yes|no]
  Displays the main mode (IKE) SAs of the running agent.`,
  "show qmsas": `show qmsas [all] [[srcaddr=]A] [[dstaddr=]A] [[format=]list|table] [[resolvedns=]yes|no]
  Displays the quick mode (child) SAs with their traffic counters.`,
  "show mmfilter": `show mmfilter [[name=]RULE] [all] [[srcaddr=]A] [[dstaddr=]A] [[resolvedns=]yes|no]
  Displays the main mode filters of the policy in force.`,
  "show qmfilter": `show qmfilter [[name=]RULE] [all] [[srcaddr=]A] [[dstaddr=]A] [[resolvedns=]yes|no]
  Displays the quick mode filters of the policy in force.`,
  "show stats": `show stats [[type=]all|ike|ipsec]
  Displays IKE and IPsec statistics.`,
  "show config": `show config
  Displays the IPsec configuration parameters (set config).`,
  "show all": `show all [[resolvedns=]yes|no]
  Displays the filters, SAs and statistics.`,
  "set config": `set config [property=]ipsecdiagnostics|ikelogging|strongcrlcheck|ipsecloginterval|ipsecexempt
           [value=]<integer>
  Sets an IPsec configuration parameter; stored in <home>/ipsec/dynamic-config.json and read
  by the running agent at once. ipsecdiagnostics: 0-7 (postern: 0 only) | ikelogging: 0-1 |
  strongcrlcheck: 0-2 (no effect) | ipsecloginterval: 60-86400 (no effect) | ipsecexempt: 0-3
  (postern: 3 only, IKE alone is exempt).`,
  "delete mmsas": `delete mmsas [all] [[srcaddr=]A] [[dstaddr=]A]
  Deletes main mode SAs (and their quick mode SAs); a Delete is sent to each peer.`,
  "delete qmsas": `delete qmsas [all] [[srcaddr=]A] [[dstaddr=]A]
  Deletes quick mode SAs; a Delete is sent to each peer. Traffic negotiates again.`,
  "delete all": `delete all
  Deletes every main mode and quick mode SA (postern has no dynamic policy to delete).`,
};

export const IPSEC_DYNAMIC_HELP = `The following commands are available:

Commands in this context:
?              - Displays a list of commands.
delete         - Deletes SAs of the running agent.
help           - Displays a list of commands.
set            - Sets the IPsec configuration.
show           - Displays the running agent's filters, SAs, statistics and configuration.

${Object.values(DYNAMIC_USAGE).join("\n\n")}

Words and tags may be shortened (sh qm); --json prints the same as JSON.
The agent is asked over its control socket, <home>/agent/agent.sock.
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
  const show: Record<string, Verb> = {
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
  show.config = async (tokens, env) => {
    parseTagged(tokens, [], "show config");
    const c = loadIpsecConfig(env.home);
    print(env, c, formatConfig(c));
  };
  const set: Record<string, Verb> = {
    async config(tokens, env) {
      const a = parseTagged(
        tokens,
        [
          { tag: "property", required: true },
          { tag: "value", required: true },
        ],
        "set config",
      );
      const property = parseConfigProperty(one(a, "property") as string);
      const value = parseConfigValue(property, one(a, "value") as string);
      saveIpsecConfig(env.home, { ...loadIpsecConfig(env.home), [property]: value });
      const note = CONFIG_NOTES[property];
      if (note !== undefined) env.err(`Note: ${property}: ${note}`);
      try {
        await request(env.home, "config");
      } catch (e) {
        if (!(e instanceof PosternError && e.code === "agent-not-running")) throw e;
        env.err("Note: no IPsec agent is running: the setting is read when it starts");
      }
    },
  };
  const del: Record<string, Verb> = {
    mmsas: (tokens, env) => deleteSas(tokens, env, "mm"),
    qmsas: (tokens, env) => deleteSas(tokens, env, "qm"),
    async all(tokens, env) {
      parseTagged(tokens, [], "delete all");
      const r = await request(env.home, "delete-sas", { kind: "mm" });
      print(env, r, [`Deleted ${r.deletedIkeSas.length} main mode SAs and their quick mode SAs.`]);
    },
  };
  async function deleteSas(tokens: string[], env: CliEnv, kind: "mm" | "qm") {
    const q = query(tokens, DELETE_TAGS, `delete ${kind}sas`);
    const args: Record<string, string> = { kind };
    if (q.src !== undefined) args.src = q.src;
    if (q.dst !== undefined) args.dst = q.dst;
    const r = await request(env.home, "delete-sas", args);
    const n = kind === "mm" ? r.deletedIkeSas.length : (r.deletedChildSas ?? []).length;
    print(env, r, [`Deleted ${n} ${kind === "mm" ? "main" : "quick"} mode SAs.`]);
  }
  const verbs: Record<string, Record<string, Verb>> = { show, set, delete: del };
  return async (tokens, env) => {
    const [verbWord, objectWord, ...rest] = tokens;
    if (verbWord === undefined || HELP_WORDS.has(verbWord.toLowerCase()))
      return env.out(helpFor(tokens.slice(1)));
    const v = matchPrefix(verbWord, Object.keys(verbs));
    if (v.kind !== "match")
      throw new UsageError(
        `ipsec dynamic: unknown command '${verbWord}' (expected ${Object.keys(verbs).join("|")}; try 'help')`,
      );
    const objects = verbs[v.word] as Record<string, Verb>;
    if (objectWord === undefined || HELP_WORDS.has(objectWord.toLowerCase()))
      return env.out(helpFor([v.word]));
    const o = matchPrefix(objectWord, Object.keys(objects));
    if (o.kind !== "match")
      throw new UsageError(
        `ipsec dynamic ${v.word}: expected one of ${Object.keys(objects).join("|")} (got '${objectWord}')`,
      );
    if (rest.some((t) => HELP_WORDS.has(t.toLowerCase())))
      return env.out(helpFor([v.word, o.word]));
    await (objects[o.word] as Verb)(rest, env);
  };
}

type Verb = (tokens: string[], env: CliEnv) => Promise<void>;

const DELETE_TAGS: TagSpec[] = [{ tag: "all" }, { tag: "srcaddr" }, { tag: "dstaddr" }];

/** `help`, `help show`, `help show mmsas` (and `show ?`, `show mmsas ?`). */
function helpFor(words: string[]): string {
  if (words.length === 0) return IPSEC_DYNAMIC_HELP;
  const key = expandWords(words, Object.keys(DYNAMIC_USAGE));
  const hits = Object.entries(DYNAMIC_USAGE).filter(
    ([cmd]) => cmd === key || cmd.startsWith(`${key} `),
  );
  if (hits.length === 0)
    throw new UsageError(`ipsec dynamic help: no command '${key}' (try 'help')`);
  return hits.map(([, u]) => `Usage: ${u}`).join("\n\n");
}

/** What postern does with a stored value that changes nothing at run time. */
const CONFIG_NOTES: Partial<Record<keyof IpsecConfig, string>> = {
  strongcrlcheck:
    "stored and shown; postern checks no certificate revocation list, so it has no effect",
  ipsecloginterval:
    "stored and shown; the agent writes its dropped-packet summary every 10 s whatever this value",
};

/** 2003's `show config` layout. */
export function formatConfig(c: IpsecConfig): string[] {
  const names: Record<keyof IpsecConfig, string> = {
    ipsecdiagnostics: "IPsec Diagnostics",
    ikelogging: "IKE Logging",
    strongcrlcheck: "StrongCRLCheck",
    ipsecloginterval: "IPsec Log Interval",
    ipsecexempt: "IPsec Exempt",
  };
  return [
    "IPsec Configuration Parameters",
    "------------------------------",
    ...(Object.keys(CONFIG_PROPERTIES) as (keyof IpsecConfig)[]).map(
      (k) => `${names[k].padEnd(25)}: ${c[k]}`,
    ),
  ];
}

export const ipsecDynamic: NetshHandler = createIpsecDynamic(realRequest);
