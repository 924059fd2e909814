/**
 * `postern domain ...`: the administrator's commands on the directory. Each one becomes an
 * operation (src/dc/ops.ts) sent through the admin socket or run on the database directly
 * (client.ts); `--json` prints the operation's result as JSON.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { CliEnv } from "../../cmdline/env.js";
import {
  type CommandSpec,
  defineCommand,
  type Parsed,
  type OptionSpec,
} from "../../cmdline/grammar.js";
import type { AuditRow } from "../audit.js";
import { type ComputerInfo, ENCTYPE_NAMES } from "../computers.js";
import type { DelegationInfo } from "../delegation.js";
import { ENCTYPE_BIT } from "../../kerberos/kdc/etype-choice.js";
import type { DomainInfo } from "../directory.js";
import { DirectoryError } from "../errors.js";
import type { GuardedOp } from "../expect.js";
import { checkMatrix, type Expectation, formatMatrix, parseMatrix } from "../expect-matrix.js";
import type { EffectivePolicy, GpoInfo } from "../gpo.js";
import type { EffectiveGroup, GroupInfo, MemberInfo } from "../groups.js";
import type { HostRecord } from "../records.js";
import { readAdminPassword } from "../password.js";
import { UsageError } from "../../errors.js";
import { readDcCertificate } from "../api/certificate.js";
import { tokenWithFingerprint } from "../api/channel.js";
import type { OpName } from "../api/protocol.js";
import { adminCall } from "./client.js";
import { table } from "./format.js";

type Handler = (p: Parsed, env: CliEnv) => Promise<void>;

async function call<T>(
  env: CliEnv,
  op: OpName,
  params: Record<string, unknown>,
  text: (r: T) => string,
): Promise<void> {
  const { result } = await adminCall(env, op, params);
  const shown = withPinnedToken(env.home, result);
  env.out(env.json ? JSON.stringify(shown ?? { ok: true }, null, 2) : text(shown as T));
}

/**
 * A join token as handed to the member: the DC's token followed by the SHA-256 of the DC's
 * API certificate (src/dc/api/channel.ts), so `postern join --token` alone pins the DC.
 */
function withPinnedToken(home: string, result: unknown): unknown {
  const r = result as { token?: unknown } | null;
  if (!r || typeof r.token !== "string") return result;
  const cert = readDcCertificate(home);
  return cert ? { ...r, token: tokenWithFingerprint(r.token, cert.fingerprint) } : result;
}

function showComputer(c: ComputerInfo & { token?: string; expiresAt?: string }): string {
  const lines = [
    `${c.sam}  ${c.enabled ? "enabled" : "disabled"}${c.isDc ? "  (domain controller)" : ""}`,
    `  SID            ${c.sid}`,
    `  DNS host name  ${c.dnsHostName}`,
    `  SPNs           ${c.spns.join(", ")}`,
    `  keys           kvno ${c.kvno}, enctypes ${c.etypes.join(", ")}`,
    `  supported      msDS-SupportedEncryptionTypes 0x${c.supportedEnctypes.toString(16)} (tickets: ${supportedNames(c.supportedEnctypes)})`,
    `  joined         ${c.joinedAt ?? "no"}`,
  ];
  if (c.token) lines.push(`  join token     ${c.token}  (one use, expires ${c.expiresAt})`);
  return lines.join("\n");
}

function showDelegation(d: DelegationInfo): string {
  return [
    `${d.account}`,
    `  allowed to delegate to  ${d.allowedToDelegateTo.join(", ") || "(none)"}`,
    `  protocol transition     ${d.trustedToAuthForDelegation ? "on (S4U2Self tickets forwardable)" : "off"}`,
    `  allowed to act on its behalf (RBCD)  ${d.allowedToActOnBehalfOf.map((e) => (e.name ? `${e.name} (${e.sid})` : e.sid)).join(", ") || "(none)"}`,
  ].join("\n");
}

