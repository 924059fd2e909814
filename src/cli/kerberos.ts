/**
 * `postern kinit|klist|kvno|kdestroy|ktutil`: the Kerberos client from the shell, used as
 * administrators use MIT's tools. Realms and KDCs come from krb5.conf (`KRB5_CONFIG`, else
 * /etc/krb5.conf), the cache from `KRB5CCNAME` (FILE: only, else /tmp/krb5cc_UID), the
 * keytab from `-t`/`-k`, `KRB5_KTNAME` or /etc/krb5.keytab.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as readline from "node:readline";
import { Writable } from "node:stream";
import { randomBytes } from "../crypto/primitives.js";
import { requestControl } from "../control/socket.js";
import { PosternError, UsageError } from "../errors.js";
import {
  findServiceTicket,
  findTgt,
  newCcache,
  offsetFromHeader,
  offsetToHeader,
  storeCredential,
} from "../kerberos/client/cache.js";
import { createKerberosClient, type KerberosClient } from "../kerberos/client/client.js";
import { formatKeytab, formatKlist, keytabJson, klistJson } from "../kerberos/client/format.js";
import {
  defaultSalt,
  type KeySource,
  parseEnctype,
  parseEnctypeList,
} from "../kerberos/client/keys.js";
import {
  type Krb5Config,
  kdcsOf,
  libdefaultBool,
  libdefaultInt,
  parseDuration,
  readKrb5Config,
} from "../kerberos/config.js";
import { getEnctype } from "../kerberos/crypto/index.js";
import { filePathFromName } from "../kerberos/files/bytes.js";
import {
  checkMachineBoot,
  describeBootCheck,
  purgeMachineTickets,
  readBootId,
} from "../member/machine-boot.js";
import { readCcacheFile, writeCcacheFile } from "../kerberos/files/ccache.js";
import {
  type Keytab,
  type KeytabEntry,
  readKeytabFile,
  writeKeytabFile,
} from "../kerberos/files/keytab.js";
import { decodeTicket } from "../kerberos/messages/ticket.js";
import {
  formatPrincipal,
  NAME_TYPE,
  parsePrincipal,
  type Principal,
  principalEquals,
} from "../kerberos/principal.js";
import { createKdcTransport, createNodeKdcIo } from "../kerberos/transport.js";
import type { CliEnv, Command } from "../cmdline/env.js";
import { defineCommand, type OptionSpec, type Parsed } from "../cmdline/grammar.js";

const flag = (name: string, help: string): OptionSpec => ({ name, type: "boolean", help });
const valued = (name: string, value: string, help: string, file = false): OptionSpec => ({
  name,
  type: "string",
  value,
  help,
  ...(file ? { complete: "file" as const } : {}),
});
const KEYTAB = valued(
  "k",
  "KEYTAB",
  "the keytab (default KRB5_KTNAME, else /etc/krb5.keytab)",
  true,
);
const CACHE = valued(
  "c",
  "CACHE",
  "the credential cache (default KRB5CCNAME, else /tmp/krb5cc_UID)",
  true,
);

function defaultCacheName(env: CliEnv): string {
  const v = env.vars.KRB5CCNAME;
  if (v) return /^[A-Za-z]+:/.test(v) ? v : `FILE:${v}`;
  return `FILE:/tmp/krb5cc_${process.getuid?.() ?? 0}`;
}

function defaultKeytabName(env: CliEnv, config: Krb5Config): string {
  const v = env.vars.KRB5_KTNAME ?? config.libdefaults.default_keytab_name ?? "/etc/krb5.keytab";
  return /^[A-Za-z]+:/.test(v) ? v : `FILE:${v}`;
}

const asFileName = (name: string) => (/^[A-Za-z]+:/.test(name) ? name : `FILE:${name}`);
/** The file an option names, else the default. */
const named = (given: string | undefined, dflt: () => string) =>
  given ? asFileName(given) : dflt();

