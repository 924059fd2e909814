/**
 * Where a member keeps its machine account after joining, in `<home>/agent/`:
 *   krb5.keytab   MIT keytab v2 (mode 0600): every key (enctypes 17-20, the account's kvno)
 *                 for NAME$@REALM, host/NAME@REALM and host/fqdn@REALM;
 *   machine.json  what a keytab cannot say (domain, SIDs, the DC's address, API and KDC
 *                 ports), no secrets (mode 0600 all the same);
 *   krb5cc        the machine's TGT (ccache v4, mode 0600; machine-tgt.ts).
 * The join credential (PosternMachine, src/dc/api/machine-auth.ts) is derived from the
 * NAME$ etype 18 key read back from the keytab.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { parseFingerprint } from "../dc/api/channel.js";
import type { MachineCredential } from "../dc/api/machine-auth.js";
import { DirectoryError } from "../dc/errors.js";
import { type Keytab, readKeytabFile, writeKeytabFile } from "../kerberos/files/keytab.js";
import { NAME_TYPE, type Principal } from "../kerberos/principal.js";
import { atomicWriteFile } from "../platform/home.js";

export interface MachineKeyEntry {
  etype: number;
  kvno: number;
  key: Uint8Array;
}

export interface MachineIdentity {
  /**
   * Which directory the machine is a member of: postern's own DC (absent, the default) or an
   * Active Directory (Windows AD or Samba AD: no postern API; KDCs and DCs from DNS SRV).
   */
  kind?: "postern" | "ad";
  domain: string;
  realm: string;
  domainSid: string;
  sam: string;
  sid: string;
  dnsHostName: string;
  /** NAME$ first, then the SPNs (host/NAME, host/fqdn). */
  principals: string[];
  /**
   * The DC: address, API port, KDC port (absent: 88), host name (its SPN host/<name>) and
   * the SHA-256 fingerprint of its API certificate, pinned at join (`AB:CD:...`).
   */
  dc: {
    host: string;
    /** postern's API port; absent for an Active Directory member. */
    apiPort?: number;
    kdcPort?: number;
    /** The port of the domain's DNS servers (absent: 53), asked for the KDCs' SRV records. */
    dnsPort?: number;
    /**
     * The domain's DNS servers (IP addresses, asked in order, the next when one is silent):
     * an AD member's DCs found at join, or its --dns-server list; absent: `host` alone.
     */
    dnsServers?: string[];
    hostName?: string;
    fingerprint?: string;
  };
  keys: MachineKeyEntry[];
}

export interface KeytabWriter {
  /** Writes the machine's keys; returns the file written. */
  write(home: string, id: MachineIdentity): string;
  read(home: string): MachineIdentity | null;
  remove(home: string): void;
}

export const machineKeytabPath = (home: string) => path.join(home, "agent", "krb5.keytab");
export const machineInfoPath = (home: string) => path.join(home, "agent", "machine.json");
export const machineCcachePath = (home: string) => path.join(home, "agent", "krb5cc");

/** `NAME$` or `host/x` (NT-SRV-HST) in the realm. */
export function machinePrincipal(name: string, realm: string): Principal {
  const parts = name.split("/");
  return {
    realm,
    name: {
      nameType: parts.length === 2 ? NAME_TYPE.NT_SRV_HST : NAME_TYPE.NT_PRINCIPAL,
      nameString: parts,
    },
  };
}

export function machineKeytab(id: MachineIdentity, timestamp: number): Keytab {
  return {
    entries: id.principals.flatMap((p) =>
      id.keys.map((k) => ({
        principal: machinePrincipal(p, id.realm),
        timestamp,
        kvno: k.kvno,
        key: { keytype: k.etype, keyvalue: k.key },
      })),
    ),
  };
}

export const keytabWriter: KeytabWriter = {
  write(home, id) {
    const file = machineKeytabPath(home);
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    const { keys: _keys, ...info } = id;
    writeKeytabFile(`FILE:${file}`, machineKeytab(id, Math.floor(Date.now() / 1000)));
    atomicWriteFile(machineInfoPath(home), `${JSON.stringify(info, null, 2)}\n`, 0o600);
    return file;
  },
  read(home) {
    let text: string;
    try {
      text = fs.readFileSync(machineInfoPath(home), "utf8");
    } catch {
      return null;
    }
    let info: Omit<MachineIdentity, "keys">;
    try {
      info = JSON.parse(text) as Omit<MachineIdentity, "keys">;
    } catch (e) {
      throw new DirectoryError(
        "dc.auth",
        `${machineInfoPath(home)} is damaged: ${(e as Error).message}`,
      );
    }
    const kt = readKeytabFile(`FILE:${machineKeytabPath(home)}`);
    const sam = info.sam.toLowerCase();
    const keys = kt.entries
      .filter((e) => e.principal.name.nameString.join("/").toLowerCase() === sam)
      .map((e) => ({ etype: e.key.keytype, kvno: e.kvno, key: e.key.keyvalue }));
    return { ...info, keys };
  },
  remove(home) {
    for (const f of [machineKeytabPath(home), machineInfoPath(home), machineCcachePath(home)])
      fs.rmSync(f, { force: true });
  },
};

export function credentialOf(id: MachineIdentity): MachineCredential {
  const k = id.keys.filter((x) => x.etype === 18).sort((a, b) => b.kvno - a.kvno)[0];
  if (!k) throw new DirectoryError("dc.auth", "the machine keytab holds no etype 18 key");
  return { sam: id.sam, kvno: k.kvno, key: k.key };
}

/** The DC's API as this member reaches it: address, port and the pinned certificate. */
export function dcApiTarget(id: MachineIdentity): {
  host: string;
  port: number;
  fingerprint: Uint8Array;
} {
  if (id.kind === "ad" || id.dc.apiPort === undefined)
    throw new DirectoryError(
      "dc.auth",
      `this machine is a member of the Active Directory domain ${id.domain}, which has no postern API`,
    );
  const fp = id.dc.fingerprint ? parseFingerprint(id.dc.fingerprint) : null;
  if (!fp)
    throw new DirectoryError(
      "dc.auth",
      "machine.json pins no certificate of the DC's API (joined before the API used TLS): leave --local-only and join again",
    );
  return { host: id.dc.host, port: id.dc.apiPort, fingerprint: fp };
}
