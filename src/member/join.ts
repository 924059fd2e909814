/**
 * `postern join`, `postern leave`, `postern gpupdate`: the member's side of the domain.
 * join:  1. POST /v1/join {name, token, address?} to the DC's API over TLS, to the
 *           certificate pinned by --dc-fingerprint or by the token (pjt1.<id>.<secret>.<fp>);
 *           only `pjt1.<id>.<secret>` is sent, and only once the pin matched;
 *        2. check the answer is for the domain asked for;
 *        3. write the MIT keytab <home>/agent/krb5.keytab (0600) and machine.json through
 *           the KeytabWriter seam;
 *        4. get the machine's TGT from the DC's KDC into <home>/agent/krb5cc (a failure is
 *           a warning: gpupdate tries again).
 *        The DC registered the host's A record (the given --address, else the address the
 *        request came from).
 * leave: POST /v1/leave (Negotiate, else the join credential): account disabled, DNS
 *        records removed; then keytab, machine.json and cache are removed. --local-only
 *        skips the DC.
 * gpupdate: GET /v1/policy with the version held, authenticated with Negotiate (RFC 4559)
 *        from the machine's TGT, falling back to the join credential only when no ticket
 *        can be had; writes <home>/agent/domain-policy.json when the DC sends a new one.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { requestControl } from "../control/socket.js";
import type { CliEnv } from "../cmdline/env.js";
import {
  asParsed,
  type CommandSpec,
  defineCommand,
  type Parsed,
  windowsSwitches,
} from "../cmdline/grammar.js";
import { DirectoryError } from "../dc/errors.js";
import { DEFAULT_API_PORT } from "../dc/paths.js";
import { UsageError } from "../errors.js";
import { atomicWriteFile } from "../platform/home.js";
import { adGpupdate } from "./ad-gpupdate.js";
import { saveDomainAssigned } from "../policy/effective.js";
import { type FetchedPolicy, applyFetchedPolicy } from "./apply-policy.js";
import {
  equalFingerprints,
  formatFingerprint,
  parseFingerprint,
  requestBinding,
  splitJoinToken,
} from "../dc/api/channel.js";
import { DEFAULT_ADOPT_KEYTAB, joinAd, leaveAd } from "./ad-join.js";
import { apiError, apiRequest, parseDcAddress, requestBody } from "./api-client.js";
import type { ApiResponse } from "./api-client.js";
import {
  credentialOf,
  dcApiTarget,
  type KeytabWriter,
  keytabWriter,
  type MachineIdentity,
  machineCcachePath,
} from "./machine-keys.js";
import { DEFAULT_DNS_PORT, machineTgt, negotiateHeader } from "./machine-tgt.js";

interface JoinAnswer {
  computer: { sam: string; sid: string; dnsHostName: string; spns: string[]; kvno: number };
  realm: string;
  domain: string;
  domainSid: string;
  dcHostName?: string;
  kdc?: { port: number };
  /** The DC's DNS server port (absent from older DCs: 53). */
  dns?: { port: number };
  keys: { etype: number; kvno: number; key: string }[];
}