/** --allow SPN... / --clear and --protocol-transition on|off; none: show. */
function delegationParams(p: Parsed): Record<string, unknown> {
  const allow = p.list("allow");
  if (allow.length > 0 && p.flag("clear"))
    throw new UsageError("domain computer delegation: --allow and --clear exclude each other");
  const pt = p.str("protocol-transition");
  if (pt !== undefined && pt !== "on" && pt !== "off")
    throw new UsageError(
      `domain computer delegation: --protocol-transition is on or off, not '${pt}'`,
    );
  // --allowed-to-act-on-behalf A,B (repeatable): names or SIDs, replacing the list.
  const act = p
    .list("allowed-to-act-on-behalf")
    .flatMap((v) => v.split(","))
    .map((v) => v.trim());
  if (act.some((v) => v === ""))
    throw new UsageError(
      "domain computer delegation: --allowed-to-act-on-behalf has an empty name",
    );
  if (act.length > 0 && p.flag("clear-allowed-to-act"))
    throw new UsageError(
      "domain computer delegation: --allowed-to-act-on-behalf and --clear-allowed-to-act exclude each other",
    );
  return {
    ...(allow.length > 0 ? { allowedToDelegateTo: allow } : {}),
    ...(p.flag("clear") ? { allowedToDelegateTo: [] } : {}),
    ...(act.length > 0 ? { allowedToActOnBehalfOf: act } : {}),
    ...(p.flag("clear-allowed-to-act") ? { allowedToActOnBehalfOf: [] } : {}),
    ...(pt !== undefined ? { trustedToAuthForDelegation: pt === "on" } : {}),
  };
}
const supportedNames = (mask: number) =>
  Object.entries(ENCTYPE_NAMES)
    .filter(([, e]) => (mask & (ENCTYPE_BIT[e] ?? 0)) !== 0)
    .map(([n]) => n)
    .join(", ");

const tokenOpts = (p: Parsed) => ({
  joinToken: p.flag("join-token"),
  tokenTtlMs: p.int("token-minutes", 1440, 1, 525600) * 60_000,
});

const computer = {
  add: async (p, env) => {
    const [name] = p.positionals;
    await call(
      env,
      "computer.add",
      { name, description: p.str("description"), ...tokenOpts(p) },
      showComputer,
    );
  },
  delete: async (p, env) => {
    const [name] = p.positionals;
    await call(env, "computer.delete", { name }, () => `computer ${name} deleted`);
  },
  list: async (_p, env) => {
    await call<ComputerInfo[]>(env, "computer.list", {}, (cs) =>
      table(
        ["NAME", "DNS HOST NAME", "STATE", "KVNO", "SID"],
        cs.map((c) => [
          c.sam,
          c.dnsHostName,
          c.enabled ? "enabled" : "disabled",
          String(c.kvno),
          c.sid,
        ]),
      ),
    );
  },
  show: async (p, env) => {
    const [name] = p.positionals;
    await call(env, "computer.show", { name }, showComputer);
  },
  "reset-key": async (p, env) => {
    const [name] = p.positionals;
    await call(env, "computer.reset-key", { name, ...tokenOpts(p) }, showComputer);
  },
  delegation: async (p, env) => {
    const [name] = p.positionals;
    await call(env, "account.delegation", { name, ...delegationParams(p) }, showDelegation);
  },
  "set-enctypes": async (p, env) => {
    const [name, enctypes] = p.positionals;
    await call<ComputerInfo & { rolled: boolean }>(
      env,
      "computer.set-enctypes",
      { name, enctypes, ...tokenOpts(p) },
      (c) =>
        `${showComputer(c)}\n${c.rolled ? `keys rolled to kvno ${c.kvno}: the member needs its new keys (join token above with --join-token, or reset-key)` : "keys unchanged (the account already has a key of each)"}`,
    );
  },
} satisfies Record<string, Handler>;

