/**
 * Fuzzing the decoders (issue 4, item 9): real MIT messages (fixtures/) mutated, truncated
 * and spliced, and random bytes, go through every decoder. A decoder either returns a
 * record (which then re-encodes and decodes to the same record) or throws Asn1Error /
 * FileFormatError: never another exception, never a hang (every input is bounded and the
 * parsers are linear, one schema level at a time).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { Asn1Error } from "../../src/asn1/der.js";
import { FileFormatError } from "../../src/kerberos/files/bytes.js";
import { parseCcache, serializeCcache } from "../../src/kerberos/files/ccache.js";
import { parseKeytab, serializeKeytab } from "../../src/kerberos/files/keytab.js";
import * as m from "../../src/kerberos/messages/index.js";
import { encodeMessage, FIXTURE_FILE, fixtureBytes, loadFixtures } from "./fixtures.js";
import * as fs from "node:fs";

const fixtures = loadFixtures();
const seeds = fixtures.map(fixtureBytes);
const files = (
  JSON.parse(fs.readFileSync(FIXTURE_FILE, "utf8")) as { files: { keytab: string; ccache: string } }
).files;

/** Inner structures of the real messages, as seeds for the inner decoders. */
function innerSeeds(): {
  name: string;
  bytes: Uint8Array;
  decode: (b: Uint8Array) => unknown;
  encode: (x: never) => Uint8Array;
}[] {
  const byName = (n: string) => fixtureBytes(fixtures.find((f) => f.name === n)!);
  const err = m.decodeKrbError(byName("krb-error-kdc-err-preauth-required"));
  const md = m.decodeMethodData(err.eData!);
  const asReq = m.decodeAsReq(byName("as-req-pa-enc-timestamp"));
  const rep = m.decodeAsRep(byName("as-rep"));
  return [
    {
      name: "METHOD-DATA",
      bytes: err.eData!,
      decode: m.decodeMethodData,
      encode: m.encodeMethodData,
    },
    {
      name: "ETYPE-INFO2",
      bytes: m.findPaData(md, 19)!.padataValue,
      decode: m.decodeEtypeInfo2,
      encode: m.encodeEtypeInfo2,
    },
    {
      name: "PA-ENC-TIMESTAMP",
      bytes: m.findPaData(asReq.padata, 2)!.padataValue,
      decode: m.decodePaEncTimestamp,
      encode: m.encodePaEncTimestamp,
    },
    {
      name: "Ticket",
      bytes: m.encodeTicket(rep.ticket),
      decode: m.decodeTicket,
      encode: m.encodeTicket,
    },
    {
      name: "KDC-REQ-BODY",
      bytes: m.encodeKdcReqBody(asReq.reqBody),
      decode: m.decodeKdcReqBody,
      encode: m.encodeKdcReqBody,
    },
    {
      name: "AP-REQ",
      bytes: byName("ap-req-in-pa-tgs-req"),
      decode: m.decodeApReq,
      encode: m.encodeApReq,
    },
  ];
}

/** Every decoder the library exports, for random input. */
const DECODERS: ((b: Uint8Array) => unknown)[] = [
  m.decodeKrbMessage,
  m.decodeAsReq,
  m.decodeTgsReq,
  m.decodeAsRep,
  m.decodeTgsRep,
  m.decodeApReq,
  m.decodeApRep,
  m.decodeKrbError,
  m.decodeKrbSafe,
  m.decodeKrbPriv,
  m.decodeKrbCred,
  m.decodeTicket,
  m.decodeEncTicketPart,
  m.decodeAuthenticator,
  m.decodeEncAsRepPart,
  m.decodeEncTgsRepPart,
  m.decodeEncKdcRepPart,
  m.decodeEncApRepPart,
  m.decodeEncKrbPrivPart,
  m.decodeEncKrbCredPart,
  m.decodeKdcReqBody,
  m.decodePrincipalName,
  m.decodeEncryptedData,
  m.decodeEncryptionKey,
  m.decodeChecksum,
  m.decodeHostAddress,
  m.decodeHostAddresses,
  m.decodeAuthorizationData,
  m.decodeTransitedEncoding,
  m.decodeLastReq,
  m.decodePaData,
  m.decodeMethodData,
  m.decodePaEncTsEnc,
  m.decodePaEncTimestamp,
  m.decodeEtypeInfo2,
  m.decodeEtypeInfo2Entry,
  m.decodePaPacRequest,
  m.decodePaForUser,
  m.decodeTypedData,
  m.decodeKerbErrorData,
  m.kdcReqBodyBytes,
];