const JOIN: CommandSpec = {
  name: "join",
  summary: "join this host to a postern domain with a one-time token",
  options: [
    { name: "domain", type: "string", value: "DNSNAME", help: "the domain's DNS name" },
    { name: "dc", type: "string", value: "ADDRESS[:PORT]", help: "the DC's API address" },
    { name: "name", type: "string", value: "NAME", help: "this computer's account name" },
    { name: "token", type: "string", value: "TOKEN", help: "the one-time join token" },
    {
      name: "dc-fingerprint",
      type: "string",
      value: "SHA256",
      help: "the DC certificate's fingerprint (printed by dc init; also in a full token)",
    },
    {
      name: "address",
      type: "string",
      value: "IP",
      help: "register this address (default: the request's)",
    },
    { name: "ad", type: "boolean", help: "join an Active Directory domain (Windows or Samba AD)" },
    {
      name: "user",
      type: "string",
      value: "USER",
      help: "AD: an account allowed to join computers",
    },
    {
      name: "password-file",
      type: "string",
      value: "FILE",
      help: "AD: a file holding that account's password (never on the command line)",
    },
    {
      name: "ou",
      type: "string",
      value: "DN",
      help: "AD: where to create the account (default CN=Computers)",
    },
    {
      name: "keytab",
      type: "string",
      value: "FILE",
      help: `AD: adopt a join made by adcli, realm or net ads (default ${DEFAULT_ADOPT_KEYTAB})`,
    },
    {
      name: "dns-server",
      type: "string",
      value: "IP",
      multiple: true,
      help: "AD: the domain's DNS, repeated: asked in order (default: resolv.conf's nameservers)",
    },
  ],
};
const LEAVE: CommandSpec = {
  name: "leave",
  summary: "leave the domain: account disabled on the DC, machine keys removed",
  options: [
    {
      name: "local-only",
      type: "boolean",
      help: "remove the local keys without contacting the DC",
    },
    { name: "user", type: "string", value: "USER", help: "AD: delete the account as this user" },
    { name: "password-file", type: "string", value: "FILE", help: "AD: that user's password" },
    { name: "disable", type: "boolean", help: "AD: disable the account instead of deleting it" },
  ],
};
const GPUPDATE: CommandSpec = {
  name: "gpupdate",
  summary: "fetch this member's effective domain policy from the DC",
  options: [
    { name: "force", type: "boolean", help: "fetch even when the version held is current" },
  ],
  // Windows' spelling, as an administrator types it: /force, /target:computer (the only
  // policy postern has; /target:user is refused with that reason).
  preparse: windowsSwitches("gpupdate", {
    "/force": ["--force"],
    "/target:computer": [],
    "/target:user": {
      refuse:
        "gpupdate /target:user: postern has no user policy, only computer policy (/target:computer, the default)",
    },
  }),
};

/** The DC certificate to pin: --dc-fingerprint, the token's, both (they must agree). */
function pinOf(given: string | undefined, fromToken: Uint8Array | undefined): Uint8Array {
  const flag = given === undefined ? undefined : parseFingerprint(given);
  if (flag === null)
    throw new UsageError(
      `join: --dc-fingerprint ${given}: expected the SHA-256 that 'dc init' printed (32 hex pairs)`,
    );
  if (flag && fromToken && !equalFingerprints(flag, fromToken))
    throw new UsageError(
      `join: --dc-fingerprint ${formatFingerprint(flag)} differs from the token's ${formatFingerprint(fromToken)}`,
    );
  const pin = flag ?? fromToken;
  if (!pin)
    throw new UsageError(
      "join: the DC's certificate is unknown: give --dc-fingerprint (printed by 'postern dc init') or the full token (pjt1.<id>.<secret>.<fingerprint>)",
    );
  return pin;
}