const group = {
  add: async (p, env) => {
    const [name] = p.positionals;
    await call<GroupInfo>(
      env,
      "group.add",
      { name, scope: p.str("scope"), description: p.str("description") },
      (g) => `group ${g.name} (${g.scope}) added, SID ${g.sid}`,
    );
  },
  delete: async (p, env) => {
    const [name] = p.positionals;
    await call(env, "group.delete", { name }, () => `group ${name} deleted`);
  },
  list: async (_p, env) => {
    await call<GroupInfo[]>(env, "group.list", {}, (gs) =>
      table(
        ["NAME", "SCOPE", "MEMBERS", "SID"],
        gs.map((g) => [g.name, g.scope, String(g.members), g.sid]),
      ),
    );
  },
  members: async (p, env) => {
    const [name] = p.positionals;
    await call<MemberInfo[]>(env, "group.members", { name }, (ms) =>
      ms.length === 0
        ? `${name} has no members`
        : ms.map((m) => `${m.name}${m.primary ? "  (primary group)" : ""}`).join("\n"),
    );
  },
  "add-member": async (p, env) => {
    const [g, m] = p.positionals;
    await call(env, "group.add-member", { group: g, member: m }, () => `${m} added to ${g}`);
  },
  "remove-member": async (p, env) => {
    const [g, m] = p.positionals;
    await call(env, "group.remove-member", { group: g, member: m }, () => `${m} removed from ${g}`);
  },
} satisfies Record<string, Handler>;

function readJsonFile(env: CliEnv, file: string): unknown {
  try {
    return JSON.parse(fs.readFileSync(path.resolve(env.cwd, file), "utf8")) as unknown;
  } catch (e) {
    throw new DirectoryError("dc.policy", `cannot read JSON from ${file}: ${(e as Error).message}`);
  }
}

function parseJson(text: string, file: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new DirectoryError("dc.policy", `${file}: not JSON: ${(e as Error).message}`);
  }
}

function readTextFile(env: CliEnv, file: string): string {
  try {
    return fs.readFileSync(path.resolve(env.cwd, file), "utf8");
  } catch (e) {
    throw new DirectoryError("dc.policy", `cannot read ${file}: ${(e as Error).message}`);
  }
}

/**
 * `gpo set`: each change goes through the policy tests' guard, which refuses one that
 * breaks an expected access matrix unless forced (src/policytest/guard.ts; given by the
 * CLI's command table, which sits above this folder).
 */
const gpoSet =
  (deps: DomainCommandDeps): Handler =>
  async (p, env) => {
    const [name] = p.positionals;
    const ipsec = p.str("ipsec-file");
    const fw = p.str("firewall-file");
    const force = p.flag("force");
    if (!ipsec && !fw)
      throw new UsageError("domain gpo set: give --ipsec-file and/or --firewall-file");
    if (ipsec)
      await deps.guardedCall(
        env,
        "gpo.set-ipsec",
        { name, store: readJsonFile(env, ipsec) },
        force,
      );
    if (fw)
      await deps.guardedCall(
        env,
        "gpo.set-firewall",
        { name, settings: readJsonFile(env, fw) },
        force,
      );
    await call(env, "gpo.show", { name }, showGpo);
  };

function showGpo(g: GpoInfo): string {
  return [
    `${g.name}  {${g.guid}}  version ${g.version}`,
    `  links     ${g.links.length ? g.links.join(", ") : "(none)"}`,
    `  IPsec     ${g.policies} polic${g.policies === 1 ? "y" : "ies"}${g.assigned ? `, assigned: ${g.assigned}` : ", none assigned"}`,
    `  firewall  ${JSON.stringify(g.firewall)}`,
  ].join("\n");
}