function makeClient(config: Krb5Config, timeOffsetMs = 0): KerberosClient {
  const transport = createKdcTransport({
    io: createNodeKdcIo(),
    kdcsOf: (realm) => kdcsOf(config, realm),
    udpPreferenceLimit: libdefaultInt(config, "udp_preference_limit", 1465),
    maxRounds: libdefaultInt(config, "max_retries", 2),
  });
  const lib = config.libdefaults;
  return createKerberosClient({
    transport,
    now: () => Date.now(),
    randomBytes,
    etypes: parseEnctypeList(lib.default_tkt_enctypes ?? lib.permitted_enctypes),
    lifetimeSec: parseDuration(lib.ticket_lifetime ?? "1d", "ticket_lifetime"),
    renewLifetimeSec: lib.renew_lifetime ? parseDuration(lib.renew_lifetime, "renew_lifetime") : 0,
    forwardable: libdefaultBool(config, "forwardable", true),
    timeOffsetMs,
  });
}

function defaultRealm(config: Krb5Config): string | undefined {
  return config.libdefaults.default_realm;
}

async function readPassword(prompt: string): Promise<string> {
  if (!process.stdin.isTTY) {
    const line = fs.readFileSync(0, "utf8").split(/\r?\n/)[0] ?? "";
    if (line === "")
      throw new PosternError(
        "no-password",
        "no password on stdin (pipe one in, or use -k -t KEYTAB)",
      );
    return line;
  }
  // A terminal: readline in raw mode echoes into a sink, so the password is not shown.
  const sink = new Writable({ write: (_c, _e, cb) => cb() });
  const rl = readline.createInterface({ input: process.stdin, output: sink, terminal: true });
  process.stderr.write(prompt);
  try {
    return await new Promise<string>((resolve) => rl.question("", resolve));
  } finally {
    rl.close();
    process.stderr.write("\n");
  }
}

function firstKeytabPrincipal(kt: Keytab, name: string): Principal {
  const e = kt.entries[0];
  if (!e) throw new PosternError("keytab-empty", `keytab ${name} has no entries`);
  return e.principal;
}

/** Principal names like MIT's krb5_parse_name; `service/host` names get NT-SRV-HST. */
function parseName(text: string, realm: string | undefined, service = false): Principal {
  const p = parsePrincipal(text, realm);
  if (service && p.name.nameString.length === 2 && p.name.nameString[0] !== "krbtgt")
    p.name.nameType = NAME_TYPE.NT_SRV_HST;
  return p;
}

const KINIT_HELP = `postern kinit - get a ticket-granting ticket (as MIT kinit)

USAGE
  postern kinit [-k [-t KEYTAB]] [-c CACHE] [-l LIFETIME] [-r RENEW] [PRINCIPAL]

  Without -k the password is read from stdin (first line) when stdin is not a terminal,
  else prompted for. -k uses the keytab (-t, else KRB5_KTNAME, else /etc/krb5.keytab);
  without PRINCIPAL, the keytab's first principal. The cache is -c, else KRB5CCNAME, else
  /tmp/krb5cc_UID; KDCs come from krb5.conf (KRB5_CONFIG). Pre-authentication uses the
  KDC's ETYPE-INFO2 salt; a KRB_AP_ERR_SKEW is corrected once and the offset kept in the cache.
`;

