/**
 * A peer file for `postern ike initiate|respond --config FILE` (JSON), turned into a
 * PeerConfig. Until the agent builds peers from the assigned policy, this is how one
 * IKE peer runs on its own (tests put one in each namespace).
 *
 *   { "local": "10.0.0.1", "remote": "10.0.0.2", "psk": "secret",
 *     "localId": "10.0.0.1", "remoteId": "10.0.0.2",
 *     "ike": ["aes128gcm-sha256-31", "aes128-sha256-14"],   conf-hash-dhgroup (MmSecMethod)
 *     "esp": ["aes128gcm-none", "aes128-sha256"],          conf-auth (QmSecMethod ESP[conf,auth])
 *     "localTs": ["10.0.0.1/32"], "remoteTs": ["10.0.0.2/32"],
 *     "mode": "tunnel", "pfs": false, "forceEncap": false, "lifetimeSec": 3600, "ikeLifetimeSec": 0 }
 *   Certificates instead of "psk": "cert": "me.pem", "key": "me.key", "ca": ["root.pem"]
 */
import type {
  DhGroup,
  MmConfAlg,
  MmHashAlg,
  MmSecMethod,
  QmAuthAlg,
  QmConfAlg,
  QmSecMethod,
} from "../policy/model.js";
import { type AuthMethodProvider, createPskAuth } from "./auth.js";
import { createCertAuth } from "./cert-auth.js";
import { IkeError } from "./errors.js";
import { ikeProposals, childProposals } from "./proposals.js";
import { selectorFromCidr } from "./selectors.js";
import type { PeerConfig } from "./types.js";

const MM_CONF: readonly MmConfAlg[] = ["des", "3des", "aes128", "aes256", "aes128gcm", "aes256gcm"];
const MM_HASH: readonly MmHashAlg[] = ["md5", "sha1", "sha256", "sha384"];
const QM_CONF: readonly QmConfAlg[] = [
  "none",
  "des",
  "3des",
  "aes128",
  "aes256",
  "aes128gcm",
  "aes256gcm",
];
const QM_AUTH: readonly QmAuthAlg[] = ["none", "md5", "sha1", "sha256", "sha384"];
const GROUPS: readonly DhGroup[] = [1, 2, 14, 19, 31];

const bad = (file: string, what: string): IkeError => new IkeError("config", `${file}: ${what}`);

export function parseMmMethod(text: string, file = "config"): MmSecMethod {
  const [conf, hash, group] = text.toLowerCase().split("-");
  const g = Number(group);
  if (
    !MM_CONF.includes(conf as MmConfAlg) ||
    !MM_HASH.includes(hash as MmHashAlg) ||
    !GROUPS.includes(g as DhGroup)
  ) {
    throw bad(file, `ike method "${text}" is not conf-hash-group (e.g. aes128gcm-sha256-31)`);
  }
  return { conf: conf as MmConfAlg, hash: hash as MmHashAlg, dhGroup: g as DhGroup };
}

export function parseQmMethod(text: string, lifetimeSec: number, file = "config"): QmSecMethod {
  const [conf, auth] = text.toLowerCase().split("-");
  if (!QM_CONF.includes(conf as QmConfAlg) || !QM_AUTH.includes(auth as QmAuthAlg)) {
    throw bad(file, `esp method "${text}" is not conf-auth (e.g. aes128gcm-none, aes128-sha256)`);
  }
  return {
    esp: { conf: conf as QmConfAlg, auth: auth as QmAuthAlg },
    lifetimeKb: 100_000,
    lifetimeSec,
  };
}

function str(o: Record<string, unknown>, key: string, file: string, dflt?: string): string {
  const v = o[key] ?? dflt;
  if (typeof v !== "string" || v === "") throw bad(file, `"${key}" must be a non-empty string`);
  return v;
}

function list(o: Record<string, unknown>, key: string, file: string, dflt: string[]): string[] {
  const v = o[key] ?? dflt;
  if (!Array.isArray(v) || v.length === 0 || v.some((x) => typeof x !== "string"))
    throw bad(file, `"${key}" must be a list of strings`);
  return v as string[];
}

/** File access and time for certificate peers (paths are relative to the peer file). */
export interface PeerFileIo {
  readFile(path: string): string;
  now(): number;
}

function authFrom(
  o: Record<string, unknown>,
  file: string,
  io: PeerFileIo | undefined,
): AuthMethodProvider {
  if (o.cert === undefined) return createPskAuth(str(o, "psk", file));
  if (!io) throw bad(file, "certificates need file access");
  const read = (key: string, p: string): string => {
    try {
      return io.readFile(p);
    } catch (e) {
      throw bad(
        file,
        `cannot read ${key} file ${p}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
      );
    }
  };
  try {
    return createCertAuth({
      certPem: read("cert", str(o, "cert", file)),
      keyPem: read("key", str(o, "key", file)),
      rootsPem: list(o, "ca", file, []).map((p) => read("ca", p)),
      now: io.now,
    });
  } catch (e) {
    if (e instanceof IkeError) throw e;
    throw bad(file, `certificate setup failed: ${(e as Error).message}`);
  }
}

export function parsePeerFile(text: string, file: string, io?: PeerFileIo): PeerConfig {
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(text) as Record<string, unknown>;
  } catch (e) {
    throw bad(file, `not JSON: ${(e as Error).message}`);
  }
  if (typeof o !== "object" || o === null || Array.isArray(o))
    throw bad(file, "must hold a JSON object");
  const local = str(o, "local", file);
  const remote = str(o, "remote", file);
  const lifetimeSec = typeof o.lifetimeSec === "number" ? o.lifetimeSec : 3600;
  const mode = o.mode ?? "tunnel";
  if (mode !== "tunnel" && mode !== "transport")
    throw bad(file, `"mode" must be tunnel or transport`);
  const peer: PeerConfig = {
    name: typeof o.name === "string" ? o.name : remote,
    localAddress: local,
    remoteAddress: remote,
    localId: str(o, "localId", file, local),
    remoteId:
      o.remoteId === null ? null : str(o, "remoteId", file, remote === "%any" ? undefined : remote),
    auth: authFrom(o, file, io),
    mm: list(o, "ike", file, ["aes128gcm-sha256-31"]).map((m) => parseMmMethod(m, file)),
    qm: list(o, "esp", file, ["aes128gcm-none"]).map((m) => parseQmMethod(m, lifetimeSec, file)),
    pfs: o.pfs === true,
    localTs: list(o, "localTs", file, [`${local}/32`]).map((c) => selectorFromCidr(c)),
    remoteTs: list(o, "remoteTs", file, [remote === "%any" ? "0.0.0.0/0" : `${remote}/32`]).map(
      (c) => selectorFromCidr(c),
    ),
    mode,
    forceEncap: o.forceEncap === true,
    ikeLifetimeSec: typeof o.ikeLifetimeSec === "number" ? o.ikeLifetimeSec : 0,
  };
  ikeProposals(peer.mm);
  childProposals(peer.qm, Buffer.alloc(4), null);
  return peer;
}