const gpo = {
  create: async (p, env) => {
    const [name] = p.positionals;
    await call(env, "gpo.create", { name }, showGpo);
  },
  delete: async (p, env) => {
    const [name] = p.positionals;
    await call(env, "gpo.delete", { name }, () => `policy object ${name} deleted`);
  },
  list: async (_p, env) => {
    await call<GpoInfo[]>(env, "gpo.list", {}, (gs) =>
      table(
        ["NAME", "VERSION", "LINKS", "GUID"],
        gs.map((g) => [g.name, String(g.version), g.links.join(",") || "-", g.guid]),
      ),
    );
  },
  show: async (p, env) => {
    const [name] = p.positionals;
    await call(env, "gpo.show", { name }, showGpo);
  },
  link: async (p, env) => {
    const [name, target] = p.positionals;
    await call(env, "gpo.link", { name, target }, () => `${name} linked to ${target}`);
  },
  unlink: async (p, env) => {
    const [name, target] = p.positionals;
    await call(env, "gpo.unlink", { name, target }, () => `${name} unlinked from ${target}`);
  },
  "set-expect": async (p, env) => {
    const [name] = p.positionals;
    const file = p.str("file");
    if (!file) throw new UsageError("domain gpo set-expect: give --file MATRIX");
    const text = readTextFile(env, file);
    const matrix = text.trimStart().startsWith("[")
      ? checkMatrix(parseJson(text, file), file)
      : parseMatrix(text, file);
    await call<{ gpo: string; rows: number }>(
      env,
      "gpo.set-expect",
      { name, matrix },
      (r) =>
        `${r.gpo}: ${r.rows} expectation${r.rows === 1 ? "" : "s"} stored (postern policy test ${r.gpo})`,
    );
  },
  "show-expect": async (p, env) => {
    const [name] = p.positionals;
    await call<Expectation[]>(env, "gpo.get-expect", { name }, (rows) =>
      rows.length === 0 ? `${name} carries no expected access matrix` : formatMatrix(rows),
    );
  },
  effective: async (p, env) => {
    const [name] = p.positionals;
    await call<EffectivePolicy>(env, "gpo.effective", { computer: name }, (e) =>
      [
        `${e.computer}: policy version ${e.version}`,
        ...e.applied.map((a) => `  ${a.name} (version ${a.version}) via ${a.via}`),
        `  IPsec from ${e.ipsecFrom ?? "(none)"}, firewall from ${e.firewallFrom ?? "(none)"}`,
      ].join("\n"),
    );
  },
} satisfies Record<string, Handler>;

const dns = {
  list: async (_p, env) => {
    await call<HostRecord[]>(env, "dns.list", {}, (rs) =>
      table(
        ["NAME", "TYPE", "VALUE", "OWNER"],
        rs.map((r) => [r.name, r.type, r.value, r.owner ?? "-"]),
      ),
    );
  },
  add: async (p, env) => {
    const [name, address] = p.positionals;
    await call<HostRecord>(
      env,
      "dns.add",
      { name, address },
      (r) => `${r.name} ${r.type} ${r.value} added`,
    );
  },
  delete: async (p, env) => {
    const [name, address] = p.positionals;
    await call(env, "dns.delete", { name, address }, () => `${name} ${address} deleted`);
  },
} satisfies Record<string, Handler>;

const admin = {
  "set-password": async (p, env) => {
    const password = await readAdminPassword(p.str("password-file"), env.cwd);
    await call<{ kvno: number; keys: number }>(env, "admin.set-password", { password }, (r) =>
      r.keys > 0
        ? `Administrator password set; Kerberos keys kvno ${r.kvno}`
        : "Administrator password set (no Kerberos keys: string-to-key is not wired in yet)",
    );
  },
} satisfies Record<string, Handler>;

