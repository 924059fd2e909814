/**
 * Fuzz targets "esp" and "ah": the inbound packet path (src/datapath/inbound.ts) with real
 * SAs in its SAD. The contract is the packet path's: never throw, return a packet or a
 * counted drop.
 * - esp: UDP-4500 datagrams. Raw mutations of sealed packets (header, SPI, lengths: most
 *   fail the ICV), NAT keepalives and non-ESP markers, and authentic packets whose
 *   plaintext was mutated before sealing (padding, pad length, next header, the inner
 *   packet), so the trailer parser, the IP parser and the selector check see them too.
 *   Both the copying and the in-place (worker) open run.
 * - ah: IPv4 packets from the raw socket. Raw mutations of sealed packets, and authentic
 *   packets with a mutated payload and next header, and mutated mutable fields (TOS, flags,
 *   fragment offset, TTL, checksum: outside the ICV).
 */
import { createCounterBuffer, createCounterWriter } from "../src/datapath/counters.js";
import { createInbound, type Inbound } from "../src/datapath/inbound.js";
import { buildIpPacket } from "../src/datapath/ippacket.js";
import { createOutbound } from "../src/datapath/outbound.js";
import { createSad } from "../src/datapath/sad.js";
import { ahIntegrity, sealAh } from "../src/esp/ah.js";
import { createOutboundSa, type SaRecord } from "../src/esp/sa.js";
import { type TransformName, transformSpec } from "../src/esp/transform.js";
import { mutateBytes, type Rng } from "./fuzz-mutate.js";
import {
  anySelectors,
  SA_HOST_A as A,
  SA_HOST_B as B,
  saRecord,
} from "../test/helpers/sa-record.js";
import { ContractViolation, type FuzzInstance } from "./fuzz-target.js";

const ip4 = (s: string) => Uint8Array.from(s.split(".").map(Number));

function record(spi: number, transform: TransformName, over: Partial<SaRecord> = {}): SaRecord {
  const spec = transformSpec(transform);
  return saRecord({
    spi,
    direction: "in",
    transform,
    encKey: Buffer.alloc(spec.encKeyBytes, spi & 0xff),
    authKey: Buffer.alloc(spec.authKeyBytes, (spi >> 8) & 0xff),
    local: B,
    peer: A,
    selectors: [
      ...anySelectors(B, A),
      {
        local: "2001:db8::2/128",
        remote: "2001:db8::1/128",
        protocol: 17,
        localPorts: [53, 53],
        remotePorts: [0, 65535],
      },
    ],
    label: `fuzz-${spi}`,
    ...over,
  });
}

const ESP_SAS: SaRecord[] = [
  record(0x100, "aes128gcm16"),
  record(0x101, "aes128-sha256"),
  record(0x102, "null-sha256"),
  record(0x103, "aes256gcm16", { mode: "tunnel" }),
  record(0x104, "aes256-sha1", { esn: true, replayWindow: 64 }),
  record(0x105, "null-sha1", { replayWindow: 0 }),
];
const AH_SAS: SaRecord[] = [
  record(0x200, "null-sha256", { protocol: "ah", encap: null }),
  record(0x201, "null-sha1", { protocol: "ah", encap: null, esn: true }),
];

function inboundFor(records: readonly SaRecord[], inPlace: boolean): Inbound {
  const sad = createSad();
  records.forEach((r, i) => {
    sad.add(r, i, 0);
  });
  return createInbound({
    sad,
    counters: createCounterWriter(createCounterBuffer(), "inbound"),
    events: () => {},
    nowMs: () => 0,
    inPlace,
  });
}

/** Inner packets: transport payloads (next header, bytes) and whole packets for tunnel mode. */
function innerSeeds(): { nextHeader: number; payload: Uint8Array }[] {
  const udp = Buffer.from("30390050001000006869206e6f77", "hex");
  const tcp = Buffer.from("c35000500000000100000000501820003b2a0000474554202f", "hex");
  const icmp = Buffer.from("0800f7ff0000000068656c6c6f", "hex");
  const v4 = buildIpPacket(ip4(A), ip4(B), 17, udp);
  const v6 = Buffer.concat([
    Buffer.from("6000000000101140", "hex"),
    Buffer.from("20010db8000000000000000000000001", "hex"),
    Buffer.from("20010db8000000000000000000000002", "hex"),
    Buffer.from("c3500035001000000102030405060708", "hex"),
  ]);
  return [
    { nextHeader: 17, payload: udp },
    { nextHeader: 6, payload: tcp },
    { nextHeader: 1, payload: icmp },
    { nextHeader: 4, payload: v4 },
    { nextHeader: 41, payload: v6 },
    { nextHeader: 59, payload: Buffer.alloc(0) },
  ];
}