type Mutation =
  | { kind: "flip"; at: number; bit: number }
  | { kind: "set"; at: number; value: number }
  | { kind: "delete"; at: number; len: number }
  | { kind: "insert"; at: number; data: Uint8Array }
  | { kind: "truncate"; at: number }
  | { kind: "duplicate"; at: number; len: number };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({
    kind: fc.constant("flip" as const),
    at: fc.nat(),
    bit: fc.integer({ min: 0, max: 7 }),
  }),
  fc.record({
    kind: fc.constant("set" as const),
    at: fc.nat(),
    value: fc.constantFrom(0x00, 0x80, 0x81, 0x84, 0xff, 0x30, 0x02, 0x04, 0x1f, 0xa0),
  }),
  fc.record({
    kind: fc.constant("delete" as const),
    at: fc.nat(),
    len: fc.integer({ min: 1, max: 8 }),
  }),
  fc.record({
    kind: fc.constant("insert" as const),
    at: fc.nat(),
    data: fc.uint8Array({ minLength: 1, maxLength: 6 }),
  }),
  fc.record({ kind: fc.constant("truncate" as const), at: fc.nat() }),
  fc.record({
    kind: fc.constant("duplicate" as const),
    at: fc.nat(),
    len: fc.integer({ min: 1, max: 40 }),
  }),
);

function mutate(seed: Uint8Array, muts: Mutation[]): Uint8Array {
  let b = Buffer.from(seed);
  for (const mu of muts) {
    const at = b.length === 0 ? 0 : mu.at % b.length;
    switch (mu.kind) {
      case "flip":
        if (b.length) b[at] = b[at]! ^ (1 << mu.bit);
        break;
      case "set":
        if (b.length) b[at] = mu.value;
        break;
      case "delete":
        b = Buffer.concat([b.subarray(0, at), b.subarray(at + mu.len)]);
        break;
      case "insert":
        b = Buffer.concat([b.subarray(0, at), mu.data, b.subarray(at)]);
        break;
      case "truncate":
        b = b.subarray(0, at);
        break;
      case "duplicate":
        b = Buffer.concat([b.subarray(0, at), b.subarray(at, at + mu.len), b.subarray(at)]);
        break;
    }
  }
  return new Uint8Array(b);
}

/** Decodes; returns the record or "error" for an Asn1Error; anything else fails the test. */
function decodeOrAsn1Error<T>(decode: (b: Uint8Array) => T, bytes: Uint8Array): T | "error" {
  try {
    return decode(bytes);
  } catch (e) {
    if (e instanceof Asn1Error) {
      assert.ok(
        e.message.length < 400 && !e.message.includes("\n"),
        `one clear line: ${e.message}`,
      );
      return "error";
    }
    throw new Error(`non-Asn1Error ${String(e)} for input ${Buffer.from(bytes).toString("hex")}`);
  }
}