const top = {
  show: async (_p, env) => {
    await call<DomainInfo>(
      env,
      "domain.show",
      {},
      (d) =>
        `${d.dnsName}  NetBIOS ${d.netbios}  realm ${d.realm}\n  SID ${d.sid}\n  DC ${d.dcHostName} (${d.dcAddress})  zone serial ${d.dnsSerial}`,
    );
  },
  "effective-groups": async (p, env) => {
    const [name] = p.positionals;
    await call<EffectiveGroup[]>(env, "effective-groups", { name }, (gs) =>
      table(
        ["GROUP", "SCOPE", "SID"],
        gs.map((g) => [g.name, g.scope, g.sid]),
      ),
    );
  },
  audit: async (p, env) => {
    await call<AuditRow[]>(env, "audit.list", { limit: p.int("limit", 1000, 1, 1_000_000) }, (rs) =>
      table(
        ["WHEN", "WHO", "WHAT", "TARGET", "DETAIL"],
        rs.map((r) => [r.at, r.actor, r.action, r.target, r.detail]),
      ),
    );
  },
} satisfies Record<string, Handler>;

const TOKEN: readonly OptionSpec[] = [
  { name: "join-token", type: "boolean", help: "also issue a one-time join token" },
  {
    name: "token-minutes",
    type: "string",
    value: "N",
    help: "the token's lifetime (default 1440)",
  },
];
const DESCRIPTION: OptionSpec = {
  name: "description",
  type: "string",
  value: "TEXT",
  help: "a description",
};
const JSON_FILE = (name: string, value: string, help: string): OptionSpec => ({
  name,
  type: "string",
  value,
  help,
  complete: "file",
});

/** One leaf: summary, positional arguments and options of a handler. */
const leaf = (
  name: string,
  summary: string,
  run: Handler,
  args?: string,
  options?: readonly OptionSpec[],
): CommandSpec => ({
  name,
  summary,
  ...(args ? { args } : {}),
  ...(options ? { options } : {}),
  run: async (p, env) => {
    await run(p, env);
    return 0;
  },
});

/** What `domain` needs from above this folder: the guarded way `gpo set` changes a GPO. */
export interface DomainCommandDeps {
  guardedCall: (
    env: CliEnv,
    op: GuardedOp,
    params: Record<string, unknown>,
    force: boolean,
  ) => Promise<unknown>;
}

