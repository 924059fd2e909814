/**
 * The manual keying file (`postern agent --manual-sa FILE`), the user-space counterpart of
 * `setkey`/`ip xfrm state add`: JSON with the agent's UDP endpoint and a list of SAs.
 * Documented in docs/datapath.md "Manual keying". Every mistake is one PosternError line
 * naming the SA and the field.
 */
import { PosternError } from "../errors.js";
import { type Lifetime, type LifetimeLimits, NO_LIMITS } from "../esp/lifetime.js";
import type { SaRecord, TrafficSelector } from "../esp/sa.js";
import { isTransformName, TRANSFORM_NAMES, transformSpec } from "../esp/transform.js";
import { addressBytes } from "../datapath/ippacket.js";
import { parsePrefix } from "../datapath/spd.js";

export interface ManualKeying {
  listen: { address: string; port: number };
  tun: string | undefined;
  mtu: number | undefined;
  sas: SaRecord[];
}

type Json = Record<string, unknown>;

const bad = (where: string, msg: string): never => {
  throw new PosternError("manual-sa", `${where}: ${msg}`);
};

const isObj = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);

function num(v: unknown, where: string, min: number, max: number): number {
  const n = typeof v === "string" && /^(0x[0-9a-f]+|\d+)$/i.test(v) ? Number(v) : v;
  if (typeof n !== "number" || !Number.isInteger(n) || n < min || n > max) {
    return bad(where, `${JSON.stringify(v)} is not an integer in ${min}..${max}`);
  }
  return n;
}

function address(v: unknown, where: string): string {
  if (typeof v !== "string" || addressBytes(v) === null)
    return bad(where, `${JSON.stringify(v)} is not an IP address`);
  return v;
}

function hexKey(v: unknown, where: string, bytes: number): Uint8Array {
  if (bytes === 0 && (v === undefined || v === "")) return new Uint8Array(0);
  if (typeof v !== "string" || !/^(0x)?([0-9a-f]{2})*$/i.test(v))
    return bad(where, "must be a hex string");
  const key = Buffer.from(v.replace(/^0x/i, ""), "hex");
  if (key.length !== bytes) bad(where, `${key.length} bytes, the transform needs ${bytes}`);
  return new Uint8Array(key);
}

const PROTOCOLS: Record<string, number> = {
  any: 0,
  icmp: 1,
  tcp: 6,
  udp: 17,
  icmpv6: 58,
  sctp: 132,
};

function ports(v: unknown, where: string): [number, number] {
  if (v === undefined || v === "any") return [0, 65535];
  if (typeof v === "string" && /^\d+-\d+$/.test(v)) {
    const [a, b] = v.split("-").map(Number) as [number, number];
    if (a > b || b > 65535) bad(where, `bad port range "${v}"`);
    return [a, b];
  }
  const p = num(v, where, 0, 65535);
  return [p, p];
}

function selector(v: unknown, where: string): TrafficSelector {
  if (!isObj(v)) return bad(where, "must be an object");
  for (const k of ["local", "remote"]) {
    if (typeof v[k] !== "string" || parsePrefix(v[k] as string) === null)
      bad(`${where}.${k}`, `${JSON.stringify(v[k])} is not an address or prefix`);
  }
  const p = v.protocol ?? "any";
  const protocol =
    typeof p === "string" && p in PROTOCOLS
      ? (PROTOCOLS[p] as number)
      : num(p, `${where}.protocol`, 0, 255);
  return {
    local: v.local as string,
    remote: v.remote as string,
    protocol,
    localPorts: ports(v.localPort, `${where}.localPort`),
    remotePorts: ports(v.remotePort, `${where}.remotePort`),
  };
}

function limits(v: unknown, where: string): LifetimeLimits {
  if (v === undefined) return NO_LIMITS;
  if (!isObj(v)) return bad(where, "must be an object");
  const n = (k: string) =>
    v[k] === undefined ? 0 : num(v[k], `${where}.${k}`, 0, Number.MAX_SAFE_INTEGER);
  return { bytes: n("bytes"), packets: n("packets"), ms: n("seconds") * 1000 };
}

function lifetime(v: unknown, where: string): Lifetime {
  if (v === undefined) return { soft: NO_LIMITS, hard: NO_LIMITS };
  if (!isObj(v)) return bad(where, "must be an object");
  return { soft: limits(v.soft, `${where}.soft`), hard: limits(v.hard, `${where}.hard`) };
}

