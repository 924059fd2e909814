/**
 * MIT keytab v2 and ccache v4 files: property round trips, the kvno trailer, holes,
 * X-CACHECONF entries, clear errors for what we do not read, atomic 0600 writes.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, describe, it } from "node:test";
import fc from "fast-check";
import { PosternError } from "../../src/errors.js";
import { FileFormatError, filePathFromName } from "../../src/kerberos/files/bytes.js";
import {
  type Ccache,
  type Credential,
  cacheConfigEntries,
  isCacheConfigEntry,
  makeCacheConfigEntry,
  parseCcache,
  readCcacheFile,
  serializeCcache,
  writeCcacheFile,
} from "../../src/kerberos/files/ccache.js";
import {
  type KeytabEntry,
  parseKeytab,
  readKeytabFile,
  serializeKeytab,
  writeKeytabFile,
} from "../../src/kerberos/files/keytab.js";
import type { Principal } from "../../src/kerberos/principal.js";
import { FIXTURE_FILE } from "./fixtures.js";

/** fc.record with plain (not null-prototype) objects, the shape parsers return. */
const record = ((model: never, opts?: object) =>
  fc.record(model, { ...opts, noNullPrototype: true } as never)) as unknown as typeof fc.record;
const u16 = fc.integer({ min: 0, max: 0xffff });
const u32 = fc.integer({ min: 0, max: 0xffffffff });
const text = fc.string({ unit: "grapheme", maxLength: 10 });
const bytes = fc.uint8Array({ maxLength: 40 });
const principal: fc.Arbitrary<Principal> = record({
  realm: text,
  name: record({
    nameType: fc.integer({ min: -0x80000000, max: 0x7fffffff }),
    nameString: fc.array(text, { maxLength: 3 }),
  }),
});
const keytabEntry: fc.Arbitrary<KeytabEntry> = record({
  principal,
  timestamp: u32,
  kvno: u32.filter((k) => k !== 0),
  key: record({ keytype: u16, keyvalue: bytes }),
});
const credential: fc.Arbitrary<Credential> = record({
  client: principal,
  server: principal,
  key: record({ keytype: u16, keyvalue: bytes }),
  authtime: u32,
  starttime: u32,
  endtime: u32,
  renewTill: u32,
  isSkey: fc.boolean(),
  ticketFlags: u32,
  addresses: fc.array(record({ addrType: u16, address: bytes }), { maxLength: 2 }),
  authdata: fc.array(record({ adType: u16, adData: bytes }), { maxLength: 2 }),
  ticket: bytes,
  secondTicket: bytes,
});
const ccache: fc.Arbitrary<Ccache> = record(
  {
    timeOffset: record({
      seconds: fc.integer({ min: -0x80000000, max: 0x7fffffff }),
      microseconds: fc.integer({ min: 0, max: 999999 }),
    }),
    otherHeaderTags: fc.array(record({ tag: fc.integer({ min: 2, max: 0xffff }), value: bytes }), {
      minLength: 1,
      maxLength: 2,
    }),
    defaultPrincipal: principal,
    credentials: fc.array(credential, { maxLength: 3 }),
  },
  { requiredKeys: ["defaultPrincipal", "credentials"] },
);

const files = (
  JSON.parse(fs.readFileSync(FIXTURE_FILE, "utf8")) as { files: { keytab: string; ccache: string } }
).files;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "pkc-files-"));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

function fileError(fn: () => unknown, message: RegExp): void {
  assert.throws(fn, (e: unknown) => e instanceof FileFormatError && message.test(e.message));
}