describe("decoder fuzzing (issue 4 item 9): mutated real messages give Asn1Error, never another exception", () => {
  it("mutated and truncated MIT messages through decodeKrbMessage (RFC 4120 §5.10)", () => {
    let decoded = 0;
    let rejected = 0;
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: seeds.length - 1 }),
        fc.array(mutation, { minLength: 1, maxLength: 4 }),
        (i, muts) => {
          const input = mutate(seeds[i]!, muts);
          const r = decodeOrAsn1Error(m.decodeKrbMessage, input);
          if (r === "error") {
            rejected++;
            return;
          }
          decoded++;
          // what we accept we can write back, and it reads the same
          assert.deepStrictEqual(m.decodeKrbMessage(encodeMessage(r)), r);
        },
      ),
      { numRuns: 4000 },
    );
    assert.ok(
      rejected > 1000,
      `most mutations are rejected (${rejected} rejected, ${decoded} accepted)`,
    );
  });

  it("every truncation of every MIT message is rejected with an Asn1Error", () => {
    for (const s of seeds) {
      for (let n = 0; n < s.length; n++) {
        assert.equal(decodeOrAsn1Error(m.decodeKrbMessage, s.subarray(0, n)), "error");
      }
    }
  });

  it("mutated inner structures (METHOD-DATA, ETYPE-INFO2, PA-ENC-TIMESTAMP, Ticket, KDC-REQ-BODY, AP-REQ)", () => {
    for (const inner of innerSeeds()) {
      assert.deepStrictEqual(
        inner.encode(inner.decode(inner.bytes) as never),
        inner.bytes,
        `${inner.name} re-encodes`,
      );
      fc.assert(
        fc.property(fc.array(mutation, { minLength: 1, maxLength: 3 }), (muts) => {
          const r = decodeOrAsn1Error(inner.decode, mutate(inner.bytes, muts));
          if (r !== "error") assert.deepStrictEqual(inner.decode(inner.encode(r as never)), r);
        }),
        { numRuns: 500 },
      );
    }
  });

  it("random bytes and random DER-looking prefixes through every decoder", () => {
    const prefix = fc.constantFrom(
      0x30,
      0x6a,
      0x6b,
      0x6c,
      0x6d,
      0x6e,
      0x6f,
      0x7e,
      0x61,
      0x63,
      0xa0,
      0x02,
      0x04,
    );
    fc.assert(
      fc.property(prefix, fc.uint8Array({ maxLength: 64 }), (p, rest) => {
        const input = Uint8Array.of(p, ...rest);
        for (const d of DECODERS) decodeOrAsn1Error(d, input);
        for (const d of DECODERS) decodeOrAsn1Error(d, rest);
      }),
      { numRuns: 1000 },
    );
  });

  it("deep nesting and huge declared lengths fail fast without recursion or allocation", () => {
    const nested = new Uint8Array(200_000);
    for (let i = 0; i < nested.length; i += 2) nested.set([0x30, 0x80], i);
    for (const d of DECODERS) assert.equal(decodeOrAsn1Error(d, nested), "error");
    const deep: number[] = [];
    for (let i = 0; i < 5000; i++) deep.push(0x30, 0x84, 0x7f, 0xff, 0xff, 0xff);
    for (const d of DECODERS) assert.equal(decodeOrAsn1Error(d, Uint8Array.from(deep)), "error");
  });
});

function parseOrFileError<T>(parse: (b: Uint8Array) => T, bytes: Uint8Array): T | "error" {
  try {
    return parse(bytes);
  } catch (e) {
    if (e instanceof FileFormatError) return "error";
    throw new Error(`non-FileFormatError ${String(e)} for ${Buffer.from(bytes).toString("hex")}`);
  }
}

describe("file parser fuzzing: mutated MIT keytab and ccache give FileFormatError, never another exception", () => {
  const cases: {
    name: string;
    seed: Uint8Array;
    parse: (b: Uint8Array) => unknown;
    serialize: (x: never) => Uint8Array;
  }[] = [
    {
      name: "keytab",
      seed: new Uint8Array(Buffer.from(files.keytab, "hex")),
      parse: parseKeytab,
      serialize: serializeKeytab,
    },
    {
      name: "ccache",
      seed: new Uint8Array(Buffer.from(files.ccache, "hex")),
      parse: parseCcache,
      serialize: serializeCcache,
    },
  ];
  for (const c of cases) {
    it(`mutated and truncated MIT ${c.name}`, () => {
      assert.deepStrictEqual(
        c.serialize(c.parse(c.seed) as never),
        c.seed,
        "seed re-serialises byte for byte",
      );
      fc.assert(
        fc.property(fc.array(mutation, { minLength: 1, maxLength: 4 }), (muts) => {
          const r = parseOrFileError(c.parse, mutate(c.seed, muts));
          if (r !== "error") assert.deepStrictEqual(c.parse(c.serialize(r as never)), r);
        }),
        { numRuns: 1500 },
      );
      for (let n = 2; n < c.seed.length; n += 7) parseOrFileError(c.parse, c.seed.subarray(0, n));
    });
  }
});