const subcommands = (deps: DomainCommandDeps): readonly CommandSpec[] => [
  leaf("show", "the domain's names, SID and DC", top.show),
  {
    name: "computer",
    summary: "computer accounts: add, delete, list, show, reset-key, delegation, set-enctypes",
    subcommands: [
      leaf("add", "create a computer account", computer.add, "NAME", [...TOKEN, DESCRIPTION]),
      leaf("delete", "delete a computer account", computer.delete, "NAME"),
      leaf("list", "list the computer accounts", computer.list),
      leaf("show", "show one computer account", computer.show, "NAME"),
      leaf("reset-key", "new random keys (and a join token)", computer["reset-key"], "NAME", TOKEN),
      leaf(
        "delegation",
        "show or set Kerberos constrained delegation (S4U2Proxy) and protocol transition",
        computer.delegation,
        "NAME",
        [
          {
            name: "allow",
            type: "string",
            value: "SPN",
            multiple: true,
            help: "msDS-AllowedToDelegateTo: replace the list with these SPNs (repeatable)",
          },
          { name: "clear", type: "boolean", help: "empty msDS-AllowedToDelegateTo" },
          {
            name: "protocol-transition",
            type: "string",
            value: "on|off",
            help: "TRUSTED_TO_AUTH_FOR_DELEGATION: S4U2Self tickets forwardable",
            complete: ["on", "off"],
          },
          {
            name: "allowed-to-act-on-behalf",
            type: "string",
            value: "NAME|SID[,...]",
            multiple: true,
            help: "msDS-AllowedToActOnBehalfOfOtherIdentity (RBCD): replace the list of accounts or groups that may delegate to this one",
          },
          {
            name: "clear-allowed-to-act",
            type: "boolean",
            help: "empty msDS-AllowedToActOnBehalfOfOtherIdentity",
          },
        ],
      ),
      leaf(
        "set-enctypes",
        "msDS-SupportedEncryptionTypes: the enctypes of tickets for it (rolls keys if needed)",
        computer["set-enctypes"],
        "NAME ENCTYPES",
        TOKEN,
      ),
    ],
  },
  {
    name: "group",
    summary: "groups: add, delete, list, members, add-member, remove-member",
    subcommands: [
      leaf("add", "create a group", group.add, "NAME", [
        {
          name: "scope",
          type: "string",
          value: "SCOPE",
          help: "global (default), domainlocal or universal",
          complete: ["global", "domainlocal", "universal"],
        },
        DESCRIPTION,
      ]),
      leaf("delete", "delete a group", group.delete, "NAME"),
      leaf("list", "list the groups", group.list),
      leaf("members", "list a group's members", group.members, "NAME"),
      leaf("add-member", "add an account or group to a group", group["add-member"], "GROUP MEMBER"),
      leaf("remove-member", "remove a member from a group", group["remove-member"], "GROUP MEMBER"),
    ],
  },
  leaf(
    "effective-groups",
    "every group an account is in, nesting expanded",
    top["effective-groups"],
    "NAME",
  ),
  {
    name: "gpo",
    summary:
      "Group Policy objects: create, delete, list, show, link, unlink, set, set-expect, show-expect, effective",
    subcommands: [
      leaf("create", "create a policy object", gpo.create, "NAME"),
      leaf("delete", "delete a policy object", gpo.delete, "NAME"),
      leaf("list", "list the policy objects", gpo.list),
      leaf("show", "show one policy object", gpo.show, "NAME"),
      leaf("link", "link a policy object to the domain or a group", gpo.link, "NAME TARGET"),
      leaf("unlink", "remove a link", gpo.unlink, "NAME TARGET"),
      leaf(
        "set",
        "set a policy object's IPsec store and/or firewall settings",
        gpoSet(deps),
        "NAME",
        [
          JSON_FILE("ipsec-file", "STORE.json", "the IPsec policy store (JSON)"),
          JSON_FILE("firewall-file", "SETTINGS.json", "the firewall settings (JSON)"),
          {
            name: "force",
            type: "boolean",
            help: "make the change even if it breaks an expected access matrix",
          },
        ],
      ),
      leaf(
        "set-expect",
        "store the expected access matrix a policy object carries",
        gpo["set-expect"],
        "NAME",
        [
          {
            name: "file",
            type: "string",
            value: "MATRIX",
            help: "the matrix: WHO SERVER SERVICE MUST lines, or JSON",
            complete: "file",
          },
        ],
      ),
      leaf(
        "show-expect",
        "print a policy object's expected access matrix",
        gpo["show-expect"],
        "NAME",
      ),
      leaf(
        "effective",
        "the policy a computer gets, and from which objects",
        gpo.effective,
        "COMPUTER",
      ),
    ],
  },
  {
    name: "dns",
    summary: "the domain's host records: list, add, delete",
    subcommands: [
      leaf("list", "list the host records", dns.list),
      leaf("add", "add an A or AAAA record", dns.add, "HOST ADDRESS"),
      leaf("delete", "delete a record", dns.delete, "HOST ADDRESS"),
    ],
  },
  leaf("audit", "the audit log, newest last", top.audit, undefined, [
    { name: "limit", type: "string", value: "N", help: "at most N rows (default 1000)" },
  ]),
  {
    name: "admin",
    summary: "the Administrator account",
    subcommands: [
      leaf("set-password", "set the Administrator's password", admin["set-password"], undefined, [
        {
          name: "password-file",
          type: "string",
          value: "FILE",
          help: "read the password from FILE",
          complete: "file",
        },
      ]),
    ],
  },
];

