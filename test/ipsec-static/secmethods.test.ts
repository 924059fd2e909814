import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import type { MmSecMethod, QmSecMethod } from "../../src/policy/model.js";
import {
  DEFAULT_MM_SECMETHODS_TEXT,
  DEFAULT_QM_SECMETHODS_TEXT,
  defaultMmSecMethods,
  defaultQmSecMethods,
  formatMmSecMethod,
  formatQmSecMethod,
  formatQmSecMethods,
  parseMmSecMethod,
  parseMmSecMethods,
  parseQmSecMethod,
  parseQmSecMethods,
} from "../../src/policy/secmethods.js";

function collect(): { warn: (m: string) => void; warnings: string[] } {
  const warnings: string[] = [];
  return { warn: (m) => warnings.push(m), warnings };
}

describe("quick-mode security methods (qmsecmethods)", () => {
  it("parses the 2003 help forms ESP[conf,auth], AH[hash], AH[..]+ESP[..] with :Nk/Ns", () => {
    const w = collect();
    assert.deepEqual(parseQmSecMethod("ESP[AES256,SHA256]:100000k/2000s", w.warn), {
      esp: { conf: "aes256", auth: "sha256" },
      lifetimeKb: 100000,
      lifetimeSec: 2000,
    });
    assert.deepEqual(parseQmSecMethod("ah[sha256]", w.warn), {
      ah: { hash: "sha256" },
      lifetimeKb: 100000,
      lifetimeSec: 3600,
    });
    assert.deepEqual(parseQmSecMethod("AH[SHA384]+ESP[AES128GCM,None]:30000k/480s", w.warn), {
      ah: { hash: "sha384" },
      esp: { conf: "aes128gcm", auth: "none" },
      lifetimeKb: 30000,
      lifetimeSec: 480,
    });
    assert.equal(parseQmSecMethod("ESP[None,SHA256]:50000k", w.warn).lifetimeKb, 50000);
    assert.equal(parseQmSecMethod("ESP[None,SHA256]:600s", w.warn).lifetimeSec, 600);
    assert.deepEqual(w.warnings, []);
  });

  it("keeps the order of space-separated offers (preference)", () => {
    const ms = parseQmSecMethods(" ESP[AES256GCM,None]  AH[SHA256] ", () => undefined);
    assert.deepEqual(
      ms.map((m) => formatQmSecMethod(m)),
      ["ESP[AES256GCM,None]:100000k/3600s", "AH[SHA256]:100000k/3600s"],
    );
  });

  it("refuses DES and MD5 naming a modern replacement", () => {
    assert.throws(
      () => parseQmSecMethod("ESP[DES,SHA256]", () => undefined),
      /DES is refused.*AES256/,
    );
    assert.throws(() => parseQmSecMethod("AH[MD5]", () => undefined), /MD5 is refused.*SHA256/);
    assert.throws(
      () => parseQmSecMethod("ESP[3DES,MD5]:100000k/2000s", () => undefined),
      /MD5 is refused/,
    );
  });

  it("accepts 3DES and SHA1 with a warning", () => {
    const w = collect();
    parseQmSecMethod("ESP[3DES,SHA1]", w.warn);
    assert.equal(w.warnings.length, 2);
    assert.match(w.warnings[0] as string, /warning: .*3DES is legacy/);
    assert.match(w.warnings[1] as string, /warning: .*SHA1 is legacy/);
  });

  it("refuses malformed offers with one line naming the offer", () => {
    const bad = [
      "ESP",
      "ESP[AES256]",
      "ESP[AES256,SHA256,X]",
      "AH[SHA256]ESP[AES256,SHA256]",
      "ESP[None,None]",
      "AH[None]",
      "ESP[AES256GCM,SHA256]",
      "ESP[AES512,SHA256]",
      "ESP[AES256,SHA256]:100k/3600s",
      "ESP[AES256,SHA256]:100000k/30s",
      "ESP[AES256,SHA256]:100000k/3600",
      "ESP[AES256,SHA256]:",
      "ESP[AES256,SHA256]+AH[SHA256]",
    ];
    for (const b of bad) {
      assert.throws(
        () => parseQmSecMethod(b, () => undefined),
        (e: Error) => e.message.includes(b) && !e.message.includes("\n"),
        b,
      );
    }
    assert.throws(() => parseQmSecMethods("  ", () => undefined), /no security method/);
  });

  it("defaults are AEAD first, then AES-CBC with SHA-256, all modern", () => {
    const w = collect();
    const ms = parseQmSecMethods(DEFAULT_QM_SECMETHODS_TEXT, w.warn);
    assert.deepEqual(ms, defaultQmSecMethods());
    assert.equal(ms[0]?.esp?.conf, "aes256gcm");
    assert.deepEqual(w.warnings, []);
  });

  const qmArb: fc.Arbitrary<QmSecMethod> = fc
    .record({
      shape: fc.constantFrom("ah", "esp", "both"),
      hash: fc.constantFrom("sha1", "sha256", "sha384" as const),
      conf: fc.constantFrom("none", "3des", "aes128", "aes256", "aes128gcm", "aes256gcm" as const),
      auth: fc.constantFrom("none", "sha1", "sha256", "sha384" as const),
      kb: fc.integer({ min: 20480, max: 2147483647 }),
      sec: fc.integer({ min: 300, max: 172800 }),
    })
    .map((r) => {
      const m: QmSecMethod = { lifetimeKb: r.kb, lifetimeSec: r.sec };
      if (r.shape !== "esp") m.ah = { hash: r.hash };
      if (r.shape !== "ah") {
        const gcm = r.conf === "aes128gcm" || r.conf === "aes256gcm";
        const auth = gcm ? "none" : r.conf === "none" && r.auth === "none" ? "sha256" : r.auth;
        m.esp = { conf: r.conf, auth };
      }
      return m;
    });

  it("property: parse(format(m)) = m for every valid offer list", () => {
    fc.assert(
      fc.property(fc.array(qmArb, { minLength: 1, maxLength: 6 }), (ms) => {
        const text = formatQmSecMethods(ms);
        assert.deepEqual(
          parseQmSecMethods(text, () => undefined),
          ms,
        );
        assert.deepEqual(
          parseQmSecMethods(text.toLowerCase(), () => undefined),
          ms,
        );
      }),
      { numRuns: 500 },
    );
  });
});

