/**
 * Joining an Active Directory domain (Windows AD, Samba AD) the way `adcli join` does, and
 * adopting a host that adcli, `realm join` or `net ads join` already joined.
 *
 * join --ad (an administrator's password):
 *   1. the DC: --dc (an address, or a name resolved through the domain's DNS), else the
 *      first of `_ldap._tcp.dc._msdcs.<domain>` (SRV); the domain's DNS is the --dns-server
 *      list (default: resolv.conf's nameservers); its fqdn from the SRV target, the name
 *      given or its rootDSE (read anonymously); the member keeps those DNS servers and the
 *      DCs' addresses (machine.json), asked in turn (resolver.ts);
 *   2. LDAP to it as the administrator (Kerberos TGT from the password, SASL GSSAPI, sealed);
 *   3. the account NAME$ (sAMAccountName): reused when it exists (its password reset, as
 *      adcli does), else added under --ou (default CN=Computers): objectClass computer,
 *      userAccountControl WORKSTATION_TRUST_ACCOUNT (4096), dNSHostName, SPNs host/NAME and
 *      host/FQDN, msDS-SupportedEncryptionTypes 24 (AES; without it AD issues RC4 tickets),
 *      and a random password as unicodePwd in the same sealed add: there is never an
 *      account without a password (a retry reuses it and resets the password);
 *   4. kvno (msDS-KeyVersionNumber), SIDs, then keys from the password with AD's machine
 *      salt (REALM + "host" + lower(name) + "." + lower(domain), aes256/aes128, 4096 rounds);
 *   5. the machine TGT from those keys, before anything is written: only then the keytab
 *      (0600) and machine.json (kind "ad"), then the TGT cached.
 * join --keytab FILE: NAME$ keys for REALM in FILE (default /etc/krb5.keytab), a TGT with
 *   them, the account's SID and dNSHostName read over LDAP as the machine itself; the NAME$
 *   keys are COPIED into <home>/agent/krb5.keytab (a later `adcli update` does not reach it).
 * leave (kind "ad"): local files removed; with --user/--password-file the account is first
 *   deleted over LDAP (or disabled with --disable), like `adcli delete-computer`.
 */
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import type { CliEnv } from "../cmdline/env.js";
import type { Parsed } from "../cmdline/grammar.js";
import { randomBytes } from "../crypto/primitives.js";
import { PosternError, UsageError } from "../errors.js";
import { getEnctype } from "../kerberos/crypto/index.js";
import { readKeytabFile } from "../kerberos/files/keytab.js";
import { sidFromBytes } from "../kerberos/pac/sid.js";
import {
  childDn,
  connectLdap,
  escapeFilterValue,
  firstText,
  type LdapConnection,
  type LdapCredentials,
  type LdapEntry,
  readRootDseAnonymously,
} from "../ldap/client.js";
import { locateDcs } from "./kdc-locator.js";
import type { KeytabWriter, MachineIdentity, MachineKeyEntry } from "./machine-keys.js";
import { machineCcachePath } from "./machine-keys.js";
import { machineTgt } from "./machine-tgt.js";
import { createDomainResolver, type DomainResolver } from "./resolver.js";
import type { SrvTarget } from "./srv.js";

export class AdJoinError extends PosternError {
  constructor(message: string) {
    super("ad.join", message, 1);
    this.name = "AdJoinError";
  }
}

/** userAccountControl bits (MS-ADTS 2.2.16). */
const UAC = { accountDisable: 0x2, workstationTrust: 0x1000 } as const;
/** msDS-SupportedEncryptionTypes: AES128 (8) | AES256 (16). */
const AES_ONLY = 24;
const AD_ETYPES = [18, 17] as const;
export const DEFAULT_ADOPT_KEYTAB = "/etc/krb5.keytab";

export interface AdDc {
  /** The address we connect to. */
  host: string;
  /** Its fqdn (the ldap/ and host/ SPNs). */
  name: string;
  /**
   * The domain's DNS servers the member keeps (machine.json): the ones asked at join, then
   * the DCs' addresses from `_ldap._tcp.dc._msdcs` (AD's DNS runs on its DCs).
   */
  dnsServers: string[];
}

/** The nameservers of resolv.conf (the host's DNS, which an AD member points at its DCs). */
function systemDnsServers(): string[] {
  let text: string;
  try {
    text = fs.readFileSync("/etc/resolv.conf", "utf8");
  } catch {
    return [];
  }
  return [...text.matchAll(/^\s*nameserver\s+(\S+)/gm)]
    .map((m) => m[1] as string)
    .filter((a) => net.isIP(a) !== 0);
}

