/**
 * `postern netsh ipsec static`: the 2003 command set over the local policy store.
 * 1. the verb and object are matched (any unambiguous prefix: `sh pol`);
 * 2. `help`, `?` or `--help` anywhere print usage instead of running;
 * 3. the command's handler parses its tags, changes a copy of the store and saves it
 *    (context.ts), or prints (show.ts).
 * createIpsecStatic(deps) takes the clock, randomness and DNS resolver; `ipsecStatic` is
 * the real one, registered in ../contexts.ts.
 */
import * as dns from "node:dns";
import type { CliEnv } from "../../cmdline/env.js";
import { randomBytes } from "../../crypto/primitives.js";
import { UsageError } from "../../errors.js";
import { matchPrefix } from "../args.js";
import type { NetshHandler } from "../shell.js";
import { createCtx, type Ctx, type IpsecStaticDeps } from "./context.js";
import { addFilter, deleteFilter } from "./filter.js";
import { addFilterAction, deleteFilterAction, setFilterAction } from "./filteraction.js";
import { addFilterList, deleteFilterList, setFilterList } from "./filterlist.js";
import { CONTEXT_HELP, helpFor } from "./help.js";
import { addPolicy, deletePolicy, setPolicy } from "./policy.js";
import { addRule, deleteRule, setDefaultRule, setRule } from "./rule.js";
import { SHOW_OBJECTS } from "./show.js";
import { deleteAll, exportPolicy, importPolicy, setStore } from "./storecmds.js";

type Run = (ctx: Ctx, tokens: string[]) => void | Promise<void>;

function setBatch(_ctx: Ctx, tokens: string[]): void {
  const v = tokens[0]?.replace(/^mode=/i, "").toLowerCase();
  if (tokens.length !== 1 || (v !== "enable" && v !== "disable")) {
    throw new UsageError("set batch: expected mode=enable|disable");
  }
}

const VERBS: Record<string, Record<string, Run>> = {
  add: {
    policy: addPolicy,
    filterlist: addFilterList,
    filter: addFilter,
    filteraction: addFilterAction,
    rule: addRule,
  },
  set: {
    policy: setPolicy,
    filterlist: setFilterList,
    filteraction: setFilterAction,
    rule: setRule,
    defaultrule: setDefaultRule,
    store: setStore,
    batch: setBatch,
  },
  delete: {
    policy: deletePolicy,
    filterlist: deleteFilterList,
    filter: deleteFilter,
    filteraction: deleteFilterAction,
    rule: deleteRule,
    all: deleteAll,
  },
  show: SHOW_OBJECTS,
};
const SINGLE: Record<string, Run> = { exportpolicy: exportPolicy, importpolicy: importPolicy };

/** An exact word, else the one word it prefixes (netsh/args.ts matchPrefix). */
export function pickWord(word: string, options: readonly string[], what: string): string {
  const m = matchPrefix(word, options);
  if (m.kind === "match") return m.word;
  if (m.kind === "none")
    throw new UsageError(`ipsec static: unknown ${what} '${word}' (expected ${options.join("|")})`);
  throw new UsageError(`ipsec static: ambiguous ${what} '${word}' (could be ${m.hits.join(", ")})`);
}

const HELP_WORDS = new Set(["help", "?", "/?", "-?", "--help", "-h"]);

export function createIpsecStatic(deps: IpsecStaticDeps): NetshHandler {
  return async (given: string[], env: CliEnv) => {
    // force=yes (postern's, not Windows'): make a domain-store change that breaks an
    // expected access matrix (src/policytest/guard.ts)
    const force = given.some((t) => /^force=yes$/i.test(t));
    const tokens = given.filter((t) => !/^force=(yes|no)$/i.test(t));
    if (tokens.length === 0) throw new UsageError("ipsec static: no command given (try 'help')");
    const first = tokens[0] as string;
    if (HELP_WORDS.has(first.toLowerCase())) {
      env.out(helpFor(tokens.slice(1)));
      return;
    }
    const verb = pickWord(first, [...Object.keys(VERBS), ...Object.keys(SINGLE)], "command");
    const ctx = createCtx(env, deps, force);
    const single = SINGLE[verb];
    if (single) {
      if (tokens.slice(1).some((t) => HELP_WORDS.has(t.toLowerCase())))
        return env.out(helpFor([verb]));
      return single(ctx, tokens.slice(1));
    }
    const objects = VERBS[verb] as Record<string, Run>;
    const objWord = tokens[1];
    if (objWord === undefined || HELP_WORDS.has(objWord.toLowerCase())) {
      env.out(helpFor([verb]));
      if (objWord === undefined)
        throw new UsageError(`ipsec static ${verb}: expected ${Object.keys(objects).join("|")}`);
      return;
    }
    const object = pickWord(objWord, Object.keys(objects), `${verb} object`);
    const rest = tokens.slice(2);
    if (rest.some((t) => HELP_WORDS.has(t.toLowerCase()))) return env.out(helpFor([verb, object]));
    await (objects[object] as Run)(ctx, rest);
  };
}

async function lookupAll(name: string): Promise<string[]> {
  try {
    const rs = await dns.promises.lookup(name, { all: true });
    return rs.map((r) => r.address);
  } catch {
    return [];
  }
}

/** The real context: wall clock, node:crypto randomness (via primitives.ts), system DNS. */
export const ipsecStatic: NetshHandler = createIpsecStatic({
  now: () => new Date(),
  random: randomBytes,
  resolve: lookupAll,
});

export { CONTEXT_HELP };