export const createDomainCommand = (deps: DomainCommandDeps) =>
  defineCommand({
    name: "domain",
    summary: "administer the domain: computers, groups, policy objects, DNS, audit",
    help: `postern domain - administer the domain's directory

SYNOPSIS
  postern domain show
  postern domain computer add NAME [--join-token [--token-minutes N]] [--description TEXT]
  postern domain computer delete|show NAME
  postern domain computer list
  postern domain computer reset-key NAME [--join-token]
  postern domain computer delegation NAME [--allow SPN]... [--clear] [--protocol-transition on|off]
                 [--allowed-to-act-on-behalf NAME|SID[,...]]... [--clear-allowed-to-act]
  postern domain computer set-enctypes NAME ENCTYPE[,ENCTYPE...] [--join-token]
  postern domain group add NAME [--scope global|domainlocal|universal] [--description TEXT]
  postern domain group delete|members NAME
  postern domain group list
  postern domain group add-member|remove-member GROUP MEMBER
  postern domain effective-groups NAME
  postern domain gpo create|delete|show NAME
  postern domain gpo list
  postern domain gpo link|unlink NAME domain|GROUP
  postern domain gpo set NAME [--ipsec-file STORE.json] [--firewall-file SETTINGS.json] [--force]
  postern domain gpo set-expect NAME --file MATRIX
  postern domain gpo show-expect NAME
  postern domain gpo effective COMPUTER
  postern domain dns list | add HOST ADDRESS | delete HOST ADDRESS
  postern domain audit [--limit N]
  postern domain admin set-password [--password-file FILE]

Commands go through the running DC's admin socket (<home>/dc/admin.sock, root only), or to
the database directly when the DC is not running. Every change writes an audit row.
A computer MEMBER is written NAME$ (or NAME when no group has that name).

EXPECTED ACCESS MATRIX (policy tests, docs/policy-test.md)
  A GPO can carry who must and who must not reach which service. set-expect reads it from
  a file, one row a line (or the JSON that show-expect --json prints):
    # WHO        SERVER    SERVICE   MUST
    XPCLIENT$    server1   tcp/80    reach
    CLIENT2$     server1   tcp/80    not-reach
  WHO is a computer (NAME$), a group (each computer in it, nesting expanded) or an address
  (a host outside the domain); SERVICE is tcp/PORT, udp/PORT, icmp or any.
  \`postern policy test [GPO]\` prints the cells that differ. \`gpo set\` (and netsh ipsec
  static on the domain store) refuses a change that breaks a cell that held, one line per
  cell, and changes nothing; --force makes it anyway (and still prints the cells).
\`computer delegation\` sets what AD keeps as msDS-AllowedToDelegateTo (the SPNs the
computer's services may get tickets to in a user's name, S4U2Proxy; --allow replaces the
list) and TRUSTED_TO_AUTH_FOR_DELEGATION (protocol transition: its S4U2Self tickets are
forwardable, so they can serve as S4U2Proxy evidence); without options it shows them.
--allowed-to-act-on-behalf sets resource-based constrained delegation, what AD keeps on
the *target* as msDS-AllowedToActOnBehalfOfOtherIdentity: the accounts or groups (names or
SIDs, stored as SIDs) whose services may get tickets to this computer in a user's name
(S4U2Proxy with the RBCD PA-PAC-OPTIONS, e.g. impacket getST.py -impersonate); it replaces
the list, --clear-allowed-to-act empties it. Example:
  postern domain computer delegation FS1 --allowed-to-act-on-behalf SVC2$,web-servers
The KDC applies a change at the next request.
--json prints every result as JSON.

ENCTYPES
  set-enctypes sets the account's msDS-SupportedEncryptionTypes: the KDC seals tickets for
  it with the strongest of these it has a key for, and issues session keys only in them.
  Names as in krb5.conf, or numbers: aes256-cts-hmac-sha1-96 (18), aes128-cts-hmac-sha1-96
  (17) - the default, as AD's computers - and aes256-cts-hmac-sha384-192 (20),
  aes128-cts-hmac-sha256-128 (19) of RFC 8009, which Windows and impacket do not know.
  When the account has no key of a named enctype, its keys are rolled (kvno + 1): the
  member needs its new keys (--join-token, then postern join). Example:
    postern domain computer set-enctypes WS01 aes256-cts-hmac-sha384-192,aes256-cts-hmac-sha1-96
`,
    subcommands: subcommands(deps),
  });