function encapOf(v: Json, protocol: "esp" | "ah", where: string): SaRecord["encap"] {
  if (protocol === "ah") return null;
  if (v.encap === false) {
    bad(`${where}.encap`, "raw ESP (IP protocol 50) is not supported yet; use UDP encapsulation");
  }
  if (!isObj(v.encap)) return { localPort: 4500, peerPort: 4500 };
  return {
    localPort: num(v.encap.localPort ?? 4500, `${where}.encap.localPort`, 1, 65535),
    peerPort: num(v.encap.peerPort ?? 4500, `${where}.encap.peerPort`, 1, 65535),
  };
}

/** The SA's selectors; by default the two hosts, any protocol. */
function selectorsOf(v: Json, local: string, peer: string, where: string): TrafficSelector[] {
  if (v.selectors === undefined) {
    const bits = local.includes(":") ? 128 : 32;
    return [
      {
        local: `${local}/${bits}`,
        remote: `${peer}/${bits}`,
        protocol: 0,
        localPorts: [0, 65535],
        remotePorts: [0, 65535],
      },
    ];
  }
  if (!Array.isArray(v.selectors)) return bad(`${where}.selectors`, "must be a list");
  return v.selectors.map((s, i) => selector(s, `${where}.selectors[${i}]`));
}

export function parseSa(v: unknown, where: string): SaRecord {
  if (!isObj(v)) return bad(where, "must be an object");
  const spi = num(v.spi, `${where}.spi`, 256, 2 ** 32 - 1);
  const direction = v.direction;
  if (direction !== "in" && direction !== "out")
    return bad(`${where}.direction`, 'must be "in" or "out"');
  const mode = v.mode ?? "transport";
  if (mode !== "transport" && mode !== "tunnel")
    return bad(`${where}.mode`, 'must be "transport" or "tunnel"');
  const t = v.transform;
  if (typeof t !== "string" || !isTransformName(t))
    return bad(
      `${where}.transform`,
      `${JSON.stringify(t)} is not one of ${TRANSFORM_NAMES.join(", ")}`,
    );
  const spec = transformSpec(t);
  const protocol = v.protocol ?? "esp";
  if (protocol !== "esp" && protocol !== "ah")
    return bad(`${where}.protocol`, 'must be "esp" or "ah"');
  if (protocol === "ah" && t !== "null-sha256" && t !== "null-sha1") {
    bad(`${where}.transform`, 'AH authenticates only: use "null-sha256" or "null-sha1"');
  }
  const local = address(v.local, `${where}.local`);
  const peer = address(v.peer, `${where}.peer`);
  const encap = encapOf(v, protocol, where);
  const sels = selectorsOf(v, local, peer, where);
  const replayWindow =
    v.replayWindow === undefined ? 1024 : num(v.replayWindow, `${where}.replayWindow`, 0, 65536);
  if (replayWindow % 32 !== 0)
    bad(`${where}.replayWindow`, "must be a multiple of 32 (0 disables)");
  return {
    spi,
    protocol,
    direction,
    mode,
    transform: t,
    encKey: hexKey(v.encKey, `${where}.encKey`, spec.encKeyBytes),
    authKey: hexKey(v.authKey, `${where}.authKey`, spec.authKeyBytes),
    local,
    peer,
    encap,
    esn: v.esn === true,
    replayWindow,
    lifetime: lifetime(v.lifetime, `${where}.lifetime`),
    selectors: sels,
    label: typeof v.label === "string" ? v.label : `manual ${direction} 0x${spi.toString(16)}`,
  };
}

export function parseManualKeying(text: string, file: string): ManualKeying {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    return bad(file, `not JSON (${(e as Error).message})`);
  }
  if (!isObj(doc)) return bad(file, "must be a JSON object");
  if (!isObj(doc.listen)) return bad(`${file}: listen`, 'must be {"address": "...", "port": 4500}');
  const listen = {
    address: address(doc.listen.address, `${file}: listen.address`),
    port: num(doc.listen.port ?? 4500, `${file}: listen.port`, 1, 65535),
  };
  if (!Array.isArray(doc.sas) || doc.sas.length === 0)
    return bad(`${file}: sas`, "must be a non-empty list");
  const sas = doc.sas.map((s, i) => parseSa(s, `${file}: sas[${i}]`));
  const seen = new Set<string>();
  for (const sa of sas) {
    const k = `${sa.direction}:${sa.spi}`;
    if (seen.has(k))
      bad(`${file}: sas`, `two "${sa.direction}" SAs with SPI 0x${sa.spi.toString(16)}`);
    seen.add(k);
  }
  const tun = doc.tun === undefined ? undefined : String(doc.tun);
  if (tun !== undefined && !/^[a-zA-Z0-9_.-]{1,15}$/.test(tun))
    bad(`${file}: tun`, `"${tun}" is not an interface name (1-15 characters)`);
  const mtu = doc.mtu === undefined ? undefined : num(doc.mtu, `${file}: mtu`, 576, 9000);
  return { listen, tun, mtu, sas };
}
