/**
 * Fuzz target "ike": IKEv2 datagrams (RFC 7296 §3) into decodeMessage, and decrypted SK
 * contents (the inner payload chain of IKE_AUTH, CREATE_CHILD_SA, INFORMATIONAL) into
 * decodeChain. Seeds are messages our own encoder builds as the exchanges send them.
 * Mutations: raw bytes of the whole datagram, or one payload body mutated and the chain
 * re-framed with correct generic-header lengths (so each payload decoder sees it), or
 * payloads dropped, repeated, reordered and re-typed. Accepted messages must re-encode
 * and decode to the same value.
 */
import { ExchangeType } from "../src/ike/constants.js";
import {
  decodeChain,
  decodeMessage,
  encodeChain,
  encodeMessage,
  type Payload,
} from "../src/ike/message.js";
import { IKE_HEADER_LENGTH } from "../src/ike/payloads/header.js";
import { mutateBytes, type Rng } from "./fuzz-mutate.js";
import { ContractViolation, canonical, type FuzzInstance } from "./fuzz-target.js";

const b = (hex: string) => Buffer.from(hex, "hex");
const fill = (n: number, v: number) => Buffer.alloc(n, v);

const SA_IKE: Payload = {
  type: "SA",
  proposals: [
    {
      num: 1,
      protocolId: 1,
      spi: Buffer.alloc(0),
      transforms: [
        { type: 1, id: 20, keyLength: 256 },
        { type: 2, id: 7 },
        { type: 3, id: 14 },
        { type: 4, id: 19 },
      ],
    },
    {
      num: 2,
      protocolId: 1,
      spi: Buffer.alloc(0),
      transforms: [
        { type: 1, id: 12, keyLength: 128 },
        { type: 4, id: 14 },
      ],
    },
  ],
};
const SA_ESP: Payload = {
  type: "SA",
  proposals: [
    {
      num: 1,
      protocolId: 3,
      spi: b("c0ffee01"),
      transforms: [
        { type: 1, id: 20, keyLength: 128 },
        { type: 5, id: 0 },
      ],
    },
    {
      num: 2,
      protocolId: 2,
      spi: b("c0ffee02"),
      transforms: [
        { type: 3, id: 12 },
        { type: 5, id: 1 },
      ],
    },
  ],
};
const TS = (type: "TSi" | "TSr"): Payload => ({
  type,
  selectors: [
    {
      tsType: 7,
      ipProtocol: 6,
      startPort: 80,
      endPort: 80,
      startAddr: b("c6120014"),
      endAddr: b("c6120014"),
    },
    {
      tsType: 8,
      ipProtocol: 0,
      startPort: 0,
      endPort: 65535,
      startAddr: fill(16, 0),
      endAddr: fill(16, 0xff),
    },
  ],
});

/** The payload lists of the messages the exchanges send. */
function seedChains(): { exchange: number; payloads: Payload[] }[] {
  const natd = (v: number): Payload => ({
    type: "N",
    protocolId: 0,
    spi: Buffer.alloc(0),
    notifyType: 16388,
    data: fill(20, v),
  });
  return [
    {
      exchange: ExchangeType.IKE_SA_INIT,
      payloads: [
        SA_IKE,
        { type: "KE", group: 19, data: fill(64, 7) },
        { type: "NONCE", data: fill(32, 9) },
        natd(1),
        natd(2),
        { type: "V", data: b("4048b7d56ebce88525e7de7f00d6c2d3") },
      ],
    },
    {
      exchange: ExchangeType.IKE_SA_INIT,
      payloads: [
        { type: "N", protocolId: 0, spi: Buffer.alloc(0), notifyType: 16390, data: fill(24, 3) },
        SA_IKE,
        { type: "KE", group: 14, data: fill(256, 5) },
        { type: "NONCE", data: fill(16, 1) },
        { type: "CERTREQ", encoding: 4, data: fill(20, 0xaa) },
      ],
    },
    {
      exchange: ExchangeType.IKE_AUTH,
      payloads: [
        { type: "IDi", idType: 2, data: Buffer.from("xpclient.bigfirm.com") },
        { type: "CERT", encoding: 4, data: fill(40, 0x30) },
        {
          type: "N",
          protocolId: 0,
          spi: Buffer.alloc(0),
          notifyType: 16384,
          data: Buffer.alloc(0),
        },
        { type: "IDr", idType: 11, data: Buffer.from("host/server1.bigfirm.com@BIGFIRM.COM") },
        { type: "AUTH", method: 2, data: fill(32, 0x5a) },
        SA_ESP,
        TS("TSi"),
        TS("TSr"),
      ],
    },
    {
      exchange: ExchangeType.CREATE_CHILD_SA,
      payloads: [
        SA_ESP,
        { type: "NONCE", data: fill(32, 2) },
        { type: "KE", group: 31, data: fill(32, 4) },
        TS("TSi"),
        TS("TSr"),
        { type: "N", protocolId: 3, spi: b("01020304"), notifyType: 16393, data: Buffer.alloc(0) },
      ],
    },
    {
      exchange: ExchangeType.INFORMATIONAL,
      payloads: [
        { type: "D", protocolId: 3, spiSize: 4, spis: [b("01020304"), b("05060708")] },
        { type: "D", protocolId: 1, spiSize: 0, spis: [] },
        { type: "N", protocolId: 1, spi: fill(8, 1), notifyType: 24, data: Buffer.alloc(0) },
        { type: "unknown", payloadType: 49, critical: true, body: fill(12, 0x11) },
      ],
    },
  ];
}