export const kinitCommand = defineCommand({
  name: "kinit",
  summary: "get a Kerberos ticket-granting ticket (password or keytab)",
  help: KINIT_HELP,
  args: "[PRINCIPAL]",
  options: [
    flag("k", "use the keytab instead of a password"),
    valued("t", "KEYTAB", "the keytab (default KRB5_KTNAME, else /etc/krb5.keytab)", true),
    CACHE,
    valued("l", "LIFETIME", "ticket lifetime (e.g. 10h)"),
    valued("r", "RENEW", "renewable lifetime (e.g. 7d)"),
  ],
  async run(p, env) {
    const config = readKrb5Config(env.vars.KRB5_CONFIG);
    const cacheName = named(p.str("c"), () => defaultCacheName(env));
    const lib = config.libdefaults;
    const [lifetime, renew] = [p.str("l"), p.str("r")];
    if (lifetime) lib.ticket_lifetime = lifetime;
    if (renew) lib.renew_lifetime = renew;
    let keys: KeySource;
    let client: Principal;
    if (p.flag("k") || p.str("t") !== undefined) {
      const ktName = named(p.str("t"), () => defaultKeytabName(env, config));
      const keytab = readKeytabFile(ktName);
      client = p.positionals[0]
        ? parseName(p.positionals[0], defaultRealm(config))
        : firstKeytabPrincipal(keytab, ktName);
      keys = { kind: "keytab", keytab, name: ktName };
    } else {
      const name = p.positionals[0] ?? env.vars.USER ?? env.vars.LOGNAME;
      if (!name) throw new UsageError("kinit: give a PRINCIPAL");
      client = parseName(name, defaultRealm(config));
      keys = {
        kind: "password",
        password: await readPassword(`Password for ${formatPrincipal(client)}: `),
      };
    }
    const kc = makeClient(config);
    const r = await kc.login({ client, keys });
    writeCcacheFile(cacheName, newCcache(r.tgt.client, r.tgt, r.timeOffsetMs));
    return 0;
  },
});

export const klistCommand = defineCommand({
  name: "klist",
  summary: "list the tickets in a credential cache, or the keys in a keytab (as MIT klist)",
  help: `postern klist - list tickets or keys (as MIT klist)

USAGE
  postern [--json] klist [-e] [-f] [-c CACHE | CACHE]
  postern [--json] klist -k [-e] [-t] [KEYTAB]

  postern [--json] klist --machine [-e] [-f] [purge]
  postern [--json] klist -li 0x3e7 [purge]          (the same, spelled as on Windows)

  -e shows enctypes ("Etype (skey, tkt): ..."), -f ticket flags, -k a keytab instead of the
  cache (KEYTAB, else KRB5_KTNAME, else /etc/krb5.keytab), -t key timestamps. The cache is
  -c, else KRB5CCNAME, else /tmp/krb5cc_UID. Exit status 1 when there is no cache.

  --machine (or -li 0x3e7, the LocalSystem logon session of Windows) lists the machine's
  tickets: <home>/agent/krb5cc, the TGT of NAME$ the agent got with the machine keytab and
  the host/ tickets it asked for to authenticate IKE. \`purge\` deletes them; a running
  agent also deletes the IKE SAs it authenticated with them, so the next packet to a peer
  negotiates again with a new TGT whose PAC carries the machine's groups of now. On
  Windows Server 2003 a group change reached the machine's tickets only at the next reboot
  (or when the TGT expired, 10 hours); this is the better way, and it is what the lab's
  check does after removing xpclient from \`trusted\`.

  The boot the TGT was obtained in (/proc/sys/kernel/random/boot_id) is recorded beside
  the cache (krb5cc.boot), and the "Boot check" line compares it with the current boot:
  the agent discards a TGT of an earlier boot (or with no boot recorded) when it starts,
  so a reboot refreshes the machine's groups as on Windows; a restart of the agent alone
  keeps it.
`,
  args: "[CACHE|KEYTAB|purge]",
  options: [
    flag("e", "show enctypes"),
    flag("f", "show ticket flags"),
    flag("k", "list a keytab instead of the cache"),
    flag("t", "show key timestamps (with -k)"),
    flag("K", "accepted, as MIT's (no effect)"),
    CACHE,
    flag("machine", "the machine's tickets (<home>/agent/krb5cc)"),
    valued("li", "0x3e7", "the same, spelled as on Windows (-li 0x3e7)"),
  ],
  // Windows writes -li as one option, not -l -i.
  preparse: (argv) => argv.map((a) => (a === "-li" ? "--li" : a)),
  async run(p, env) {
    const machine = machineArgs(p);
    if (machine !== null) return machineKlist(machine, p, env);
    if (p.flag("k")) {
      const config = readKrb5Config(env.vars.KRB5_CONFIG);
      const name = p.positionals[0] ? asFileName(p.positionals[0]) : defaultKeytabName(env, config);
      const kt = readKeytabFile(name);
      if (env.json) env.out(JSON.stringify(keytabJson(name, kt), null, 2));
      else env.out(formatKeytab(name, kt, { etypes: p.flag("e"), timestamps: p.flag("t") }));
      return 0;
    }
    const given = p.str("c") ?? p.positionals[0];
    const name = given ? asFileName(given) : defaultCacheName(env);
    if (!fs.existsSync(filePathFromName(name, "ccache"))) {
      throw new PosternError(
        "no-ccache",
        `klist: no credentials cache found (filename: ${filePathFromName(name, "ccache")})`,
      );
    }
    const cc = readCcacheFile(name);
    if (env.json) env.out(JSON.stringify(klistJson(name, cc), null, 2));
    else env.out(formatKlist(name, cc, { etypes: p.flag("e"), flags: p.flag("f") }));
    return 0;
  },
});