function trailer(len: number, nextHeader: number, align: number): Buffer {
  const pad = (align - ((len + 2) % align)) % align;
  const t = Buffer.alloc(pad + 2);
  for (let i = 0; i < pad; i++) t[i] = i + 1;
  t[pad] = pad;
  t[pad + 1] = nextHeader;
  return t;
}

/**
 * The sequence number of SA k's next packet: mostly the next one; sometimes a replay, an
 * old one, 0, or a jump forward (after which the SA goes on from there, as a sender
 * would); with ESN, sometimes across the 2^32 boundary.
 */
function nextSeq(r: Rng, counters: number[], k: number, rec: SaRecord): number {
  const c = counters[k] as number;
  if (r.chance(0.92)) {
    counters[k] = c + 1;
    return c;
  }
  const choice = r.int(rec.esn ? 5 : 4);
  if (choice === 0) return 0;
  if (choice === 1) return Math.max(1, c - 1);
  if (choice === 2) return Math.max(1, c - 2000);
  const jump = choice === 3 ? c + 1 + r.int(3000) : Math.max(c, 2 ** 32 - 2);
  counters[k] = jump + 1;
  return jump;
}

export function createEspTarget(): FuzzInstance {
  const copy = inboundFor(ESP_SAS, false);
  const inPlace = inboundFor(ESP_SAS, true);
  const sealers = ESP_SAS.map((r) => createOutboundSa({ ...r, direction: "out" }, 0, 0));
  const inner = innerSeeds();
  const innerBytes = inner.map((s) => s.payload);
  const counters = ESP_SAS.map(() => 1);
  const seal = (k: number, seq: number, plain: Uint8Array, iv: Buffer): Uint8Array => {
    const sa = sealers[k]!;
    const header = Buffer.alloc(8);
    header.writeUInt32BE(sa.record.spi, 0);
    header.writeUInt32BE(seq % 2 ** 32, 4);
    const chunks = sa.cipher.seal(header, Math.floor(seq / 2 ** 32), sa.record.esn, [plain], iv);
    return Buffer.concat([header, ...chunks]);
  };
  const valid = (r: Rng, k: number, mutatePlain: boolean): Uint8Array => {
    const spec = sealers[k]!.cipher.spec;
    const s = r.pick(inner);
    let plain: Uint8Array = Buffer.concat([
      s.payload,
      trailer(s.payload.length, s.nextHeader, Math.max(4, spec.align)),
    ]);
    if (mutatePlain) {
      plain = mutateBytes(plain, r, innerBytes);
      const align = Math.max(4, spec.align);
      const short = (align - (plain.length % align)) % align;
      if (short)
        plain = Buffer.concat([
          plain.subarray(0, Math.max(0, plain.length - 2)),
          Buffer.alloc(short),
          plain.subarray(Math.max(0, plain.length - 2)),
        ]);
    }
    const seq = nextSeq(r, counters, k, ESP_SAS[k] as SaRecord);
    return seal(k, seq, plain, Buffer.from(r.bytes(spec.ivBytes)));
  };
  return {
    typedErrors: false,
    generate(r) {
      const k = r.int(sealers.length);
      switch (r.int(6)) {
        case 0:
          return valid(r, k, false);
        case 1:
        case 2:
          return valid(r, k, true);
        case 3:
          return r.pick([
            Uint8Array.of(0xff),
            Uint8Array.of(0, 0, 0, 0, 1),
            new Uint8Array(0),
            r.bytes(r.int(64)),
          ]);
        default:
          return mutateBytes(valid(r, k, false), r);
      }
    },
    run(input) {
      const d = input as Uint8Array;
      const a = copy.open(Buffer.from(d), { address: A, port: 4500 });
      const room = Buffer.alloc(40 + d.length);
      room.set(d, 40);
      const b = inPlace.open(room.subarray(40), { address: A, port: 4500 });
      if ((a === null) !== (b === null) && d.length > 0)
        throw new ContractViolation("copying and in-place open disagree");
      return a === null ? "rejected" : "accepted";
    },
  };
}

