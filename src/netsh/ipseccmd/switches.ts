/**
 * ipseccmd's command line, parsed (pure): argv in, one typed request out.
 *
 *   ipseccmd -f FILTERS [-n NEG] [-t TUNNEL] [-a AUTH] [-1s MMSEC] [-1k REKEY] [-1p]
 *            [-1e SECONDS] [-soft] [-dialup|-lan]
 *            {-w REG|DS[:DOMAIN] -p POLICY[:POLL] -r RULE -x -y -o}      static mode
 *   ipseccmd show filters|policies|auth|stats|sas|all ...                query mode
 * Without -w the request is dynamic mode. Switches are case-insensitive; a switch takes the
 * words up to the next switch. Every error is one UsageError naming the switch.
 */
import { UsageError } from "../../errors.js";
import type { AuthMethod, MmSecMethod, QmSecMethod } from "../../policy/model.js";
import { parseMmSecMethods, parseQmSecMethod, type Warn } from "../../policy/secmethods.js";
import { parseFilterList, type SpecFilter } from "./filterspec.js";

/** Switch -> how many words it takes: 0 (a flag), 1, or "list" (one or more). */
const SWITCHES: Readonly<Record<string, 0 | 1 | "list">> = {
  "-w": 1,
  "-p": 1,
  "-r": 1,
  "-f": "list",
  "-n": "list",
  "-t": 1,
  "-a": "list",
  "-1s": "list",
  "-1k": 1,
  "-1p": 0,
  "-1e": 1,
  "-1f": "list",
  "-soft": 0,
  "-confirm": 0,
  "-dialup": 0,
  "-lan": 0,
  "-x": 0,
  "-y": 0,
  "-o": 0,
  "-u": 0,
  "-file": 1,
};

export const SHOW_WORDS = ["filters", "policies", "auth", "stats", "sas", "all"] as const;
export type ShowWord = (typeof SHOW_WORDS)[number];

/** A negotiation policy (-n): a filter action's settings. */
export interface Negotiation {
  action: "negotiate" | "permit" | "block";
  inpass: boolean;
  qmPfs: boolean;
  /** undefined: the store's default offers. */
  qmSecMethods?: QmSecMethod[];
}

export interface RuleRequest {
  filters: SpecFilter[] | undefined;
  negotiation: Negotiation | undefined;
  tunnel?: string;
  auth?: AuthMethod[];
  mmSecMethods?: MmSecMethod[];
  qmPerMm?: number;
  mmLifetimeMin?: number;
  mmPfs: boolean;
  softExpireSec?: number;
  soft: boolean;
  connType?: "lan" | "dialup";
}

export type IpseccmdRequest =
  | { mode: "show"; what: ShowWord[] }
  | {
      mode: "static";
      store: "reg" | "ds";
      domain?: string;
      policy: string;
      pollMin?: number;
      ruleName?: string;
      rule: RuleRequest;
      assign?: boolean;
      deletePolicy: boolean;
    }
  | { mode: "dynamic"; deleteAll: boolean; rule: RuleRequest };

type Words = Map<string, string[]>;

function splitSwitches(argv: readonly string[]): Words {
  const out: Words = new Map();
  let cur: string | undefined;
  for (const word of argv) {
    const sw = word.toLowerCase();
    if (/^-[a-z1]/.test(sw)) {
      if (!(sw in SWITCHES))
        throw new UsageError(`unknown switch ${word} (see postern ipseccmd --help)`);
      if (out.has(sw)) throw new UsageError(`${sw}: given twice`);
      out.set(sw, []);
      cur = sw;
      continue;
    }
    if (cur === undefined) {
      if (word.startsWith("\\\\"))
        throw new UsageError(`${word}: remote computers are not supported; run ipseccmd there`);
      throw new UsageError(`'${word}': expected a switch such as -f, -w or show`);
    }
    const want = SWITCHES[cur];
    const have = out.get(cur) as string[];
    if (want === 0 || (want === 1 && have.length === 1))
      throw new UsageError(
        `${cur}: unexpected '${word}' (${cur} takes ${want === 0 ? "no value" : "one value"})`,
      );
    have.push(word);
  }
  for (const [sw, words] of out) {
    if (SWITCHES[sw] !== 0 && words.length === 0) throw new UsageError(`${sw}: needs a value`);
  }
  return out;
}

const one = (w: Words, sw: string): string | undefined => w.get(sw)?.[0];
const listOf = (w: Words, sw: string): string[] | undefined =>
  w
    .get(sw)
    ?.flatMap((x) => x.split(/\s+/))
    .filter((x) => x !== "");

const QM_ALG: Readonly<Record<string, string>> = { sha: "SHA1", none: "None" };
const alg = (a: string): string => QM_ALG[a.trim().toLowerCase()] ?? a.trim();