export async function joinDomain(
  env: CliEnv,
  argv: readonly string[] | Parsed,
  writer: KeytabWriter = keytabWriter,
): Promise<number> {
  const p = asParsed(JOIN, argv);
  if (p.flag("ad") || p.str("keytab") !== undefined) return joinAd(env, p, writer);
  const [domain, dc, name, given] = ["domain", "dc", "name", "token"].map((k) => p.str(k));
  if (!domain || !dc || !name) throw new UsageError("join: --domain, --dc and --name are required");
  if (!given)
    throw new UsageError(
      "join: --token TOKEN is required (joining with an administrator credential needs Kerberos, not yet available)",
    );
  const { token, fingerprint: tokenPin } = splitJoinToken(given);
  const pin = pinOf(p.str("dc-fingerprint"), tokenPin);
  const existing = writer.read(env.home);
  if (existing)
    throw new DirectoryError(
      "dc.already-initialized",
      `this host is already joined to ${existing.domain} as ${existing.sam}; run 'postern leave' first`,
    );
  const target = { ...parseDcAddress(dc, DEFAULT_API_PORT), fingerprint: pin };
  const r = await apiRequest(target, "POST", "/v1/join", {
    name,
    token,
    address: p.str("address"),
  });
  if (r.status !== 200) throw apiError("join refused", r);
  const a = r.body as unknown as JoinAnswer;
  if (a.domain.toLowerCase() !== domain.toLowerCase().replace(/\.$/, "")) {
    throw new DirectoryError("dc.auth", `the DC at ${dc} serves ${a.domain}, not ${domain}`);
  }
  const id: MachineIdentity = {
    domain: a.domain,
    realm: a.realm,
    domainSid: a.domainSid,
    sam: a.computer.sam,
    sid: a.computer.sid,
    dnsHostName: a.computer.dnsHostName,
    principals: [a.computer.sam, ...a.computer.spns],
    dc: {
      host: target.host,
      apiPort: target.port,
      ...(a.kdc ? { kdcPort: a.kdc.port } : {}),
      ...(a.dns && a.dns.port !== DEFAULT_DNS_PORT ? { dnsPort: a.dns.port } : {}),
      ...(a.dcHostName ? { hostName: a.dcHostName } : {}),
      fingerprint: formatFingerprint(pin),
    },
    keys: a.keys.map((k) => ({
      etype: k.etype,
      kvno: k.kvno,
      key: new Uint8Array(Buffer.from(k.key, "base64")),
    })),
  };
  const file = writer.write(env.home, id);
  let tgt: string | null = null;
  try {
    await machineTgt(env.home, id, true);
    tgt = machineCcachePath(env.home);
  } catch (e) {
    env.err(`warning: joined, but no machine TGT yet: ${(e as Error).message}`);
  }
  if (env.json)
    env.out(
      JSON.stringify(
        { domain: id.domain, sam: id.sam, sid: id.sid, kvno: a.computer.kvno, file, ccache: tgt },
        null,
        2,
      ),
    );
  else
    env.out(
      `joined ${id.domain} as ${id.sam} (${id.sid}), kvno ${a.computer.kvno}; keytab ${file} (mode 0600)${tgt ? `; machine TGT in ${tgt}` : ""}`,
    );
  return 0;
}

export async function leaveDomain(
  env: CliEnv,
  argv: readonly string[] | Parsed,
  writer: KeytabWriter = keytabWriter,
): Promise<number> {
  const p = asParsed(LEAVE, argv);
  const id = writer.read(env.home);
  if (!id) throw new DirectoryError("dc.not-found", "this host is not joined to a domain");
  if (id.kind === "ad") {
    let said: string;
    if (p.flag("local-only")) {
      writer.remove(env.home);
      said = `left ${id.domain} on this host only`;
    } else said = await leaveAd(env, p, id, writer);
    fs.rmSync(domainPolicyPath(env.home), { force: true });
    saveDomainAssigned(env.home, null);
    env.out(
      env.json ? JSON.stringify({ left: id.domain, sam: id.sam, kind: "ad", note: said }) : said,
    );
    return 0;
  }
  if (!p.flag("local-only")) {
    const { r } = await machineRequest(env, id, "POST", "/v1/leave", {});
    if (r.status !== 200) throw apiError("leave refused by the DC", r);
  }
  writer.remove(env.home);
  fs.rmSync(domainPolicyPath(env.home), { force: true });
  saveDomainAssigned(env.home, null);
  const local = p.flag("local-only");
  env.out(
    env.json
      ? JSON.stringify({ left: id.domain, sam: id.sam, dcTold: !local })
      : local
        ? `left ${id.domain} on this host only; keytab and ticket cache removed. ${id.sam} is still enabled on the DC: disable it there (postern domain computer delete ${id.sam.replace(/\$$/, "")})`
        : `left ${id.domain}; ${id.sam} disabled on the DC, keytab and ticket cache removed`,
  );
  return 0;
}

/**
 * One API request as this machine: Negotiate from the machine's TGT (the DC's AP-REP is
 * checked), else, when no ticket can be had, the join credential (with a note).
 */