export function createAhTarget(): FuzzInstance {
  const inbound = inboundFor(AH_SAS, false);
  const integ = AH_SAS.map((r) => {
    const a = ahIntegrity(r.transform, r.authKey);
    if (!a) throw new Error(`no AH integrity for ${r.transform}`);
    return a;
  });
  const inner = innerSeeds();
  const innerBytes = inner.map((s) => s.payload);
  const counters = AH_SAS.map(() => 1);
  return {
    typedErrors: false,
    generate(r) {
      const k = r.int(AH_SAS.length);
      const s = r.pick(inner);
      const structured = r.chance(0.6);
      const payload =
        structured && r.chance(0.7) ? mutateBytes(s.payload, r, innerBytes) : s.payload;
      const rec = AH_SAS[k]!;
      const seq = nextSeq(r, counters, k, rec);
      const packet = sealAh(integ[k]!, {
        spi: rec.spi,
        seq,
        esn: rec.esn,
        src: ip4(A),
        dst: ip4(B),
        nextHeader: structured && r.chance(0.3) ? r.int(256) : s.nextHeader,
        payload,
        id: 1 + r.int(0xfffe),
      });
      if (structured) {
        for (const at of [1, 6, 7, 8, 10, 11]) if (r.chance(0.15)) packet[at] = r.int(256);
        return packet;
      }
      return mutateBytes(packet, r);
    },
    run(input) {
      return inbound.openAh(Buffer.from(input as Uint8Array)) === null ? "rejected" : "accepted";
    },
  };
}

/**
 * Fuzz target "tun": packets a local application writes, read from the TUN device into the
 * outbound path (parse, SPD lookup, seal). Never throws; a packet it seals must open at the
 * peer's inbound SA (the same keys), so what leaves is always a well-formed ESP/AH packet
 * (save IPv4 protocol 59, which the peer rightly takes for a dummy packet).
 */
export function createTunTarget(): FuzzInstance {
  const out = (r: SaRecord): SaRecord => ({
    ...r,
    direction: "out",
    local: A,
    peer: B,
    selectors: r.selectors.map((s) => ({ ...s, local: s.remote, remote: s.local })),
  });
  const peerIn = (r: SaRecord): SaRecord => ({ ...r, local: B, peer: A });
  const records = [ESP_SAS[0]!, ESP_SAS[1]!, AH_SAS[0]!].map((r, i) => ({ ...r, spi: 0x300 + i }));
  const sad = createSad();
  records.forEach((r, i) => {
    sad.add(out(r), i, 0);
  });
  const outbound = createOutbound({
    sad,
    counters: createCounterWriter(createCounterBuffer(), "outbound"),
    events: () => {},
    nowMs: () => 0,
    randomBytes: (n) => Buffer.alloc(n, 0x42),
  });
  const peer = inboundFor(
    records.map((r) => peerIn(r)),
    false,
  );
  const seeds = innerSeeds()
    .filter((s) => s.nextHeader !== 59)
    .map((s) =>
      s.nextHeader === 4 || s.nextHeader === 41
        ? s.payload
        : buildIpPacket(ip4(A), ip4(B), s.nextHeader, s.payload),
    );
  return {
    typedErrors: false,
    generate: (r) => mutateBytes(r.pick(seeds), r, seeds),
    run(input) {
      const sealed = outbound.seal(Buffer.from(input as Uint8Array));
      if (sealed === null) return "rejected";
      const opened =
        sealed.via === "raw"
          ? peer.openAh(Buffer.from(sealed.datagram))
          : peer.open(Buffer.from(sealed.datagram), { address: A, port: 4500 });
      // IPv4 protocol 59 ("no next header") travels as ESP next header 59, which RFC 4303
      // 2.6 makes a dummy packet the peer discards: the one packet that may not arrive
      const dummy = (input as Uint8Array)[0]! >> 4 === 4 && (input as Uint8Array)[9] === 59;
      if (opened === null && !dummy)
        throw new ContractViolation(`a packet sealed (${sealed.via}) does not open at the peer`);
      return "accepted";
    },
  };
}