/** `--machine` / `-li 0x3e7` [purge]: whether to purge, or null when not asked. */
function machineArgs(p: Parsed): { purge: boolean } | null {
  const li = p.str("li");
  if (li !== undefined && li.toLowerCase() !== "0x3e7")
    throw new UsageError(`klist: -li ${li}: only the machine's logon session 0x3e7 is kept here`);
  const purge = p.positionals[0] === "purge";
  if (!p.flag("machine") && li === undefined) {
    if (purge) throw new UsageError("klist purge: give --machine (or -li 0x3e7), or use kdestroy");
    return null;
  }
  if (p.positionals.length > 0 && !purge)
    throw new UsageError(`klist --machine: unexpected "${p.positionals[0]}"`);
  return { purge };
}

async function machineKlist(m: { purge: boolean }, p: Parsed, env: CliEnv): Promise<number> {
  const file = path.join(env.home, "agent", "krb5cc");
  const sock = path.join(env.home, "agent", "agent.sock");
  if (m.purge) {
    const had = fs.existsSync(file);
    purgeMachineTickets(env.home);
    let deleted: string[] = [];
    if (fs.existsSync(sock)) {
      deleted = (await requestControl(sock, "purge")).deletedIkeSas;
    }
    if (env.json) env.out(JSON.stringify({ purged: had, deletedIkeSas: deleted }));
    else {
      env.out(had ? "Deleting all tickets:\n\tTicket(s) purged!" : "No machine tickets to purge.");
      if (deleted.length)
        env.out(
          `The agent deleted ${deleted.length} IKE SA(s) authenticated with them; the next packet negotiates with a new TGT.`,
        );
    }
    return 0;
  }
  if (!fs.existsSync(file))
    throw new PosternError(
      "no-ccache",
      `klist: the machine has no tickets (${file}); is this host joined and its agent running?`,
    );
  const name = `FILE:${file}`;
  const cc = readCcacheFile(name);
  const boot = checkMachineBoot(env.home, readBootId());
  if (env.json) env.out(JSON.stringify({ ...(klistJson(name, cc) as object), boot }, null, 2));
  else {
    env.out(formatKlist(name, cc, { etypes: p.flag("e"), flags: p.flag("f") }));
    env.out(describeBootCheck(boot));
  }
  return 0;
}