export async function machineRequest(
  env: CliEnv,
  id: MachineIdentity,
  method: string,
  path: string,
  body: unknown,
  headers: Record<string, string> = {},
  signal?: AbortSignal,
): Promise<{ r: ApiResponse; via: "negotiate" | "join-credential" }> {
  const target = dcApiTarget(id);
  const bnd = requestBinding(target.fingerprint, method, path, requestBody(body));
  let ctx: Awaited<ReturnType<typeof negotiateHeader>> | undefined;
  try {
    ctx = await negotiateHeader(env.home, id, undefined, bnd);
  } catch (e) {
    env.err(
      `note: no Kerberos ticket for the DC (${(e as Error).message}); using the join credential`,
    );
  }
  if (!ctx) {
    const r = await apiRequest(
      target,
      method,
      path,
      body,
      credentialOf(id),
      headers,
      undefined,
      signal,
    );
    return { r, via: "join-credential" };
  }
  const r = await apiRequest(
    target,
    method,
    path,
    body,
    undefined,
    { ...headers, authorization: ctx.header },
    undefined,
    signal,
  );
  if (r.status < 400) ctx.verifyMutual(r.wwwAuthenticate);
  return { r, via: "negotiate" };
}

export const domainPolicyPath = (home: string) => path.join(home, "agent", "domain-policy.json");

export async function gpupdate(
  env: CliEnv,
  argv: readonly string[] | Parsed,
  writer: KeytabWriter = keytabWriter,
  notifyAgent = true,
): Promise<number> {
  const p = asParsed(GPUPDATE, argv);
  const id = writer.read(env.home);
  if (!id) throw new DirectoryError("dc.not-found", "this host is not joined to a domain");
  if (id.kind === "ad") {
    // Active Directory: the GPOs themselves, read as the machine (ad-gpupdate.ts)
    const { changed } = await adGpupdate(env, id, p.flag("force"));
    if (changed && notifyAgent) await tellAgent(env);
    return 0;
  }
  let held: number | undefined;
  try {
    held = (JSON.parse(fs.readFileSync(domainPolicyPath(env.home), "utf8")) as { version: number })
      .version;
  } catch {
    held = undefined;
  }
  const headers: Record<string, string> =
    held !== undefined && !p.flag("force") ? { "if-none-match": `"${held}"` } : {};
  const { r, via } = await machineRequest(env, id, "GET", "/v1/policy", undefined, headers);
  if (r.status === 304) {
    env.out(
      env.json
        ? JSON.stringify({ version: held, changed: false, auth: via })
        : `policy unchanged (version ${held})`,
    );
    return 0;
  }
  if (r.status !== 200) throw apiError("policy refused by the DC", r);
  const done = await applyFetchedPolicy(env, id.domain, r.body as unknown as FetchedPolicy);
  atomicWriteFile(domainPolicyPath(env.home), `${JSON.stringify(r.body, null, 2)}\n`, 0o600);
  const applied = (r.body.applied as { name: string }[]).map((a) => a.name);
  for (const n of done.notes) env.err(`note: ${n}`);
  env.out(
    env.json
      ? JSON.stringify({
          version: r.body.version,
          changed: true,
          auth: via,
          applied,
          ipsec: done.ipsec,
          firewall: done.firewall,
        })
      : `policy version ${String(r.body.version)} from ${applied.length ? applied.join(", ") : "no policy object"}; written to ${domainPolicyPath(env.home)}; IPsec: ${done.ipsec ? `policy of GPO ${done.ipsec} (overrides the local store)` : "local store"}; firewall: ${done.firewall}`,
  );
  if (notifyAgent) await tellAgent(env);
  return 0;
}

/** A running agent applies the new policy at once (no restart); none running: nothing to do. */
async function tellAgent(env: CliEnv): Promise<void> {
  const sock = path.join(env.home, "agent", "agent.sock");
  if (!fs.existsSync(sock)) return;
  try {
    const r = await requestControl(sock, "reload", 15_000);
    if (!env.json)
      env.out(
        r.reloaded
          ? `agent: now running policy "${r.policy}"`
          : `agent: kept policy "${r.policy}" (nothing assigned)`,
      );
  } catch (e) {
    env.err(`note: the agent was not told: ${(e as Error).message}`);
  }
}