interface Framed {
  type: number;
  critical: boolean;
  body: Uint8Array;
}

/** The chain as (type, critical, body) triples, from our encoder's bytes. */
function frames(first: number, bytes: Uint8Array): Framed[] {
  const out: Framed[] = [];
  let type = first;
  let p = 0;
  while (type !== 0 && p + 4 <= bytes.length) {
    const len = ((bytes[p + 2] as number) << 8) | (bytes[p + 3] as number);
    out.push({
      type,
      critical: ((bytes[p + 1] as number) & 0x80) !== 0,
      body: bytes.subarray(p + 4, p + len),
    });
    type = bytes[p] as number;
    p += len;
  }
  return out;
}

/** Re-frames payloads with correct lengths and next-payload links (lengths capped at 16 bits). */
function reframe(fs: readonly Framed[]): { first: number; bytes: Buffer } {
  const parts: Buffer[] = [];
  fs.forEach((f, i) => {
    const gh = Buffer.alloc(4);
    gh[0] = fs[i + 1]?.type ?? 0;
    gh[1] = f.critical ? 0x80 : 0;
    gh.writeUInt16BE(Math.min(0xffff, 4 + f.body.length), 2);
    parts.push(gh, Buffer.from(f.body));
  });
  return { first: fs[0]?.type ?? 0, bytes: Buffer.concat(parts) };
}

const TYPES = [0, 1, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47, 48, 53, 255];

function mutateFrames(fs: Framed[], r: Rng, all: Framed[]): Framed[] {
  const out = [...fs];
  const i = r.int(out.length);
  const f = out[i];
  switch (r.int(8)) {
    case 0:
      out.splice(i, 1);
      break;
    case 1:
      if (f) out.splice(i, 0, f);
      break;
    case 2:
      if (f) out[i] = { ...f, type: r.pick(TYPES) };
      break;
    case 3:
      out.splice(r.int(out.length + 1), 0, r.pick(all));
      break;
    case 4:
      if (f) out[i] = { ...f, critical: !f.critical };
      break;
    default:
      if (f)
        out[i] = {
          ...f,
          body: mutateBytes(
            f.body,
            r,
            all.map((x) => x.body),
          ),
        };
  }
  return out;
}

const HEADER = {
  spiI: b("0102030405060708"),
  spiR: Buffer.alloc(8),
  majorVersion: 2,
  minorVersion: 0,
  initiator: true,
  response: false,
  messageId: 0,
};

export function createIkeTarget(): FuzzInstance {
  const chains = seedChains();
  const datagrams = chains.map(
    (c) => new Uint8Array(encodeMessage({ ...HEADER, exchangeType: c.exchange }, c.payloads)),
  );
  const encoded = chains.map((c) => encodeChain(c.payloads));
  const framed = encoded.map((e) => frames(e.first, e.bytes));
  const all = framed.flat();
  return {
    generate(r) {
      const k = r.int(framed.length);
      const mode = r.int(4);
      if (mode === 0) return mutateBytes(datagrams[k] as Uint8Array, r, datagrams);
      let fs = framed[k] as Framed[];
      const n = 1 + (r.chance(0.7) ? 0 : r.int(3));
      for (let j = 0; j < n; j++) fs = mutateFrames(fs, r, all);
      const chain = reframe(fs);
      if (mode === 1) {
        // the decrypted inner chain of an SK payload: first type byte, then the chain
        return new Uint8Array(Buffer.concat([Buffer.of(0xff, chain.first), chain.bytes]));
      }
      const head = Buffer.from(datagrams[k]!.subarray(0, IKE_HEADER_LENGTH));
      head[16] = chain.first;
      head.writeUInt32BE(IKE_HEADER_LENGTH + chain.bytes.length, 24);
      if (r.chance(0.1)) head[17] = r.int(256);
      if (r.chance(0.1)) head[18] = r.int(256);
      if (r.chance(0.1)) head[19] = r.int(256);
      const msg = new Uint8Array(Buffer.concat([head, chain.bytes]));
      return r.chance(0.2) ? mutateBytes(msg, r) : msg;
    },
    run(input) {
      const bytes = input as Uint8Array;
      if (bytes[0] === 0xff && bytes.length >= 2) {
        const payloads = decodeChain(bytes.subarray(2), bytes[1] as number);
        const again = encodeChain(payloads);
        const back = decodeChain(again.bytes, again.first);
        if (canonical(back) !== canonical(payloads))
          throw new ContractViolation("inner chain round trip differs");
        return "accepted";
      }
      const m = decodeMessage(bytes);
      let back: ReturnType<typeof decodeMessage>;
      try {
        back = decodeMessage(encodeMessage(m.header, m.payloads));
      } catch (e) {
        throw new ContractViolation(`accepted message does not re-encode: ${String(e)}`);
      }
      if (
        canonical(back.payloads) !== canonical(m.payloads) ||
        canonical({ ...back.header, length: 0 }) !== canonical({ ...m.header, length: 0 })
      )
        throw new ContractViolation("message round trip differs");
      return "accepted";
    },
  };
}