/** One -n offer: `ESP[3DES,SHA]`, `AH[SHA]+ESP[NONE,SHA]`, then `NK/NS` and `PFS[G]`. */
function parseOffer(text: string, warn: Warn): { method: QmSecMethod; pfs: boolean } {
  const m = /^((?:AH\[[^\]]*\])?\+?(?:ESP\[[^\]]*\])?)(?:(\d+)K)?\/?(?:(\d+)S)?(PFS\d*)?$/i.exec(
    text,
  );
  if (!m || m[1] === "")
    throw new UsageError(
      `-n: '${text}': expected ESP[Conf,Auth], AH[Hash] or AH[Hash]+ESP[Conf,Auth], then optional NK/NS and PFS`,
    );
  const core = (m[1] as string)
    .replace(/ESP\[([^,\]]*),([^\]]*)\]/i, (_s, c: string, a: string) => `ESP[${alg(c)},${alg(a)}]`)
    .replace(/AH\[([^\]]*)\]/i, (_s, h: string) => `AH[${alg(h)}]`);
  const life = [m[2] && `${m[2]}k`, m[3] && `${m[3]}s`].filter(Boolean).join("/");
  const method = parseQmSecMethod(life ? `${core}:${life}` : core, warn, "-n");
  return { method, pfs: m[4] !== undefined };
}

export function parseNegotiation(words: readonly string[], warn: Warn): Negotiation {
  const upper = words.map((w) => w.toUpperCase());
  for (const only of ["PASS", "BLOCK"]) {
    if (upper.includes(only)) {
      if (words.length > 1)
        throw new UsageError(`-n: ${only} stands alone (got ${words.join(" ")})`);
      return { action: only === "PASS" ? "permit" : "block", inpass: false, qmPfs: false };
    }
  }
  const offers = words.filter((_, i) => upper[i] !== "INPASS").map((w) => parseOffer(w, warn));
  const n: Negotiation = {
    action: "negotiate",
    inpass: upper.includes("INPASS"),
    qmPfs: offers.some((o) => o.pfs),
  };
  if (offers.length > 0) n.qmSecMethods = offers.map((o) => o.method);
  return n;
}

export function parseAuthList(words: readonly string[]): AuthMethod[] {
  return words.map((w) => {
    const m = /^([A-Za-z]+)(?::(.*))?$/s.exec(w);
    const kind = m?.[1]?.toUpperCase();
    const value = m?.[2]?.replace(/^"(.*)"$/s, "$1");
    if ((kind === "K" || kind === "KERBEROS") && value === undefined) return { kind: "kerberos" };
    if ((kind === "P" || kind === "PRESHARE") && value) return { kind: "psk", key: value };
    if ((kind === "C" || kind === "CERT") && value)
      return { kind: "rootca", ca: value, certmap: false, excludeCaName: false };
    throw new UsageError(`-a: '${w}': expected K (Kerberos), P:"preshared key" or C:"CA name"`);
  });
}

/** -1k: `NQ/NS`, `NQ` or `NS` (quick modes per main mode, main mode lifetime in seconds). */
function parseRekey(text: string): { qm?: number; min?: number } {
  const m = /^(?:(\d+)Q)?\/?(?:(\d+)S)?$/i.exec(text);
  if (!m || (m[1] === undefined && m[2] === undefined))
    throw new UsageError(`-1k: '${text}': expected NQ/NS, NQ or NS (e.g. 10Q/28800S)`);
  const out: { qm?: number; min?: number } = {};
  if (m[1] !== undefined) out.qm = Number(m[1]);
  if (m[2] !== undefined) {
    const s = Number(m[2]);
    if (s < 60 || s % 60 !== 0)
      throw new UsageError(`-1k: ${s}S: the store keeps whole minutes; give a multiple of 60`);
    out.min = s / 60;
  }
  return out;
}

function parseMmList(words: readonly string[], warn: Warn): MmSecMethod[] {
  const text = words.map((w) => w.replace(/-SHA-/i, "-SHA1-")).join(" ");
  return parseMmSecMethods(text, warn, "-1s");
}

function parseRule(w: Words, warn: Warn): RuleRequest {
  const f = listOf(w, "-f");
  const n = listOf(w, "-n");
  const a = listOf(w, "-a");
  const s1 = listOf(w, "-1s");
  const k = one(w, "-1k");
  const e = one(w, "-1e");
  const t = one(w, "-t");
  if (w.has("-dialup") && w.has("-lan")) throw new UsageError("-dialup and -lan: give one");
  const rule: RuleRequest = {
    filters: f === undefined ? undefined : parseFilterList(f),
    negotiation: n === undefined ? undefined : parseNegotiation(n, warn),
    mmPfs: w.has("-1p"),
    soft: w.has("-soft"),
  };
  if (t !== undefined) rule.tunnel = t;
  if (a !== undefined) rule.auth = parseAuthList(a);
  if (s1 !== undefined) rule.mmSecMethods = parseMmList(s1, warn);
  if (k !== undefined) {
    const r = parseRekey(k);
    if (r.qm !== undefined) rule.qmPerMm = r.qm;
    if (r.min !== undefined) rule.mmLifetimeMin = r.min;
  }
  if (e !== undefined) {
    if (!/^\d+$/.test(e)) throw new UsageError(`-1e: '${e}' is not a number of seconds`);
    rule.softExpireSec = Number(e);
  }
  if (w.has("-dialup")) rule.connType = "dialup";
  if (w.has("-lan")) rule.connType = "lan";
  return rule;
}

