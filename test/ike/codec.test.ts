import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { ExchangeType, NotifyType } from "../../src/ike/constants.js";
import { IkeError } from "../../src/ike/errors.js";
import { decodeMessage, encodeMessage, type Payload } from "../../src/ike/message.js";
import { decodeSa } from "../../src/ike/payloads/sa.js";

const bytes = (min: number, max: number) =>
  fc.uint8Array({ minLength: min, maxLength: max }).map((u) => Buffer.from(u));
/** fast-check records have a null prototype; compare as JSON. */
const plain = (v: unknown): unknown => JSON.parse(JSON.stringify(v));
const u16 = fc.integer({ min: 0, max: 0xffff });

const transform = fc.record(
  { type: fc.integer({ min: 1, max: 5 }), id: u16, keyLength: fc.constantFrom(128, 192, 256) },
  { requiredKeys: ["type", "id"] },
);
const proposal = fc.record({
  num: fc.integer({ min: 1, max: 255 }),
  protocolId: fc.constantFrom(1, 2, 3),
  spi: fc.oneof(bytes(0, 0), bytes(4, 4), bytes(8, 8)),
  transforms: fc.array(transform, { minLength: 1, maxLength: 6 }),
});
const selector = fc.oneof(
  fc.record({
    tsType: fc.constant(7),
    ipProtocol: fc.integer({ min: 0, max: 255 }),
    startPort: u16,
    endPort: u16,
    startAddr: bytes(4, 4),
    endAddr: bytes(4, 4),
  }),
  fc.record({
    tsType: fc.constant(8),
    ipProtocol: fc.integer({ min: 0, max: 255 }),
    startPort: u16,
    endPort: u16,
    startAddr: bytes(16, 16),
    endAddr: bytes(16, 16),
  }),
);

const payload: fc.Arbitrary<Payload> = fc.oneof(
  fc.record({
    type: fc.constant("SA" as const),
    proposals: fc.array(proposal, { minLength: 1, maxLength: 4 }),
  }),
  fc.record({ type: fc.constant("KE" as const), group: u16, data: bytes(0, 300) }),
  fc.record({ type: fc.constant("NONCE" as const), data: bytes(16, 256) }),
  fc.record({
    type: fc.constantFrom("IDi" as const, "IDr" as const),
    idType: fc.constantFrom(2, 3, 9, 11),
    data: bytes(0, 40),
  }),
  fc.record({
    type: fc.constant("AUTH" as const),
    method: fc.integer({ min: 0, max: 255 }),
    data: bytes(0, 64),
  }),
  fc.record({
    type: fc.constant("CERT" as const),
    encoding: fc.integer({ min: 0, max: 255 }),
    data: bytes(0, 64),
  }),
  fc.record({
    type: fc.constant("CERTREQ" as const),
    encoding: fc.integer({ min: 0, max: 255 }),
    data: bytes(0, 60),
  }),
  fc.record({
    type: fc.constant("N" as const),
    protocolId: fc.constantFrom(0, 1, 3),
    spi: fc.oneof(bytes(0, 0), bytes(4, 4)),
    notifyType: u16,
    data: bytes(0, 40),
  }),
  fc.record({
    type: fc.constant("D" as const),
    protocolId: fc.constant(3),
    spiSize: fc.constant(4),
    spis: fc.array(bytes(4, 4), { maxLength: 5 }),
  }),
  fc.record({ type: fc.constant("V" as const), data: bytes(0, 32) }),
  fc.record({
    type: fc.constantFrom("TSi" as const, "TSr" as const),
    selectors: fc.array(selector, { maxLength: 4 }),
  }),
);

const header = fc.record({
  spiI: bytes(8, 8),
  spiR: bytes(8, 8),
  majorVersion: fc.constant(2),
  minorVersion: fc.integer({ min: 0, max: 15 }),
  exchangeType: fc.constantFrom(34, 35, 36, 37),
  initiator: fc.boolean(),
  response: fc.boolean(),
  messageId: fc.integer({ min: 0, max: 0xffffffff }),
});

