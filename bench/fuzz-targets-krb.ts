/**
 * Fuzz targets of the Kerberos library's parsers:
 * - der: DER/Kerberos messages (RFC 4120 §5) into decodeKrbMessage and into one of every
 *   decoder the library exports. Seeds: real MIT 1.20 messages (test/kerberos-codec
 *   fixtures) and every TLV inside them; mutations DER-aware (one TLV changed, lengths
 *   re-encoded) or raw. Accepted values must re-encode and decode to the same value.
 * - pac: MS-PAC containers and their NDR buffers (LOGON_INFO, CLIENT_INFO, UPN_DNS_INFO,
 *   ATTRIBUTES, REQUESTER_SID, signatures). Seeds: [MS-PAC] §3's example; mutations of the
 *   container, or of one buffer re-framed with correct offsets. Round trip, and the group
 *   SIDs read from an accepted LOGON_INFO.
 * - keytab, ccache: MIT's file formats, seeds from the MIT fixture files and our own
 *   serializer; round trip.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { parseCcache, serializeCcache } from "../src/kerberos/files/ccache.js";
import { parseKeytab, serializeKeytab } from "../src/kerberos/files/keytab.js";
import * as m from "../src/kerberos/messages/index.js";
import { logonInfoSids } from "../src/kerberos/pac/index.js";
import {
  decodePac,
  encodePac,
  encodePacBuffer,
  type Pac,
  pacBufferType,
} from "../src/kerberos/pac/pac.js";
import { encodeMessage } from "../test/kerberos-codec/fixtures.js";
import { mutateBytes, mutateDer, type Rng } from "./fuzz-mutate.js";
import { type FuzzInstance, roundTrip } from "./fuzz-target.js";

const HERE = path.dirname(fileURLToPath(import.meta.url));
/** Source-tree files (the compiled bench runs from dist/bench). */
const SOURCE = path.resolve(HERE, "../..");
const FIXTURES = path.join(SOURCE, "test/kerberos-codec/fixtures/mit-1.20.json");
const PAC_VECTOR = path.join(SOURCE, "test/vectors/ms-pac/structure-example.json");

interface Fixtures {
  messages: { name: string; hex: string }[];
  files: { keytab: string; ccache: string };
}

function fixtures(): Fixtures {
  return JSON.parse(fs.readFileSync(FIXTURES, "utf8")) as Fixtures;
}

type Codec = {
  name: string;
  decode: (b: Uint8Array) => unknown;
  encode?: (v: never) => Uint8Array;
};

/** Every decodeX of the messages library with its encodeX when there is one. */
function codecs(): Codec[] {
  const lib = m as unknown as Record<string, unknown>;
  const out: Codec[] = [];
  for (const [name, fn] of Object.entries(lib)) {
    if (!name.startsWith("decode") || typeof fn !== "function") continue;
    // encodeAdIfRelevant wraps its list in an AuthorizationData entry: not the inverse of decodeAdIfRelevant
    const enc = name === "decodeAdIfRelevant" ? undefined : lib[`encode${name.slice(6)}`];
    out.push({
      name,
      decode: fn as (b: Uint8Array) => unknown,
      encode: typeof enc === "function" ? (enc as (v: never) => Uint8Array) : undefined,
    });
  }
  return out;
}

/** Every TLV (with its header) inside a DER encoding, the encoding itself included. */
function subTlvs(b: Uint8Array, out: Uint8Array[] = [], depth = 0): Uint8Array[] {
  let p = 0;
  while (p < b.length && depth < 30) {
    const start = p;
    const first = b[p++] as number;
    if ((first & 0x1f) === 0x1f) while (p < b.length && ((b[p++] as number) & 0x80) !== 0) {}
    let len = b[p++] ?? 0;
    if (len & 0x80) {
      const k = len & 0x7f;
      len = 0;
      for (let i = 0; i < k; i++) len = len * 256 + (b[p++] ?? 0);
    }
    if (p + len > b.length) return out;
    out.push(b.subarray(start, p + len));
    const content = b.subarray(p, p + len);
    if (first & 0x20) subTlvs(content, out, depth + 1);
    else if (first === 0x04 && content.length > 1 && content[0] === 0x30)
      subTlvs(content, out, depth + 1);
    p += len;
  }
  return out;
}