export const kvnoCommand = defineCommand({
  name: "kvno",
  summary: "get service tickets and print their key version numbers (as MIT kvno)",
  help: `postern kvno - get service tickets with the cached TGT (as MIT kvno)

USAGE
  postern kvno [-c CACHE] SERVICE...

  For each SERVICE (e.g. host/server.example.test, realm defaulting to the TGT's), a TGS
  exchange with the TGT in the cache; the ticket is stored in the cache and
  "SERVICE@REALM: kvno = N" is printed. KRB_AP_ERR_SKEW is corrected once.
`,
  args: "SERVICE...",
  options: [CACHE],
  async run(p, env) {
    const config = readKrb5Config(env.vars.KRB5_CONFIG);
    const cacheName = named(p.str("c"), () => defaultCacheName(env));
    if (!fs.existsSync(filePathFromName(cacheName, "ccache"))) {
      throw new PosternError(
        "no-ccache",
        `kvno: no credentials cache found (filename: ${filePathFromName(cacheName, "ccache")}): run kinit`,
      );
    }
    let cc = readCcacheFile(cacheName);
    const kc = makeClient(config, offsetFromHeader(cc));
    const tgt = findTgt(cc, Date.now() + kc.timeOffsetMs, cacheName);
    let failed = 0;
    for (const s of p.positionals) {
      const server = parseName(s, tgt.client.realm, true);
      try {
        const cred =
          findServiceTicket(cc, server, Date.now()) ?? (await kc.getServiceTicket(tgt, server));
        cc = storeCredential(cc, cred);
        const kvno = decodeTicket(cred.ticket).encPart.kvno;
        env.out(`${formatPrincipal(server)}: kvno = ${kvno ?? "(none)"}`);
      } catch (e) {
        if (!(e instanceof PosternError)) throw e;
        const message = `kvno: ${formatPrincipal(server)}: ${e.message}`;
        env.err(
          env.json ? JSON.stringify({ error: { code: e.code, message } }) : `postern: ${message}`,
        );
        failed++;
      }
    }
    if (kc.timeOffsetMs !== 0) cc = { ...cc, timeOffset: offsetToHeader(kc.timeOffsetMs) };
    writeCcacheFile(cacheName, cc);
    return failed > 0 ? 1 : 0;
  },
});

export const kdestroyCommand = defineCommand({
  name: "kdestroy",
  summary: "destroy the credential cache (as MIT kdestroy)",
  help: `postern kdestroy - destroy the credential cache

USAGE
  postern kdestroy [-c CACHE]

  Overwrites the cache file with zeros and removes it. Exit 1 when there is none.
`,
  options: [flag("q", "quiet (accepted, as MIT's)"), CACHE],
  run(p, env) {
    const name = named(p.str("c"), () => defaultCacheName(env));
    const file = filePathFromName(name, "ccache");
    let size: number;
    try {
      size = fs.statSync(file).size;
    } catch {
      throw new PosternError(
        "no-ccache",
        `kdestroy: no credentials cache found (filename: ${file})`,
      );
    }
    fs.writeFileSync(file, new Uint8Array(size));
    fs.unlinkSync(file);
    return 0;
  },
});

const KTUTIL_HELP = `postern ktutil - keytab maintenance (MIT ktutil's list, addent -password, rkt/wkt)

USAGE
  postern [--json] ktutil list [-e] [-t] [-k KEYTAB]
  postern ktutil add -p PRINCIPAL [-e ENCTYPE]... [-V KVNO] [-s SALT] [-k KEYTAB]
  postern ktutil merge -k OUT KEYTAB...

  add derives keys from the password on stdin (first line) with string-to-key, salt
  defaulting to REALM + name components (-s for AD machine salts), kvno 1 unless -V,
  enctypes aes256-cts-hmac-sha1-96 and aes128-cts-hmac-sha1-96 unless -e is given (repeat
  -e for more; RC4 and DES are refused). merge appends the entries of each KEYTAB to OUT,
  skipping exact duplicates. KEYTAB defaults to KRB5_KTNAME, else /etc/krb5.keytab.
`;

function readKeytabOrEmpty(name: string): Keytab {
  return fs.existsSync(filePathFromName(name, "keytab")) ? readKeytabFile(name) : { entries: [] };
}

