import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { NdrError } from "../../src/ndr/errors.js";
import { createNdrReader } from "../../src/ndr/reader.js";
import { openTypeSerialization, sealTypeSerialization } from "../../src/ndr/type-serialization.js";
import { createNdrWriter } from "../../src/ndr/writer.js";

describe("NDR reader and writer (C706 §14, MS-RPCE 2.2.6)", () => {
  it("C706 14.2.2 scalars align to their size relative to the stream start", () => {
    const w = createNdrWriter();
    w.u8(1);
    w.u16(0x0203);
    w.u32(0x04050607);
    w.u8(8);
    w.u64(0x090a0b0c0d0e0f10n);
    assert.equal(
      Buffer.from(w.finish()).toString("hex"),
      "01" + "00" + "0302" + "07060504" + "08" + "00000000000000" + "100f0e0d0c0b0a09",
    );
  });

  it("C706 14.3.10 unique pointers get referent ids 0x00020000, 0x00020004, ... and NULL is 0", () => {
    const w = createNdrWriter();
    assert.equal(w.pointer(true), true);
    assert.equal(w.pointer(false), false);
    assert.equal(w.pointer(true), true);
    assert.equal(Buffer.from(w.finish()).toString("hex"), "000002000000000004000200");
  });

  it("reads back what it writes (property)", () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.tuple(fc.constantFrom(1, 2, 4, 8), fc.bigInt({ min: 0n, max: 2n ** 64n - 1n })),
        ),
        (items) => {
          const w = createNdrWriter();
          const values = items.map(([size, v]) => {
            const x = size === 8 ? v : Number(v % (1n << BigInt(size * 8)));
            if (size === 1) w.u8(x as number);
            else if (size === 2) w.u16(x as number);
            else if (size === 4) w.u32(x as number);
            else w.u64(x as bigint);
            return [size, x] as const;
          });
          const r = createNdrReader(w.finish());
          for (const [size, x] of values) {
            const got =
              size === 1
                ? r.u8("a")
                : size === 2
                  ? r.u16("b")
                  : size === 4
                    ? r.u32("c")
                    : r.u64("d");
            assert.equal(got, x);
          }
          assert.equal(r.remaining, 0);
        },
      ),
    );
  });

  it("a read past the end or a count larger than the rest is an NdrError naming the field", () => {
    const r = createNdrReader(Uint8Array.of(1, 2, 3));
    assert.throws(
      () => r.u32("UserId"),
      (e: unknown) =>
        e instanceof NdrError &&
        e.code === "ndr-truncated" &&
        /UserId needs 4 bytes at offset 0, only 3 left/.test(e.message),
    );
    const big = createNdrReader(Uint8Array.of(0xff, 0xff, 0xff, 0x0f, 0, 0, 0, 0));
    assert.throws(
      () => big.count(8, "GroupIds count"),
      /GroupIds count 268435455 needs 2147483640 bytes, only 4 left/,
    );
  });

  it("MS-RPCE 2.2.6 type serialization: headers written and checked", () => {
    const sealed = sealTypeSerialization((w) => w.u32(7));
    assert.equal(
      Buffer.from(sealed).toString("hex"),
      "01100800cccccccc080000000000000007000000" + "00000000",
    );
    assert.equal(openTypeSerialization(sealed, "X").u32("v"), 7);
    const bigEndian = Uint8Array.from(sealed);
    bigEndian[1] = 0x00;
    assert.throws(
      () => openTypeSerialization(bigEndian, "LOGON_INFO"),
      /LOGON_INFO: serialization header version 1, endianness 0x0/,
    );
    const lying = Uint8Array.from(sealed);
    lying[8] = 0x40;
    assert.throws(
      () => openTypeSerialization(lying, "LOGON_INFO"),
      /object buffer length 64 exceeds the 8 bytes present/,
    );
  });
});
