/**
 * Where a member keeps its machine account's keys after joining.
 *
 * TEMPORARY: until the Kerberos library's keytab writer (src/kerberos/files/keytab.ts)
 * lands, the keys go to `<home>/agent/machine-keys.json` (mode 0600). The KeytabWriter
 * seam is what the integration replaces with one that writes `<home>/agent/krb5.keytab`
 * in MIT's format; the JSON file also holds the join credential the API accepts.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { MachineCredential } from "../dc/api/machine-auth.js";
import { DirectoryError } from "../dc/errors.js";
import { atomicWriteFile } from "../platform/home.js";

export interface MachineKeyEntry {
  etype: number;
  kvno: number;
  key: Uint8Array;
}

export interface MachineIdentity {
  domain: string;
  realm: string;
  domainSid: string;
  sam: string;
  sid: string;
  dnsHostName: string;
  principals: string[];
  dc: { host: string; apiPort: number };
  keys: MachineKeyEntry[];
}

export interface KeytabWriter {
  /** Writes the machine's keys; returns the file written. */
  write(home: string, id: MachineIdentity): string;
  read(home: string): MachineIdentity | null;
  remove(home: string): void;
}

export const machineKeysPath = (home: string) => path.join(home, "agent", "machine-keys.json");

interface StoredIdentity extends Omit<MachineIdentity, "keys"> {
  keys: { etype: number; kvno: number; key: string }[];
}

export const jsonKeyWriter: KeytabWriter = {
  write(home, id) {
    const file = machineKeysPath(home);
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    const stored: StoredIdentity = {
      ...id,
      keys: id.keys.map((k) => ({
        etype: k.etype,
        kvno: k.kvno,
        key: Buffer.from(k.key).toString("base64"),
      })),
    };
    atomicWriteFile(file, `${JSON.stringify(stored, null, 2)}\n`, 0o600);
    return file;
  },
  read(home) {
    const file = machineKeysPath(home);
    let text: string;
    try {
      text = fs.readFileSync(file, "utf8");
    } catch {
      return null;
    }
    try {
      const s = JSON.parse(text) as StoredIdentity;
      return {
        ...s,
        keys: s.keys.map((k) => ({ ...k, key: new Uint8Array(Buffer.from(k.key, "base64")) })),
      };
    } catch (e) {
      throw new DirectoryError("dc.auth", `${file} is damaged: ${(e as Error).message}`);
    }
  },
  remove(home) {
    fs.rmSync(machineKeysPath(home), { force: true });
  },
};

export function credentialOf(id: MachineIdentity): MachineCredential {
  const k = id.keys.find((x) => x.etype === 18);
  if (!k) throw new DirectoryError("dc.auth", "the machine keys hold no etype 18 key");
  return { sam: id.sam, kvno: k.kvno, key: k.key };
}
