/**
 * `postern domain ...`: the administrator's commands on the directory. Each one becomes an
 * operation (src/dc/ops.ts) sent through the admin socket or run on the database directly
 * (client.ts); `--json` prints the operation's result as JSON.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { CliEnv, Command } from "../../cmdline/env.js";
import type { AuditRow } from "../audit.js";
import type { ComputerInfo } from "../computers.js";
import type { DomainInfo } from "../directory.js";
import { DirectoryError } from "../errors.js";
import type { EffectivePolicy, GpoInfo } from "../gpo.js";
import type { EffectiveGroup, GroupInfo, MemberInfo } from "../groups.js";
import type { HostRecord } from "../records.js";
import { readAdminPassword } from "../password.js";
import { UsageError } from "../../errors.js";
import { expectPositional, intOption, parseArgs } from "../../cmdline/argv.js";
import { readDcCertificate } from "../api/certificate.js";
import { tokenWithFingerprint } from "../api/channel.js";
import type { OpName } from "../api/protocol.js";
import { adminCall } from "./client.js";
import { table } from "./format.js";

type Handler = (argv: string[], env: CliEnv) => Promise<void>;

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
    `  joined         ${c.joinedAt ?? "no"}`,
  ];
  if (c.token) lines.push(`  join token     ${c.token}  (one use, expires ${c.expiresAt})`);
  return lines.join("\n");
}

const tokenOpts = (p: ReturnType<typeof parseArgs>) => ({
  joinToken: p.flags.has("join-token"),
  tokenTtlMs: intOption(p, "token-minutes", 1440, 1, 525600, "domain computer") * 60_000,
});

const computer: Record<string, Handler> = {
  add: async (argv, env) => {
    const p = parseArgs(
      argv,
      ["description", "token-minutes"],
      ["join-token"],
      "domain computer add",
    );
    const [name] = expectPositional(
      p,
      1,
      "postern domain computer add NAME [--join-token] [--token-minutes N]",
    );
    await call(
      env,
      "computer.add",
      { name, description: p.values.get("description"), ...tokenOpts(p) },
      showComputer,
    );
  },
  delete: async (argv, env) => {
    const [name] = expectPositional(
      parseArgs(argv, [], [], "domain computer delete"),
      1,
      "postern domain computer delete NAME",
    );
    await call(env, "computer.delete", { name }, () => `computer ${name} deleted`);
  },
  list: async (argv, env) => {
    expectPositional(
      parseArgs(argv, [], [], "domain computer list"),
      0,
      "postern domain computer list",
    );
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
  show: async (argv, env) => {
    const [name] = expectPositional(
      parseArgs(argv, [], [], "domain computer show"),
      1,
      "postern domain computer show NAME",
    );
    await call(env, "computer.show", { name }, showComputer);
  },
  "reset-key": async (argv, env) => {
    const p = parseArgs(argv, ["token-minutes"], ["join-token"], "domain computer reset-key");
    const [name] = expectPositional(p, 1, "postern domain computer reset-key NAME [--join-token]");
    await call(env, "computer.reset-key", { name, ...tokenOpts(p) }, showComputer);
  },
};

const group: Record<string, Handler> = {
  add: async (argv, env) => {
    const p = parseArgs(argv, ["scope", "description"], [], "domain group add");
    const [name] = expectPositional(
      p,
      1,
      "postern domain group add NAME [--scope global|domainlocal|universal]",
    );
    await call<GroupInfo>(
      env,
      "group.add",
      { name, scope: p.values.get("scope"), description: p.values.get("description") },
      (g) => `group ${g.name} (${g.scope}) added, SID ${g.sid}`,
    );
  },
  delete: async (argv, env) => {
    const [name] = expectPositional(
      parseArgs(argv, [], [], "domain group delete"),
      1,
      "postern domain group delete NAME",
    );
    await call(env, "group.delete", { name }, () => `group ${name} deleted`);
  },
  list: async (argv, env) => {
    expectPositional(parseArgs(argv, [], [], "domain group list"), 0, "postern domain group list");
    await call<GroupInfo[]>(env, "group.list", {}, (gs) =>
      table(
        ["NAME", "SCOPE", "MEMBERS", "SID"],
        gs.map((g) => [g.name, g.scope, String(g.members), g.sid]),
      ),
    );
  },
  members: async (argv, env) => {
    const [name] = expectPositional(
      parseArgs(argv, [], [], "domain group members"),
      1,
      "postern domain group members NAME",
    );
    await call<MemberInfo[]>(env, "group.members", { name }, (ms) =>
      ms.length === 0
        ? `${name} has no members`
        : ms.map((m) => `${m.name}${m.primary ? "  (primary group)" : ""}`).join("\n"),
    );
  },
  "add-member": async (argv, env) => {
    const [g, m] = expectPositional(
      parseArgs(argv, [], [], "domain group add-member"),
      2,
      "postern domain group add-member GROUP MEMBER",
    );
    await call(env, "group.add-member", { group: g, member: m }, () => `${m} added to ${g}`);
  },
  "remove-member": async (argv, env) => {
    const [g, m] = expectPositional(
      parseArgs(argv, [], [], "domain group remove-member"),
      2,
      "postern domain group remove-member GROUP MEMBER",
    );
    await call(env, "group.remove-member", { group: g, member: m }, () => `${m} removed from ${g}`);
  },
};

function readJsonFile(env: CliEnv, file: string): unknown {
  try {
    return JSON.parse(fs.readFileSync(path.resolve(env.cwd, file), "utf8")) as unknown;
  } catch (e) {
    throw new DirectoryError("dc.policy", `cannot read JSON from ${file}: ${(e as Error).message}`);
  }
}

function showGpo(g: GpoInfo): string {
  return [
    `${g.name}  {${g.guid}}  version ${g.version}`,
    `  links     ${g.links.length ? g.links.join(", ") : "(none)"}`,
    `  IPsec     ${g.policies} polic${g.policies === 1 ? "y" : "ies"}${g.assigned ? `, assigned: ${g.assigned}` : ", none assigned"}`,
    `  firewall  ${JSON.stringify(g.firewall)}`,
  ].join("\n");
}

const gpo: Record<string, Handler> = {
  create: async (argv, env) => {
    const [name] = expectPositional(
      parseArgs(argv, [], [], "domain gpo create"),
      1,
      "postern domain gpo create NAME",
    );
    await call(env, "gpo.create", { name }, showGpo);
  },
  delete: async (argv, env) => {
    const [name] = expectPositional(
      parseArgs(argv, [], [], "domain gpo delete"),
      1,
      "postern domain gpo delete NAME",
    );
    await call(env, "gpo.delete", { name }, () => `policy object ${name} deleted`);
  },
  list: async (argv, env) => {
    expectPositional(parseArgs(argv, [], [], "domain gpo list"), 0, "postern domain gpo list");
    await call<GpoInfo[]>(env, "gpo.list", {}, (gs) =>
      table(
        ["NAME", "VERSION", "LINKS", "GUID"],
        gs.map((g) => [g.name, String(g.version), g.links.join(",") || "-", g.guid]),
      ),
    );
  },
  show: async (argv, env) => {
    const [name] = expectPositional(
      parseArgs(argv, [], [], "domain gpo show"),
      1,
      "postern domain gpo show NAME",
    );
    await call(env, "gpo.show", { name }, showGpo);
  },
  link: async (argv, env) => {
    const [name, target] = expectPositional(
      parseArgs(argv, [], [], "domain gpo link"),
      2,
      "postern domain gpo link NAME domain|GROUP",
    );
    await call(env, "gpo.link", { name, target }, () => `${name} linked to ${target}`);
  },
  unlink: async (argv, env) => {
    const [name, target] = expectPositional(
      parseArgs(argv, [], [], "domain gpo unlink"),
      2,
      "postern domain gpo unlink NAME domain|GROUP",
    );
    await call(env, "gpo.unlink", { name, target }, () => `${name} unlinked from ${target}`);
  },
  set: async (argv, env) => {
    const p = parseArgs(argv, ["ipsec-file", "firewall-file"], [], "domain gpo set");
    const [name] = expectPositional(
      p,
      1,
      "postern domain gpo set NAME [--ipsec-file STORE.json] [--firewall-file SETTINGS.json]",
    );
    const ipsec = p.values.get("ipsec-file");
    const fw = p.values.get("firewall-file");
    if (!ipsec && !fw)
      throw new UsageError("domain gpo set: give --ipsec-file and/or --firewall-file");
    if (ipsec) await adminCall(env, "gpo.set-ipsec", { name, store: readJsonFile(env, ipsec) });
    if (fw) await adminCall(env, "gpo.set-firewall", { name, settings: readJsonFile(env, fw) });
    await call(env, "gpo.show", { name }, showGpo);
  },
  effective: async (argv, env) => {
    const [name] = expectPositional(
      parseArgs(argv, [], [], "domain gpo effective"),
      1,
      "postern domain gpo effective COMPUTER",
    );
    await call<EffectivePolicy>(env, "gpo.effective", { computer: name }, (e) =>
      [
        `${e.computer}: policy version ${e.version}`,
        ...e.applied.map((a) => `  ${a.name} (version ${a.version}) via ${a.via}`),
        `  IPsec from ${e.ipsecFrom ?? "(none)"}, firewall from ${e.firewallFrom ?? "(none)"}`,
      ].join("\n"),
    );
  },
};

const dns: Record<string, Handler> = {
  list: async (argv, env) => {
    expectPositional(parseArgs(argv, [], [], "domain dns list"), 0, "postern domain dns list");
    await call<HostRecord[]>(env, "dns.list", {}, (rs) =>
      table(
        ["NAME", "TYPE", "VALUE", "OWNER"],
        rs.map((r) => [r.name, r.type, r.value, r.owner ?? "-"]),
      ),
    );
  },
  add: async (argv, env) => {
    const [name, address] = expectPositional(
      parseArgs(argv, [], [], "domain dns add"),
      2,
      "postern domain dns add HOST ADDRESS",
    );
    await call<HostRecord>(
      env,
      "dns.add",
      { name, address },
      (r) => `${r.name} ${r.type} ${r.value} added`,
    );
  },
  delete: async (argv, env) => {
    const [name, address] = expectPositional(
      parseArgs(argv, [], [], "domain dns delete"),
      2,
      "postern domain dns delete HOST ADDRESS",
    );
    await call(env, "dns.delete", { name, address }, () => `${name} ${address} deleted`);
  },
};

const admin: Record<string, Handler> = {
  "set-password": async (argv, env) => {
    const p = parseArgs(argv, ["password-file"], [], "domain admin set-password");
    expectPositional(p, 0, "postern domain admin set-password [--password-file FILE]");
    const password = await readAdminPassword(p.values.get("password-file"), env.cwd);
    await call<{ kvno: number; keys: number }>(env, "admin.set-password", { password }, (r) =>
      r.keys > 0
        ? `Administrator password set; Kerberos keys kvno ${r.kvno}`
        : "Administrator password set (no Kerberos keys: string-to-key is not wired in yet)",
    );
  },
};

const top: Record<string, Handler> = {
  show: async (argv, env) => {
    expectPositional(parseArgs(argv, [], [], "domain show"), 0, "postern domain show");
    await call<DomainInfo>(
      env,
      "domain.show",
      {},
      (d) =>
        `${d.dnsName}  NetBIOS ${d.netbios}  realm ${d.realm}\n  SID ${d.sid}\n  DC ${d.dcHostName} (${d.dcAddress})  zone serial ${d.dnsSerial}`,
    );
  },
  "effective-groups": async (argv, env) => {
    const [name] = expectPositional(
      parseArgs(argv, [], [], "domain effective-groups"),
      1,
      "postern domain effective-groups NAME",
    );
    await call<EffectiveGroup[]>(env, "effective-groups", { name }, (gs) =>
      table(
        ["GROUP", "SCOPE", "SID"],
        gs.map((g) => [g.name, g.scope, g.sid]),
      ),
    );
  },
  audit: async (argv, env) => {
    const p = parseArgs(argv, ["limit"], [], "domain audit");
    expectPositional(p, 0, "postern domain audit [--limit N]");
    await call<AuditRow[]>(
      env,
      "audit.list",
      { limit: intOption(p, "limit", 1000, 1, 1_000_000, "domain audit") },
      (rs) =>
        table(
          ["WHEN", "WHO", "WHAT", "TARGET", "DETAIL"],
          rs.map((r) => [r.at, r.actor, r.action, r.target, r.detail]),
        ),
    );
  },
};

const GROUPS: Record<string, Record<string, Handler>> = { computer, group, gpo, dns, admin };

export const domainCommand: Command = {
  name: "domain",
  summary: "administer the domain: computers, groups, policy objects, DNS, audit",
  help: `postern domain - administer the domain's directory

SYNOPSIS
  postern domain show
  postern domain computer add NAME [--join-token [--token-minutes N]] [--description TEXT]
  postern domain computer delete|show NAME
  postern domain computer list
  postern domain computer reset-key NAME [--join-token]
  postern domain group add NAME [--scope global|domainlocal|universal] [--description TEXT]
  postern domain group delete|members NAME
  postern domain group list
  postern domain group add-member|remove-member GROUP MEMBER
  postern domain effective-groups NAME
  postern domain gpo create|delete|show NAME
  postern domain gpo list
  postern domain gpo link|unlink NAME domain|GROUP
  postern domain gpo set NAME [--ipsec-file STORE.json] [--firewall-file SETTINGS.json]
  postern domain gpo effective COMPUTER
  postern domain dns list | add HOST ADDRESS | delete HOST ADDRESS
  postern domain audit [--limit N]
  postern domain admin set-password [--password-file FILE]

Commands go through the running DC's admin socket (<home>/dc/admin.sock, root only), or to
the database directly when the DC is not running. Every change writes an audit row.
A computer MEMBER is written NAME$ (or NAME when no group has that name).
--json prints every result as JSON.
`,
  async run(argv, env) {
    const [a, b, ...rest] = argv;
    if (a && GROUPS[a]) {
      const h = b ? GROUPS[a][b] : undefined;
      if (!h)
        throw new UsageError(`domain ${a}: expected one of ${Object.keys(GROUPS[a]).join(", ")}`);
      await h(rest, env);
      return 0;
    }
    const h = a ? top[a] : undefined;
    if (!h)
      throw new UsageError(
        `domain: expected show, computer, group, effective-groups, gpo, dns or audit${a ? `, not '${a}'` : ""}`,
      );
    await h(b === undefined ? rest : [b, ...rest], env);
    return 0;
  },
};