const sameEntry = (a: KeytabEntry, b: KeytabEntry) =>
  principalEquals(a.principal, b.principal) &&
  a.kvno === b.kvno &&
  a.key.keytype === b.key.keytype &&
  Buffer.compare(Buffer.from(a.key.keyvalue), Buffer.from(b.key.keyvalue)) === 0;

export const ktutilCommand = defineCommand({
  name: "ktutil",
  summary: "list keytabs, add keys from a password, merge keytabs",
  help: KTUTIL_HELP,
  subcommands: [
    {
      name: "list",
      summary: "list the keys of a keytab",
      options: [flag("e", "show enctypes"), flag("t", "show timestamps"), KEYTAB],
      run(p, env) {
        const config = readKrb5Config(env.vars.KRB5_CONFIG);
        const name = named(p.str("k"), () => defaultKeytabName(env, config));
        const kt = readKeytabFile(name);
        if (env.json) env.out(JSON.stringify(keytabJson(name, kt), null, 2));
        else env.out(formatKeytab(name, kt, { etypes: p.flag("e"), timestamps: p.flag("t") }));
        return 0;
      },
    },
    {
      name: "add",
      summary: "add keys derived from a password (stdin)",
      options: [
        { ...valued("p", "PRINCIPAL", "the principal"), required: true },
        { ...valued("e", "ENCTYPE", "an enctype (repeat for more)"), multiple: true },
        valued("V", "KVNO", "key version number (default 1)"),
        valued("s", "SALT", "salt (default REALM + name components)"),
        KEYTAB,
      ],
      async run(p, env) {
        const config = readKrb5Config(env.vars.KRB5_CONFIG);
        const princ = p.str("p");
        if (!princ) throw new UsageError("ktutil add: -p PRINCIPAL is required");
        const principal = parseName(princ, defaultRealm(config));
        const kvnoText = p.str("V") ?? "1";
        const kvno = Number(kvnoText);
        if (!Number.isInteger(kvno) || kvno < 0 || kvno > 0xffffffff)
          throw new UsageError(`ktutil add: -V ${kvnoText} is not a key version number`);
        const etypes = (
          (p.list("e").length > 0 ? p.list("e") : null) ?? [
            "aes256-cts-hmac-sha1-96",
            "aes128-cts-hmac-sha1-96",
          ]
        ).map(parseEnctype);
        const name = named(p.str("k"), () => defaultKeytabName(env, config));
        const kt = readKeytabOrEmpty(name);
        const password = await readPassword(`Password for ${formatPrincipal(principal)}: `);
        const salt = p.str("s") ?? defaultSalt(principal);
        const timestamp = Math.floor(Date.now() / 1000);
        for (const etype of etypes) {
          const keyvalue = getEnctype(etype).stringToKey(password, salt);
          kt.entries.push({ principal, timestamp, kvno, key: { keytype: etype, keyvalue } });
        }
        writeKeytabFile(name, kt);
        return 0;
      },
    },
    {
      name: "merge",
      summary: "append the entries of each KEYTAB to OUT",
      args: "KEYTAB...",
      options: [{ ...valued("k", "OUT", "the keytab written", true), required: true }],
      run(p) {
        const out = p.str("k");
        if (!out || p.positionals.length === 0)
          throw new UsageError("ktutil merge: -k OUT and at least one KEYTAB");
        const target = readKeytabOrEmpty(asFileName(out));
        for (const src of p.positionals) {
          for (const e of readKeytabFile(asFileName(src)).entries) {
            if (!target.entries.some((t) => sameEntry(t, e))) target.entries.push(e);
          }
        }
        writeKeytabFile(asFileName(out), target);
        return 0;
      },
    },
  ],
});

export const KERBEROS_COMMANDS: readonly Command[] = [
  kinitCommand,
  klistCommand,
  kvnoCommand,
  kdestroyCommand,
  ktutilCommand,
];
