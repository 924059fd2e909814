/**
 * Members of a Samba AD domain for the lab, made the way an AD administrator pre-stages a
 * computer (no `postern join`: the lab's hosts get what `adcli preset-computer` + a keytab
 * handed to the host would give them):
 *   prestage   `samba-tool computer create NAME`, a random password, enabled, SPNs
 *              host/NAME and host/fqdn, msDS-SupportedEncryptionTypes = 24 (AES: without
 *              it Samba issues RC4 service tickets, which postern does not do), then
 *              `samba-tool domain exportkeytab` of NAME$ (etypes 18, 17, 23);
 *   install    the member's <home>/agent/: machine.json with `kind: "ad"` (no API port:
 *              the agent asks no postern API; the DCs as its DNS servers) and the keytab
 *              through keytabWriter, every exported key under NAME$, host/NAME and
 *              host/fqdn so the agent accepts tickets for any of them.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { spawnSync } from "node:child_process";
import { readKeytabFile } from "../kerberos/files/keytab.js";
import { keytabWriter, type MachineIdentity } from "../member/machine-keys.js";
import { PosternError } from "../errors.js";
import type { SambaDc } from "./samba.js";

/**
 * Sets msDS-SupportedEncryptionTypes = 24 (AES128 | AES256) on the accounts named and
 * prints each one's "NAME SID".
 */
const SET_AES_ONLY = `
import sys, ldb
from samba.samdb import SamDB
from samba.param import LoadParm
from samba.auth import system_session
from samba.ndr import ndr_unpack
from samba.dcerpc import security
lp = LoadParm(); lp.load(sys.argv[1])
db = SamDB(url=lp.samdb_url(), session_info=system_session(), lp=lp)
for name in sys.argv[2:]:
    res = db.search(base=db.domain_dn(), expression="(sAMAccountName=%s)" % name, attrs=["objectSid"])
    m = ldb.Message(); m.dn = res[0].dn
    m["e"] = ldb.MessageElement("24", ldb.FLAG_MOD_REPLACE, "msDS-SupportedEncryptionTypes")
    db.modify(m)
    print(name, ndr_unpack(security.dom_sid, res[0]["objectSid"][0]))
`;

/** The objectSid of a user, computer or group of the DC's directory. */
export function sidOf(dc: SambaDc, kind: "group" | "computer" | "user", name: string): string {
  const m = /^objectSid: (S-[0-9-]+)$/m.exec(dc.tool(kind, "show", name));
  if (!m) throw new PosternError("lab", `samba-tool ${kind} show ${name}: no objectSid`);
  return m[1] as string;
}

export interface PrestagedComputer {
  name: string;
  fqdn: string;
  sid: string;
  /** The exported keytab of NAME$ (the caller moves it to the member and removes it). */
  keytab: string;
}

/** Pre-stages computers `names` in the DC's domain and exports their keys to `dir`. */
export function prestageComputers(dc: SambaDc, names: string[], dir: string): PrestagedComputer[] {
  const made = names.map((name) => ({
    name,
    sam: `${name.toUpperCase()}$`,
    fqdn: `${name.toLowerCase()}.${dc.dnsDomain}`,
    keytab: path.join(dir, `${name.toLowerCase()}.keytab`),
  }));
  dc.tools(
    made.flatMap((c) => [
      ["computer", "create", c.name.toUpperCase()],
      ["user", "setpassword", c.sam, "--random-password"],
      ["user", "enable", c.sam],
      ["spn", "add", `host/${c.name.toLowerCase()}`, c.sam],
      ["spn", "add", `host/${c.fqdn}`, c.sam],
    ]),
  );
  const r = spawnSync(
    "/usr/bin/python3",
    ["-c", SET_AES_ONLY, dc.conf, ...made.map((c) => c.sam)],
    {
      encoding: "utf8",
    },
  );
  if (r.status !== 0)
    throw new PosternError("lab", `msDS-SupportedEncryptionTypes: ${r.stderr.trim()}`);
  const sids = new Map(
    r.stdout
      .trim()
      .split("\n")
      .map((l) => l.split(" ") as [string, string]),
  );
  for (const c of made) fs.rmSync(c.keytab, { force: true });
  // after the enctypes: the keytab is exported from the keys the account now has
  dc.tools(made.map((c) => ["domain", "exportkeytab", c.keytab, `--principal=${c.sam}`]));
  return made.map((c) => ({
    name: c.name,
    fqdn: c.fqdn,
    sid: sids.get(c.sam) ?? "",
    keytab: c.keytab,
  }));
}

/**
 * Installs a pre-staged computer as the AD member of `home` (machine.json + keytab);
 * `dnsServers`: the domain's DNS servers it asks in turn (the DCs, as `join --ad` keeps them).
 */
export function installAdMember(
  home: string,
  dc: SambaDc,
  c: PrestagedComputer,
  dcName: string,
  dnsServers: string[],
): MachineIdentity {
  const sam = `${c.name.toUpperCase()}$`;
  const keys = readKeytabFile(`FILE:${c.keytab}`)
    .entries.filter((e) => e.principal.name.nameString.join("/").toUpperCase() === sam)
    .map((e) => ({ etype: e.key.keytype, kvno: e.kvno, key: e.key.keyvalue }));
  if (!keys.some((k) => k.etype === 18))
    throw new PosternError("lab", `the keytab exported for ${sam} holds no AES256 key`);
  const id: MachineIdentity = {
    kind: "ad",
    domain: dc.dnsDomain,
    realm: dc.realm,
    domainSid: c.sid.replace(/-\d+$/, ""),
    sam,
    sid: c.sid,
    dnsHostName: c.fqdn,
    principals: [sam, `host/${c.name.toLowerCase()}`, `host/${c.fqdn}`],
    dc: { host: dc.ip, hostName: `${dcName}.${dc.dnsDomain}`, dnsServers },
    keys,
  };
  keytabWriter.write(home, id);
  return id;
}