describe("main-mode security methods (mmsecmethods)", () => {
  it("parses conf-hash-group; 2003's group 3 (DH2048) is group 14", () => {
    assert.deepEqual(
      parseMmSecMethod("AES256-SHA256-14", () => undefined),
      {
        conf: "aes256",
        hash: "sha256",
        dhGroup: 14,
      },
    );
    assert.equal(parseMmSecMethod("aes128-sha384-3", () => undefined).dhGroup, 14);
    assert.equal(parseMmSecMethod("AES256GCM-SHA384-19", () => undefined).dhGroup, 19);
    assert.equal(parseMmSecMethod("AES256GCM-SHA384-31", () => undefined).dhGroup, 31);
  });

  it("refuses DH group 1, DES and MD5; warns for group 2, 3DES and SHA1", () => {
    assert.throws(
      () => parseMmSecMethod("AES256-SHA256-1", () => undefined),
      /DH group 1 .*refused.*14/,
    );
    assert.throws(() => parseMmSecMethod("DES-SHA256-14", () => undefined), /DES is refused/);
    assert.throws(() => parseMmSecMethod("AES256-MD5-14", () => undefined), /MD5 is refused/);
    const w = collect();
    parseMmSecMethod("3DES-SHA1-2", w.warn);
    assert.equal(w.warnings.length, 3);
    assert.match(w.warnings.join("|"), /3DES.*SHA1.*DH group 2/);
  });

  it("refuses malformed offers", () => {
    for (const b of [
      "AES256-SHA256",
      "AES256-SHA256-14-1",
      "AES256-SHA256-5",
      "AES256-SHA256-x",
      "X-SHA256-14",
    ]) {
      assert.throws(
        () => parseMmSecMethod(b, () => undefined),
        (e: Error) => e.message.includes(b),
        b,
      );
    }
  });

  it("defaults are modern and parse without warnings", () => {
    const w = collect();
    assert.deepEqual(parseMmSecMethods(DEFAULT_MM_SECMETHODS_TEXT, w.warn), defaultMmSecMethods());
    assert.deepEqual(w.warnings, []);
  });

  it("property: parse(format(m)) = m", () => {
    const arb: fc.Arbitrary<MmSecMethod> = fc
      .record({
        conf: fc.constantFrom("3des", "aes128", "aes256", "aes128gcm", "aes256gcm" as const),
        hash: fc.constantFrom("sha1", "sha256", "sha384" as const),
        dhGroup: fc.constantFrom(2, 14, 19, 31 as const),
      })
      .map((r) => ({ ...r }));
    fc.assert(
      fc.property(arb, (m) => {
        assert.deepEqual(
          parseMmSecMethod(formatMmSecMethod(m), () => undefined),
          m,
        );
      }),
      { numRuns: 300 },
    );
  });
});