/**
 * The DC to talk to and the DNS servers to keep (header, step 1). `dnsServers` are the
 * --dns-server values (default: resolv.conf's nameservers): they are asked for the DCs, and
 * for --dc NAME's address, as the member will ask them, not the host's resolver.
 */
export async function findDc(
  domain: string,
  dc?: string,
  dnsServers: string[] = [],
): Promise<AdDc> {
  for (const a of dnsServers)
    if (net.isIP(a) === 0) throw new UsageError(`join: --dns-server ${a} is not an IP address`);
  const asked = dnsServers.length > 0 ? dnsServers : systemDnsServers();
  const via = asked.join(", ");
  const resolver =
    asked.length === 0
      ? null
      : createDomainResolver({
          servers: asked.map((host) => ({ host, port: 53 })),
          timeoutMs: 1500,
        });
  const srv = `_ldap._tcp.dc._msdcs.${domain}`;
  let dcs: SrvTarget[] = [];
  let srvError: string | undefined;
  try {
    if (resolver !== null) dcs = await locateDcs(resolver, domain);
  } catch (e) {
    srvError = (e as Error).message;
  }
  const keep = (first: string) => [
    ...new Set([...asked, ...dcs.flatMap((t) => t.addresses), ...(asked.length ? [] : [first])]),
  ];
  if (dc) {
    const host = net.isIP(dc) !== 0 ? dc : await addressOfDc(resolver, dc, domain, via);
    if (net.isIP(dc) === 0) return { host, name: qualified(dc, domain), dnsServers: keep(host) };
    let root: LdapEntry;
    try {
      root = await readRootDseAnonymously(dc);
    } catch (e) {
      throw new AdJoinError(`the DC ${dc} does not answer LDAP: ${(e as Error).message}`);
    }
    const name = firstText(root, "dnsHostName");
    if (!name)
      throw new AdJoinError(`the LDAP server at ${dc} names no dnsHostName: not an AD DC?`);
    return { host: dc, name: name.toLowerCase(), dnsServers: keep(dc) };
  }
  if (resolver === null)
    throw new AdJoinError(`no DNS server to find ${domain}'s DCs: give --dc or --dns-server`);
  if (srvError !== undefined)
    throw new AdJoinError(`cannot find a DC of ${domain} (${srv} via ${via}): ${srvError}`);
  const first = dcs.find((t) => t.addresses.length > 0);
  if (!first)
    throw new AdJoinError(
      `no DC of ${domain} in DNS (${srv} via ${via} has no record with an address)`,
    );
  const host = first.addresses[0] as string;
  return { host, name: first.target.replace(/\.$/, "").toLowerCase(), dnsServers: keep(host) };
}

/** NAME, or NAME.<domain> for a name without a dot (Windows appends its DNS suffix). */
function qualified(name: string, domain: string): string {
  const n = name.toLowerCase().replace(/\.$/, "");
  return n.includes(".") ? n : `${n}.${domain}`;
}

/** --dc NAME's address from the domain's DNS (the servers the member will keep). */
async function addressOfDc(
  resolver: DomainResolver | null,
  dc: string,
  domain: string,
  via: string,
): Promise<string> {
  const name = qualified(dc, domain);
  if (resolver === null)
    throw new AdJoinError(
      `cannot resolve the DC ${name}: no DNS server for ${domain} (give --dns-server or --dc ADDRESS)`,
    );
  let found: string[];
  try {
    found = await resolver.lookupA(name);
  } catch (e) {
    throw new AdJoinError(`cannot resolve the DC ${name} via ${via}: ${(e as Error).message}`);
  }
  if (found.length === 0)
    throw new AdJoinError(`the DC ${name} has no address in ${domain}'s DNS (asked ${via})`);
  return found[0] as string;
}

/** A machine password of 120 characters from a 64-symbol alphabet, with every class AD counts. */
function randomMachinePassword(): string {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  const bytes = randomBytes(116);
  return `${Array.from(bytes, (b) => alphabet[b & 63]).join("")}Aa1-`;
}

/** AD's salt for a computer account (interop notes): REALM host lower(name).lower(domain). */
export function machineSalt(realm: string, name: string, domain: string): string {
  return `${realm}host${name.toLowerCase()}.${domain.toLowerCase()}`;
}

export function machineKeys(password: string, salt: string, kvno: number): MachineKeyEntry[] {
  return AD_ETYPES.map((etype) => ({
    etype,
    kvno,
    key: getEnctype(etype).stringToKey(password, salt),
  }));
}