export function createDerTarget(): FuzzInstance {
  const messages = fixtures().messages.map((f) => new Uint8Array(Buffer.from(f.hex, "hex")));
  const seeds = [
    ...new Set(messages.flatMap((msg) => subTlvs(msg)).map((x) => Buffer.from(x).toString("hex"))),
  ].map((h) => new Uint8Array(Buffer.from(h, "hex")));
  const all = codecs();
  const krbMessage = all.findIndex((c) => c.name === "decodeKrbMessage");
  /** (decoder, seed) pairs where the decoder accepts the unmutated seed. */
  const pairs: { codec: number; seed: Uint8Array }[] = [];
  all.forEach((c, codec) => {
    for (const seed of seeds) {
      try {
        c.decode(seed);
      } catch {
        continue; // not this decoder's input
      }
      pairs.push({ codec, seed });
    }
  });
  return {
    generate(r: Rng) {
      let codec: number;
      let seed: Uint8Array;
      if (r.chance(0.8)) ({ codec, seed } = r.pick(pairs));
      else {
        codec = r.chance(0.5) ? krbMessage : r.int(all.length);
        seed = r.chance(0.5) ? r.pick(messages) : r.pick(seeds);
      }
      const input = r.chance(0.7) ? mutateDer(seed, r, seeds) : mutateBytes(seed, r, seeds);
      // the first byte names the decoder; the rest is the DER
      return new Uint8Array(Buffer.concat([Buffer.of(codec), input]));
    },
    run(input) {
      const b = input as Uint8Array;
      const codec = all[(b[0] as number) % all.length] as Codec;
      const der = b.subarray(1);
      if (codec.name === "decodeKrbMessage")
        return roundTrip(m.decodeKrbMessage, encodeMessage, der);
      return roundTrip(codec.decode, codec.encode as ((v: unknown) => Uint8Array) | undefined, der);
    },
  };
}

/**
 * LOGON_INFO's UserFlags bits EXTRA_SIDS (0x20) and RESOURCE_GROUPS (0x200) are set by the
 * encoder from the lists ([MS-PAC] 2.5), not kept: a PAC whose flags disagree with its
 * lists re-encodes with the flags the lists imply. Cleared before comparing.
 */
function derivedFlagsCleared(pac: Pac): unknown {
  return pac.buffers.map((b) =>
    b.kind === "logon-info"
      ? { ...b, value: { ...b.value, userFlags: b.value.userFlags & ~0x220 } }
      : b,
  );
}

export function createPacTarget(): FuzzInstance {
  const vector = JSON.parse(fs.readFileSync(PAC_VECTOR, "utf8")) as { pacHex: string };
  const pacBytes = new Uint8Array(Buffer.from(vector.pacHex, "hex"));
  const pac = decodePac(pacBytes);
  const buffers = pac.buffers.map((b) => ({ type: pacBufferType(b), data: encodePacBuffer(b) }));
  const seeds = [pacBytes];
  return {
    generate(r) {
      if (r.chance(0.3)) return mutateBytes(pacBytes, r, seeds);
      // one buffer mutated, the container re-framed around it
      const list = buffers.map((x) => ({ ...x }));
      const k = r.int(list.length);
      const target = list[k]!;
      target.data = mutateBytes(
        target.data,
        r,
        buffers.map((x) => x.data),
      );
      if (r.chance(0.1))
        target.type = r.pick([1, 2, 6, 7, 10, 12, 13, 14, 16, 17, 18, 19, r.int(256)]);
      if (r.chance(0.1)) list.splice(r.int(list.length), 0, list[r.int(list.length)]!);
      const raw: Pac = { buffers: list.map((x) => ({ kind: "raw", type: x.type, data: x.data })) };
      return encodePac(raw);
    },
    run(input) {
      const out = roundTrip(decodePac, encodePac, input as Uint8Array, derivedFlagsCleared);
      const got = decodePac(input as Uint8Array);
      for (const b of got.buffers) if (b.kind === "logon-info") logonInfoSids(b.value);
      return out;
    },
  };
}

function fileTarget<T>(
  seedHex: string,
  parse: (b: Uint8Array) => T,
  serialize: (v: T) => Uint8Array,
): FuzzInstance {
  const original = new Uint8Array(Buffer.from(seedHex, "hex"));
  const ours = serialize(parse(original));
  const seeds = [original, ours];
  return {
    generate(r) {
      return mutateBytes(r.pick(seeds), r, seeds);
    },
    run(input) {
      return roundTrip(parse, serialize, input as Uint8Array);
    },
  };
}

export function createKeytabTarget(): FuzzInstance {
  return fileTarget(fixtures().files.keytab, (b) => parseKeytab(b), serializeKeytab);
}

export function createCcacheTarget(): FuzzInstance {
  return fileTarget(fixtures().files.ccache, (b) => parseCcache(b), serializeCcache);
}