describe("MIT keytab v2 (0x0502)", () => {
  it("round-trips any entries, kvno above 255 through the 32-bit trailer", () => {
    fc.assert(
      fc.property(fc.array(keytabEntry, { maxLength: 4 }), (entries) => {
        assert.deepStrictEqual(parseKeytab(serializeKeytab({ entries })), { entries });
      }),
      { numRuns: 200 },
    );
  });

  it("reads the 8-bit kvno when there is no trailer, or when the trailer is 0", () => {
    const one = serializeKeytab({
      entries: [
        {
          principal: { realm: "R", name: { nameType: 1, nameString: ["a"] } },
          timestamp: 1,
          kvno: 0x1_05,
          key: { keytype: 18, keyvalue: new Uint8Array(2) },
        },
      ],
    });
    const noTrailer = Buffer.from(one.subarray(0, one.length - 4));
    noTrailer.writeInt32BE(one.length - 4 - 2 - 4, 2);
    assert.equal(parseKeytab(noTrailer).entries[0]!.kvno, 5);
    const zero = Buffer.from(one);
    zero.writeUInt32BE(0, zero.length - 4);
    assert.equal(parseKeytab(zero).entries[0]!.kvno, 5);
  });

  it("skips holes (negative entry sizes) as MIT does after a removal", () => {
    const kt = Buffer.from(serializeKeytab({ entries: [] }));
    const hole = Buffer.alloc(4 + 10);
    hole.writeInt32BE(-10, 0);
    const withEntry = serializeKeytab({
      entries: [
        {
          principal: { realm: "R", name: { nameType: 1, nameString: ["b"] } },
          timestamp: 0,
          kvno: 3,
          key: { keytype: 17, keyvalue: new Uint8Array(16) },
        },
      ],
    });
    const file = Buffer.concat([kt, hole, withEntry.subarray(2)]);
    assert.deepStrictEqual(
      parseKeytab(file).entries.map((e) => e.principal.name.nameString),
      [["b"]],
    );
  });

  it("refuses what is not a v2 keytab, and truncated entries, in one line", () => {
    fileError(
      () => parseKeytab(Uint8Array.of(5, 1)),
      /keytab version 0x0501 \(v1\) is not supported/,
    );
    fileError(() => parseKeytab(Uint8Array.of(5, 4, 0, 0)), /0x0504 is not a keytab/);
    fileError(
      () => parseKeytab(Uint8Array.of(5, 2, 0, 0, 0, 9, 1)),
      /entry at offset 6: size 9 exceeds the 1 bytes left/,
    );
    const mit = Buffer.from(files.keytab, "hex");
    const cut = Buffer.from(mit.subarray(0, 40));
    cut.writeInt32BE(34, 2);
    fileError(() => parseKeytab(cut), /needs \d+ bytes, \d+ left/);
  });

  it("writes atomically with mode 0600, by path or FILE: name, and reads back", () => {
    const entries = parseKeytab(Buffer.from(files.keytab, "hex")).entries;
    const file = path.join(tmp, "k.keytab");
    writeKeytabFile(`FILE:${file}`, { entries });
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
    assert.deepStrictEqual(readKeytabFile(file).entries, entries);
    assert.throws(
      () => readKeytabFile(path.join(tmp, "missing")),
      (e: unknown) => e instanceof PosternError && /no such file/.test(e.message),
    );
  });
});

describe("MIT credential cache v4 (0x0504)", () => {
  it("round-trips any cache: header tags, principals, credentials", () => {
    fc.assert(
      fc.property(ccache, (cc) => {
        assert.deepStrictEqual(parseCcache(serializeCcache(cc)), cc);
      }),
      { numRuns: 200 },
    );
  });

  it("reads MIT's X-CACHECONF: entries and makes them the way krb5_cc_set_config does", () => {
    const mit = parseCcache(Buffer.from(files.ccache, "hex"));
    const conf = cacheConfigEntries(mit).map((e) => ({
      ...e,
      value: Buffer.from(e.value).toString(),
    }));
    assert.deepStrictEqual(conf, [
      { key: "fast_avail", principal: "krbtgt/MIT.TEST@MIT.TEST", value: "yes" },
      { key: "pa_type", principal: "krbtgt/MIT.TEST@MIT.TEST", value: "2" },
    ]);
    const tgs = { realm: "MIT.TEST", name: { nameType: 2, nameString: ["krbtgt", "MIT.TEST"] } };
    const ours = makeCacheConfigEntry(
      mit.defaultPrincipal,
      "pa_type",
      new TextEncoder().encode("2"),
      tgs,
    );
    assert.ok(isCacheConfigEntry(ours));
    const theirs = mit.credentials.find(
      (c) => isCacheConfigEntry(c) && c.server.name.nameString[1] === "pa_type",
    )!;
    assert.deepStrictEqual(ours.server, theirs.server);
    assert.deepStrictEqual(ours.client, theirs.client);
    assert.deepStrictEqual(ours.ticket, theirs.ticket);
  });

  it("reads v3 (no header) and refuses v1/v2 and garbage in one line", () => {
    const v4 = parseCcache(Buffer.from(files.ccache, "hex"));
    const body = Buffer.from(
      serializeCcache({ defaultPrincipal: v4.defaultPrincipal, credentials: v4.credentials }),
    );
    const v3 = Buffer.concat([Buffer.of(5, 3), body.subarray(4)]);
    assert.deepStrictEqual(parseCcache(v3).credentials, v4.credentials);
    fileError(() => parseCcache(Uint8Array.of(5, 1)), /ccache version 0x501 is not supported/);
    fileError(() => parseCcache(Uint8Array.of(0, 0)), /0x0000 is not a credential cache/);
    fileError(
      () => parseCcache(Uint8Array.of(5, 4, 0, 12, 0, 1)),
      /header at offset 4: length 12 exceeds/,
    );
  });

  it("writes atomically with mode 0600 and reads back; only FILE: caches", () => {
    const cc = parseCcache(Buffer.from(files.ccache, "hex"));
    const file = path.join(tmp, "cc");
    writeCcacheFile(`FILE:${file}`, cc);
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
    assert.deepStrictEqual(readCcacheFile(file), cc);
    assert.throws(
      () => filePathFromName("KEYRING:persistent:0", "ccache"),
      /only FILE: ccaches are supported \(got KEYRING:\)/,
    );
    assert.equal(filePathFromName("WRFILE:/x", "keytab"), "/x");
  });
});