export const joinCommand = defineCommand({
  ...JOIN,
  help: `postern join - join this host to the domain

SYNOPSIS
  postern join --domain DNSNAME --dc ADDRESS[:PORT] --name NAME --token TOKEN
               [--dc-fingerprint SHA256] [--address IP]
  postern join --ad --domain DNSNAME [--dc HOST] [--ou DN] [--name NAME]
               --user USER --password-file FILE [--dns-server IP]...
  postern join --keytab FILE --domain DNSNAME [--dc HOST] [--name NAME] [--dns-server IP]...
  postern join --ad --domain DNSNAME [--dc HOST] [--name NAME]    (adopts /etc/krb5.keytab)

Active Directory (Windows AD, Samba AD; see docs/active-directory.md): --ad finds a DC through
_ldap._tcp.dc._msdcs.DNSNAME (or --dc), binds to its LDAP with Kerberos as USER (SASL GSSAPI,
sealed: the password never crosses the wire), creates or reuses the computer account NAME$
(default: this host's name) as adcli does (dNSHostName, SPNs host/NAME and host/FQDN, AES
only), sets a random machine password over that sealed connection, derives the keys and
writes them to <home>/agent/krb5.keytab with machine.json (kind "ad"), after a machine TGT
proved them. The domain's DNS is --dns-server (repeat it to name several; default: the
nameservers of /etc/resolv.conf): the SRV records and --dc NAME are asked of it, not of the
host's resolver, and machine.json keeps those servers and the DCs' addresses found, which
the agent asks in turn (the next when one is silent) for KDCs and peers' names. --keytab FILE (--ad without --user: /etc/krb5.keytab) adopts a host already
joined by adcli, realm or net ads: the keytab's NAME$ keys must get a TGT; they are copied
(not linked) into <home>/agent/krb5.keytab.

postern's own domain:

The token comes from 'postern domain computer add NAME --join-token' on the DC; it ends
with the SHA-256 fingerprint of the DC's API certificate, so the join talks TLS only to
that certificate and sends the token's secret only once it matched (with a token without
it, give --dc-fingerprint as 'postern dc init' printed it). The fingerprint is kept in
<home>/agent/machine.json for every later request to the DC (gpupdate, leave). The DC
claims the account (new random keys), registers NAME.DOMAIN -> ADDRESS (default: the
address the request comes from) and returns the keys, written as an MIT keytab to
<home>/agent/krb5.keytab (mode 0600; NAME$, host/NAME, host/fqdn). The machine's TGT is
then fetched from the DC's KDC into <home>/agent/krb5cc ('postern klist -c' shows it).
`,
  run: (p, env) => joinDomain(env, p),
});

export const leaveCommand = defineCommand({
  ...LEAVE,
  help: "postern leave [--local-only]\npostern leave [--user USER --password-file FILE [--disable]]   (Active Directory member)\n\nDisables this host's account on the DC, removes its DNS records and deletes the keytab and ticket cache.\n--local-only removes the local keys without contacting the DC.\nAn Active Directory member removes its keytab, machine.json and ticket cache; with --user and\n--password-file it first deletes its computer account over sealed LDAP (--disable: disables it), like\nadcli delete-computer.\n",
  run: (p, env) => leaveDomain(env, p),
});

export const gpupdateCommand = defineCommand({
  ...GPUPDATE,
  help: "postern gpupdate [--force]\n\nWindows' spelling is taken too: /force, /target:computer (the default; postern has no user\npolicy, so /target:user is refused).\n\nAsks the DC for the effective policy (sending the version held, so an unchanged policy is not re-sent)\nand writes it to <home>/agent/domain-policy.json. Authentication: Kerberos Negotiate with the machine's TGT;\nonly when no ticket can be had, the join credential (a note says so). The IPsec policy a GPO assigns becomes the host's effective\nstore (it overrides the local one: postern ipsec explain uses it); the firewall settings replace the host's\nand are loaded when root and POSTERN_NETNS is set or the home is the host's own.\n\nOn an Active Directory member (postern join --ad) it reads the GPOs themselves, as the machine\n(see postern gpresult for which apply): the IPsec policy assigned by the last applied GPO that\nassigns one, and each applied GPO's Machine\\Registry.pol firewall settings from SYSVOL over SMB\nmerged over the local settings (the last GPO to set a value wins; what none sets stays local).\nA result identical to the last one applied is not applied again unless --force (/force).\n",
  run: (p, env) => gpupdate(env, p),
});