function parseStore(text: string): { store: "reg" | "ds"; domain?: string } {
  const [type = "", ...rest] = text.split(":");
  const domain = rest.join(":");
  const t = type.toLowerCase();
  if (t !== "reg" && t !== "ds")
    throw new UsageError(`-w: '${text}': expected REG (this computer's store) or DS[:DOMAIN]`);
  return domain === "" ? { store: t } : { store: t, domain };
}

function parsePolicyName(text: string | undefined): { policy: string; pollMin?: number } {
  if (text === undefined) throw new UsageError('-p: static mode (-w) needs -p "POLICY[:POLL]"');
  const m = /^(.*):(\d+)$/s.exec(text);
  const policy = (m ? (m[1] as string) : text).trim();
  if (policy === "") throw new UsageError(`-p: '${text}': the policy name is empty`);
  if (!m) return { policy };
  const poll = Number(m[2]);
  if (poll < 1) throw new UsageError(`-p: polling interval ${poll}: give 1 minute or more`);
  return { policy, pollMin: poll };
}

function onlyWith(w: Words, switches: readonly string[], mode: string): void {
  for (const sw of switches) if (w.has(sw)) throw new UsageError(`${sw}: only in ${mode}`);
}

/** Parses a whole ipseccmd command line (without the word `ipseccmd`). */
export function parseIpseccmd(argv: readonly string[], warn: Warn): IpseccmdRequest {
  if (argv[0]?.toLowerCase() === "show") {
    const words = argv.slice(1).map((x) => x.toLowerCase());
    if (words.length === 0)
      throw new UsageError(`show: expected one or more of ${SHOW_WORDS.join(", ")}`);
    for (const x of words) {
      if (!(SHOW_WORDS as readonly string[]).includes(x === "policy" ? "policies" : x))
        throw new UsageError(`show: '${x}': expected ${SHOW_WORDS.join(", ")}`);
    }
    return { mode: "show", what: words.map((x) => (x === "policy" ? "policies" : x) as ShowWord) };
  }
  const w = splitSwitches(argv);
  if (w.has("-file"))
    throw new UsageError("-file: batch files are not supported; use a shell script");
  if (w.has("-1f"))
    throw new UsageError(
      "-1f: main mode filters are made from the rule's filters; -1f is not supported",
    );
  const store = one(w, "-w");
  if (store === undefined) {
    onlyWith(w, ["-p", "-r", "-x", "-y", "-o"], "static mode (with -w)");
    const rule = parseRule(w, warn);
    if (!w.has("-u") && rule.filters === undefined)
      throw new UsageError("-f: needed (the filters the rule applies to), e.g. -f 0+*");
    if (w.has("-u") && rule.filters !== undefined)
      throw new UsageError("-u: deletes every dynamic policy; give it alone (with -confirm)");
    return { mode: "dynamic", deleteAll: w.has("-u"), rule };
  }
  onlyWith(w, ["-confirm", "-u"], "dynamic mode (without -w)");
  if (w.has("-x") && w.has("-y")) throw new UsageError("-x and -y: give one (assign or unassign)");
  const rule = parseRule(w, warn);
  const deletePolicy = w.has("-o");
  if (deletePolicy && (rule.filters !== undefined || w.has("-r") || w.has("-x")))
    throw new UsageError("-o: deletes the policy; give it with -w and -p only");
  const req: IpseccmdRequest = {
    mode: "static",
    ...parseStore(store),
    ...parsePolicyName(one(w, "-p")),
    rule,
    deletePolicy,
  };
  const r = one(w, "-r");
  if (r !== undefined) {
    if (r.trim() === "") throw new UsageError("-r: the rule name is empty");
    req.ruleName = r.trim();
  }
  if (w.has("-x")) req.assign = true;
  if (w.has("-y")) req.assign = false;
  const changesRule = rule.filters !== undefined;
  if (!changesRule && (rule.negotiation || rule.auth || rule.tunnel || rule.connType || rule.soft))
    throw new UsageError(
      "-f: -n, -a, -t, -soft, -dialup and -lan describe a rule; give its filters with -f",
    );
  if (!changesRule && !deletePolicy && req.assign === undefined && !hasPolicySettings(rule))
    throw new UsageError("-f: needed (the filters of the rule), unless -x, -y or -o is given");
  return req;
}

function hasPolicySettings(r: RuleRequest): boolean {
  return (
    r.mmSecMethods !== undefined ||
    r.qmPerMm !== undefined ||
    r.mmLifetimeMin !== undefined ||
    r.mmPfs
  );
}