describe("IKEv2 codec (RFC 7296 §3)", () => {
  it("RFC 7296 §3.1-§3.13: every payload round-trips through encode/decode", () => {
    fc.assert(
      fc.property(header, fc.array(payload, { maxLength: 8 }), (h, payloads) => {
        const wire = encodeMessage(h, payloads);
        const m = decodeMessage(wire);
        assert.deepEqual(plain(m.payloads), plain(payloads));
        assert.equal(m.header.messageId, h.messageId);
        assert.equal(m.header.exchangeType, h.exchangeType);
        assert.equal(m.header.length, wire.length);
        assert.deepEqual(encodeMessage(h, m.payloads), wire);
      }),
      { numRuns: 300 },
    );
  });

  it("mutation fuzz: truncated or flipped messages give a malformed IkeError, never a crash", () => {
    fc.assert(
      fc.property(
        header,
        fc.array(payload, { minLength: 1, maxLength: 6 }),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), {
          minLength: 1,
          maxLength: 6,
        }),
        fc.nat(),
        (h, payloads, flips, cut) => {
          const wire = Buffer.from(encodeMessage(h, payloads));
          for (const [pos, v] of flips) wire[28 + (pos % Math.max(1, wire.length - 28))] = v;
          for (const candidate of [wire, wire.subarray(0, cut % wire.length)]) {
            try {
              decodeMessage(candidate);
            } catch (e) {
              assert.ok(e instanceof IkeError, `not an IkeError: ${String(e)}`);
              assert.equal(e.code, "malformed");
            }
          }
        },
      ),
      { numRuns: 2000 },
    );
  });

  it("RFC 7296 §3.1: the header length must equal the datagram length", () => {
    const wire = encodeMessage(
      {
        spiI: Buffer.alloc(8, 1),
        spiR: Buffer.alloc(8),
        majorVersion: 2,
        minorVersion: 0,
        exchangeType: ExchangeType.IKE_SA_INIT,
        initiator: true,
        response: false,
        messageId: 0,
      },
      [
        {
          type: "N",
          protocolId: 0,
          spi: Buffer.alloc(0),
          notifyType: NotifyType.COOKIE,
          data: Buffer.alloc(8),
        },
      ],
    );
    assert.throws(
      () => decodeMessage(Buffer.concat([wire, Buffer.alloc(1)])),
      /IKE header: length 44 but datagram has 45 bytes/,
    );
    const v1 = Buffer.from(wire);
    v1[17] = 0x10;
    assert.throws(() => decodeMessage(v1), /major version 1 is not 2/);
  });

  it("RFC 7296 §3.3.1: a proposal length below 8 is refused naming the field", () => {
    assert.throws(
      () => decodeSa(Buffer.from([0, 0, 0, 4])),
      /SA payload: proposal length 4 < minimum 8/,
    );
  });

  it("RFC 7296 §3.2: a payload length beyond the message is refused", () => {
    const wire = encodeMessage(
      {
        spiI: Buffer.alloc(8, 1),
        spiR: Buffer.alloc(8),
        majorVersion: 2,
        minorVersion: 0,
        exchangeType: 34,
        initiator: true,
        response: false,
        messageId: 0,
      },
      [{ type: "V", data: Buffer.from("abcd") }],
    );
    wire.writeUInt16BE(200, 30);
    assert.throws(() => decodeMessage(wire), /payload 43: length 200 exceeds the 8 bytes left/);
  });

  it("RFC 7296 §2.5: an unknown payload is kept with its critical bit", () => {
    const wire = encodeMessage(
      {
        spiI: Buffer.alloc(8, 1),
        spiR: Buffer.alloc(8),
        majorVersion: 2,
        minorVersion: 0,
        exchangeType: 34,
        initiator: true,
        response: false,
        messageId: 0,
      },
      [{ type: "unknown", payloadType: 200, critical: true, body: Buffer.from("xy") }],
    );
    const m = decodeMessage(wire);
    assert.deepEqual(m.payloads[0], {
      type: "unknown",
      payloadType: 200,
      critical: true,
      body: Buffer.from("xy"),
    });
  });
});