const sidOf = (e: LdapEntry | undefined, what: string): string => {
  const v = e?.attributes.get("objectsid")?.[0];
  if (!v) throw new AdJoinError(`${what} has no objectSid`);
  return sidFromBytes(v).sid;
};

function readPasswordFile(file: string, cwd: string): string {
  let text: string;
  try {
    text = fs.readFileSync(path.resolve(cwd, file), "utf8");
  } catch (e) {
    throw new UsageError(
      `join: --password-file ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
    );
  }
  const pw = text.replace(/\r?\n$/, "");
  if (!pw) throw new UsageError(`join: --password-file ${file} is empty`);
  return pw;
}

/** Kerberos' default allowed clock skew (RFC 4120 §1.7, AD's "Maximum tolerance"): 5 min. */
const MAX_CLOCK_SKEW_MS = 300_000;

export interface AdJoinInput {
  domain: string;
  realm: string;
  name: string;
  dc: AdDc;
  credentials: LdapCredentials;
  ou?: string;
}

/** Creates or resets NAME$ over LDAP (header, steps 2-4); returns the identity to write. */
export async function enrollComputer(o: AdJoinInput): Promise<MachineIdentity> {
  const ldap = await connectLdap({
    host: o.dc.host,
    dcName: o.dc.name,
    credentials: o.credentials,
  });
  try {
    // Our Kerberos client corrects a skewed clock (as MIT's kdc_timesync), but the machine
    // could not live with it: its peers check our authenticators against their own clocks.
    // So a join refuses before it writes anything, as adcli and Windows fail.
    if (Math.abs(ldap.clockOffsetMs) > MAX_CLOCK_SKEW_MS)
      throw new AdJoinError(
        `this host's clock is ${Math.round(ldap.clockOffsetMs / 1000)} s off the DC's (Kerberos allows ${MAX_CLOCK_SKEW_MS / 1000} s): set the time (e.g. chronyc makestep, or ntpdate ${o.dc.host}) and join again`,
      );
    const root = await ldap.rootDse();
    const base = firstText(root, "defaultNamingContext");
    if (!base) throw new AdJoinError(`the DC ${o.dc.name} names no defaultNamingContext`);
    const sam = `${o.name.toUpperCase()}$`;
    const fqdn = `${o.name.toLowerCase()}.${o.domain}`;
    const password = randomMachinePassword();
    const unicodePwd = Buffer.from(`"${password}"`, "utf16le");
    const attrs = {
      userAccountControl: [String(UAC.workstationTrust)],
      dNSHostName: [fqdn],
      servicePrincipalName: [`host/${o.name.toUpperCase()}`, `host/${fqdn}`],
      "msDS-SupportedEncryptionTypes": [String(AES_ONLY)],
    };
    const existing = await findAccount(ldap, base, sam);
    let dn: string;
    if (existing) {
      dn = existing.dn;
      await ldap.modify(dn, [
        ...Object.entries(attrs).map(([type, values]) => ({
          op: "replace" as const,
          type,
          values,
        })),
        { op: "replace", type: "unicodePwd", values: [unicodePwd] },
      ]);
    } else {
      dn = childDn("CN", o.name.toUpperCase(), o.ou ?? `CN=Computers,${base}`);
      await ldap.add(dn, {
        objectClass: ["computer"],
        sAMAccountName: [sam],
        ...attrs,
        unicodePwd: [unicodePwd],
      });
    }
    const [account] = await ldap.search({
      base: dn,
      scope: "base",
      filter: "(objectClass=computer)",
      attributes: ["objectSid", "msDS-KeyVersionNumber", "dNSHostName"],
    });
    const [domainObj] = await ldap.search({
      base,
      scope: "base",
      filter: "(objectClass=*)",
      attributes: ["objectSid"],
    });
    const kvno = Number(firstText(account!, "msDS-KeyVersionNumber") ?? "1");
    return {
      kind: "ad",
      domain: o.domain,
      realm: o.realm,
      domainSid: sidOf(domainObj, base),
      sam,
      sid: sidOf(account, dn),
      dnsHostName: fqdn,
      principals: [sam, `host/${o.name.toUpperCase()}`, `host/${fqdn}`],
      dc: { host: o.dc.host, kdcPort: 88, hostName: o.dc.name, dnsServers: o.dc.dnsServers },
      keys: machineKeys(password, machineSalt(o.realm, o.name, o.domain), kvno),
    };
  } finally {
    await ldap.close();
  }
}

async function findAccount(
  ldap: LdapConnection,
  base: string,
  sam: string,
): Promise<LdapEntry | undefined> {
  const [e] = await ldap.search({
    base,
    scope: "sub",
    filter: `(&(objectClass=computer)(sAMAccountName=${escapeFilterValue(sam)}))`,
    attributes: ["userAccountControl", "objectSid", "dNSHostName"],
  });
  return e;
}

/** Writes the identity only after its keys got a TGT (header, step 5). */
async function commit(env: CliEnv, id: MachineIdentity, writer: KeytabWriter): Promise<string> {
  const file = writer.write(env.home, id);
  try {
    await machineTgt(env.home, id, true);
  } catch (e) {
    writer.remove(env.home);
    throw new AdJoinError(
      `the new keys of ${id.sam} get no TGT from ${id.dc.hostName}: ${(e as Error).message}; nothing written, run join again`,
    );
  }
  return file;
}

function thisHostName(given: string | undefined): string {
  const name = (given ?? os.hostname().split(".")[0] ?? "").replace(/\$$/, "");
  if (!/^[A-Za-z0-9][A-Za-z0-9-]{0,14}$/.test(name))
    throw new UsageError(
      `join: computer name ${JSON.stringify(name)}: 1-15 letters, digits or '-' (give --name)`,
    );
  return name;
}

function report(env: CliEnv, id: MachineIdentity, file: string, how: string): void {
  const kvno = id.keys[0]?.kvno;
  if (env.json)
    env.out(
      JSON.stringify(
        {
          domain: id.domain,
          kind: "ad",
          sam: id.sam,
          sid: id.sid,
          kvno,
          dc: id.dc.hostName,
          file,
          ccache: machineCcachePath(env.home),
          how,
        },
        null,
        2,
      ),
    );
  else
    env.out(
      `joined ${id.domain} (Active Directory, DC ${id.dc.hostName}) as ${id.sam} (${id.sid}), kvno ${kvno}, ${how}; keytab ${file} (mode 0600); machine TGT in ${machineCcachePath(env.home)}`,
    );
}

/** `postern join --ad ...` and `postern join --keytab FILE ...`. */
export async function joinAd(env: CliEnv, p: Parsed, writer: KeytabWriter): Promise<number> {
  const domain = p.str("domain")?.toLowerCase().replace(/\.$/, "");
  if (!domain) throw new UsageError("join: --domain is required");
  const realm = domain.toUpperCase();
  const existing = writer.read(env.home);
  if (existing)
    throw new AdJoinError(
      `this host is already joined to ${existing.domain} as ${existing.sam}; run 'postern leave' first`,
    );
  const keytabFile = p.str("keytab");
  const user = p.str("user");
  const pwFile = p.str("password-file");
  // --keytab FILE, or --ad with no administrator: adopt (default /etc/krb5.keytab)
  if (keytabFile !== undefined || (!user && !pwFile)) return adoptKeytab(env, p, domain, writer);
  if (!user || !pwFile) throw new UsageError("join --ad: --user and --password-file go together");
  const password = readPasswordFile(pwFile, env.cwd);
  const name = thisHostName(p.str("name"));
  const dc = await findDc(domain, p.str("dc"), p.list("dns-server"));
  const id = await enrollComputer({
    domain,
    realm,
    name,
    dc,
    credentials: {
      kind: "password",
      principal: user.includes("@") ? user : `${user}@${realm}`,
      password,
    },
    ...(p.str("ou") ? { ou: p.str("ou") as string } : {}),
  });
  const file = await commit(env, id, writer);
  report(env, id, file, "account set by LDAP (sealed)");
  return 0;
}

/** `join --keytab FILE --domain D`: adopt an existing join (header). */
async function adoptKeytab(env: CliEnv, p: Parsed, domain: string, writer: KeytabWriter) {
  const realm = domain.toUpperCase();
  const file = path.resolve(env.cwd, p.str("keytab") ?? DEFAULT_ADOPT_KEYTAB);
  let kt: ReturnType<typeof readKeytabFile>;
  try {
    kt = readKeytabFile(`FILE:${file}`);
  } catch (e) {
    throw new AdJoinError(`join --keytab ${file}: ${(e as Error).message}`);
  }
  const machines = kt.entries.filter(
    (e) =>
      e.principal.realm.toUpperCase() === realm &&
      e.principal.name.nameString.length === 1 &&
      e.principal.name.nameString[0]!.endsWith("$"),
  );
  const sams = [...new Set(machines.map((e) => e.principal.name.nameString[0]!.toUpperCase()))];
  if (sams.length === 0)
    throw new AdJoinError(`the keytab ${file} holds no NAME$@${realm} key (is it this domain's?)`);
  const name = thisHostName(p.str("name"));
  const sam = `${name.toUpperCase()}$`;
  if (!sams.includes(sam))
    throw new AdJoinError(
      `the keytab ${file} holds keys of ${sams.join(", ")}, not of this host (${sam}): give --name if the account has another name`,
    );
  const mine = machines.filter((e) => e.principal.name.nameString[0]!.toUpperCase() === sam);
  const keys = mine
    .filter((e) => getEnctypeOrNull(e.key.keytype))
    .map((e) => ({ etype: e.key.keytype, kvno: e.kvno, key: e.key.keyvalue }));
  if (keys.length === 0)
    throw new AdJoinError(
      `the keytab ${file} holds only RC4/DES keys for ${sam}: AES (17, 18) needed`,
    );
  const dc = await findDc(domain, p.str("dc"), p.list("dns-server"));
  const principal = mine[0]!.principal;
  const ldap = await connectLdap({
    host: dc.host,
    dcName: dc.name,
    credentials: {
      kind: "keytab",
      principal: `${principal.name.nameString[0]}@${realm}`,
      keytab: file,
    },
  }).catch((e: Error) => {
    throw new AdJoinError(`the keytab's ${sam} keys are refused by ${dc.name}: ${e.message}`);
  });
  let id: MachineIdentity;
  try {
    const base = firstText(await ldap.rootDse(), "defaultNamingContext") ?? "";
    const account = await findAccount(ldap, base, sam);
    if (!account) throw new AdJoinError(`${sam} is not in ${domain}'s directory`);
    const [domainObj] = await ldap.search({
      base,
      scope: "base",
      filter: "(objectClass=*)",
      attributes: ["objectSid"],
    });
    const fqdn = firstText(account, "dNSHostName") ?? `${name.toLowerCase()}.${domain}`;
    id = {
      kind: "ad",
      domain,
      realm,
      domainSid: sidOf(domainObj, base),
      sam,
      sid: sidOf(account, account.dn),
      dnsHostName: fqdn,
      principals: [sam, `host/${name.toUpperCase()}`, `host/${fqdn}`],
      dc: { host: dc.host, kdcPort: 88, hostName: dc.name, dnsServers: dc.dnsServers },
      keys,
    };
  } finally {
    await ldap.close();
  }
  const written = await commit(env, id, writer);
  report(env, id, written, `keys copied from ${file}`);
  return 0;
}

function getEnctypeOrNull(etype: number): boolean {
  return etype === 17 || etype === 18 || etype === 19 || etype === 20;
}

/** `postern leave` for an AD member (header). */
export async function leaveAd(
  env: CliEnv,
  p: Parsed,
  id: MachineIdentity,
  writer: KeytabWriter,
): Promise<string> {
  const user = p.str("user");
  const pwFile = p.str("password-file");
  if (!user && !pwFile) {
    writer.remove(env.home);
    return `left ${id.domain} on this host; ${id.sam} is still in the directory (remove it with --user/--password-file, or adcli delete-computer)`;
  }
  if (!user || !pwFile) throw new UsageError("leave: --user and --password-file go together");
  const password = readPasswordFile(pwFile, env.cwd);
  const dc = id.dc.hostName
    ? { host: id.dc.host, name: id.dc.hostName }
    : await findDc(id.domain, id.dc.host, id.dc.dnsServers);
  const ldap = await connectLdap({
    host: dc.host,
    dcName: dc.name,
    credentials: {
      kind: "password",
      principal: user.includes("@") ? user : `${user}@${id.realm}`,
      password,
    },
  });
  let done: string;
  try {
    const base = firstText(await ldap.rootDse(), "defaultNamingContext") ?? "";
    const account = await findAccount(ldap, base, id.sam);
    if (!account) done = `${id.sam} was already gone from the directory`;
    else if (p.flag("disable")) {
      const uac = Number(firstText(account, "userAccountControl") ?? UAC.workstationTrust);
      await ldap.modify(account.dn, [
        { op: "replace", type: "userAccountControl", values: [String(uac | UAC.accountDisable)] },
      ]);
      done = `${id.sam} disabled in the directory`;
    } else {
      await ldap.delete(account.dn);
      done = `${id.sam} deleted from the directory`;
    }
  } finally {
    await ldap.close();
  }
  writer.remove(env.home);
  return `left ${id.domain}; ${done}; keytab and ticket cache removed`;
}
