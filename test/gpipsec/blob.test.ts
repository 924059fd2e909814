/**
 * The ipsecData codec against the layouts of [MS-GPIPSEC] 2.2.1 and the bytes Windows wrote
 * (these blobs are the ones a fresh Samba provision holds, from Windows' default policies):
 * each field where the specification puts it, byte-identical re-encoding where the blob has
 * no stray padding, one-line refusals for malformed input, and a bounded mutation fuzz.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  BlobError,
  decodeFilterBlob,
  decodeIsakmpBlob,
  decodeNegotiationBlob,
  decodeNfaBlob,
  decodePolicyBlob,
  encodeFilterBlob,
  encodeIsakmpBlob,
  encodeNegotiationBlob,
  encodeNfaBlob,
  encodePolicyBlob,
  guidBytes,
  guidString,
} from "../../src/gpipsec/blob.js";

const hex = (h: string) => Buffer.from(h, "hex");

/** ipsecPolicy{72385230-...} "Server (Request Security)". */
const POLICY = hex("632120224c4fd111863b00a0248d302104000000302a000000");
/** ipsecNFA{72385232-...} "Request Security (Optional) Rule": Kerberos, all interfaces. */
const NFA = hex(
  "00acbb118d49d111863900a0248d30212a0000000100000005000000020000000000fdffffff02000000000000000000000000000100000002000000000000",
);
/** ipsecFilter{72385235-...} "All ICMP Traffic". */
const FILTER = hex(
  "b520dc80c82ed111a89e00a0248d302152000000010000000200000000000200000000000a000000490043004d005000000063d219511d07d311ad220060b0ecca170100000000000000ffffffff00000000000000000000000001000000000000000000000000",
);
/** ipsecISAKMPPolicy{72385231-...}: four methods, Windows' 0xcd padding included. */
const ISAKMP = hex(
  `b820dc80c82ed111a89e00a0248d30214001000068d219511d07d311ad220060b0ecca17${"00".repeat(44)}04000000${[
    "03000000400000000800000002000000",
    "03000000400000000800000001000000",
    "01000000400000000800000002000000",
    "01000000400000000800000001000000",
  ]
    .map(
      (m, i) =>
        `0000cdcd${m}400000000000000000000000000000000000000000cdcdcd0${i < 2 ? 2 : 1}000000000000000000000080700000cdcdcdcd`,
    )
    .join("")}00`,
);
/** ipsecNegotiationPolicy{7238523B-...} "Permit": no offers. */
const PERMIT = hex("b920dc80c82ed111a89e00a0248d3021040000000000000000");

describe("[MS-GPIPSEC] ipsecData: the specification's layouts on Windows-written bytes", () => {
  it("GUIDs are stored Data1-3 little-endian, Data4 as bytes", () => {
    const g = "22202163-4f4c-11d1-863b-00a0248d3021";
    assert.equal(guidBytes(g).toString("hex"), "632120224c4fd111863b00a0248d3021");
    assert.equal(guidString(guidBytes(g)), g);
  });

  it("ipsecPolicy: Polling-Interval 10,800 s, and re-encodes byte for byte", () => {
    assert.deepEqual(decodePolicyBlob(POLICY), { pollingSec: 10800 });
    assert.deepEqual(encodePolicyBlob({ pollingSec: 10800 }), POLICY);
  });

  it("ipsecNFA: one Kerberos method, all interfaces, active, no tunnel; byte for byte", () => {
    const n = decodeNfaBlob(NFA);
    assert.deepEqual(n, {
      auth: [{ type: 5, data: "", flags: 0 }],
      ifType: 0xfffffffd,
      ifName: "",
      tunnelAddr: "0.0.0.0",
      isTunnel: false,
      active: true,
      tunnelName: "",
    });
    assert.deepEqual(encodeNfaBlob(n), NFA);
  });

  it("ipsecNFA with a PSK, a CA and an IPv6 tunnel carries the optional parts and reads back", () => {
    const n = {
      auth: [
        { type: 1, data: "Open-Sesame", flags: 0 },
        { type: 3, data: "CN=Lab Root", flags: 3 },
      ],
      ifType: 0xfffffffe,
      ifName: "",
      tunnelAddr: "0.0.0.0",
      isTunnel: true,
      active: false,
      tunnelName: "",
      tunnelAddr6: "2001:db8::1",
    };
    assert.deepEqual(decodeNfaBlob(encodeNfaBlob(n)), n);
  });

  it("ipsecFilter: one mirrored Me-to-Any ICMP filter described 'ICMP'; byte for byte", () => {
    const f = decodeFilterBlob(FILTER);
    assert.equal(f.filters.length, 1);
    const s = f.filters[0];
    assert.equal(s?.description, "ICMP");
    assert.equal(s?.id, "5119d263-071d-11d3-ad22-0060b0ecca17");
    assert.equal(s?.mirrored, true);
    assert.equal(`${s?.srcAddr}/${s?.srcMask}`, "0.0.0.0/255.255.255.255");
    assert.equal(`${s?.dstAddr}/${s?.dstMask}`, "0.0.0.0/0.0.0.0");
    assert.equal(s?.protocol, 1);
    assert.deepEqual(encodeFilterBlob(f), FILTER);
  });

  it("ipsecISAKMPPolicy: 3DES/SHA1/2, 3DES/MD5/2, DES/SHA1/1, DES/MD5/1 at 28,800 s; padding ignored", () => {
    const p = decodeIsakmpBlob(ISAKMP);
    assert.equal(p.instance, "5119d268-071d-11d3-ad22-0060b0ecca17");
    assert.equal(p.masterPfs, false);
    assert.deepEqual(
      p.methods.map((m) => [m.conf, m.hash, m.group, m.lifetimeSec]),
      [
        [3, 2, 2, 28800],
        [3, 1, 2, 28800],
        [1, 2, 1, 28800],
        [1, 1, 1, 28800],
      ],
    );
    assert.deepEqual(decodeIsakmpBlob(encodeIsakmpBlob(p)), p);
  });

  it("ipsecNegotiationPolicy: Permit has no offers; an offer with no algorithm round-trips (soft)", () => {
    assert.deepEqual(decodeNegotiationBlob(PERMIT), { offers: [] });
    assert.deepEqual(encodeNegotiationBlob({ offers: [] }), PERMIT);
    const n = {
      offers: [
        {
          lifetimeSec: 3600,
          lifetimeKb: 100000,
          pfs: true,
          algorithms: [
            { alg: 2, keyLen: 0, integrity: 0, type: 1 },
            { alg: 12, keyLen: 256, integrity: 5, type: 2 },
          ],
        },
        { lifetimeSec: 0, lifetimeKb: 0, pfs: false, algorithms: [] },
      ],
    };
    assert.deepEqual(decodeNegotiationBlob(encodeNegotiationBlob(n)), n);
  });

  it("refuses a wrong type GUID, a length that disagrees, a truncated blob, left-over bytes", () => {
    const cases: [string, () => unknown, RegExp][] = [
      [
        "policy blob read as a filter",
        () => decodeFilterBlob(POLICY),
        /type GUID .* is not \{80DC20B5/,
      ],
      [
        "length off by one",
        () => decodePolicyBlob(Buffer.concat([POLICY, hex("00")])),
        /data length 4 does not match/,
      ],
      [
        "truncated NFA",
        () => decodeNfaBlob(NFA.subarray(0, 40)),
        /data length 42 does not match|runs past the end/,
      ],
      [
        "count past the end",
        () => decodeFilterBlob(Buffer.from(FILTER).fill(0xff, 20, 24)),
        /Number-Of-Filters1|filters runs past the end/,
      ],
      ["empty", () => decodeNegotiationBlob(Buffer.alloc(0)), /runs past the end/],
    ];
    for (const [what, f, re] of cases) {
      assert.throws(f, (e: unknown) => {
        assert.ok(e instanceof BlobError, what);
        assert.match(e.message, re, what);
        assert.ok(!e.message.includes("\n"), `${what}: one line`);
        return true;
      });
    }
  });

  it("fuzz: 2,000 mutated blobs each decode or throw a BlobError, nothing else", () => {
    const decoders = [
      [POLICY, decodePolicyBlob],
      [NFA, decodeNfaBlob],
      [FILTER, decodeFilterBlob],
      [ISAKMP, decodeIsakmpBlob],
      [PERMIT, decodeNegotiationBlob],
    ] as const;
    let seed = 0x5eed;
    const rnd = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    let refused = 0;
    for (let i = 0; i < 2000; i++) {
      const [blob, decode] = decoders[i % decoders.length] as (typeof decoders)[number];
      const b = Buffer.from(blob);
      const kind = rnd(3);
      let m: Buffer = b;
      if (kind === 0) for (let k = 0; k <= rnd(4); k++) b[rnd(b.length)] = rnd(256);
      else if (kind === 1) m = b.subarray(0, rnd(b.length));
      else m = Buffer.concat([b, Buffer.from([rnd(256)])]);
      try {
        decode(m);
      } catch (e) {
        assert.ok(e instanceof BlobError, `mutation ${i}: ${(e as Error).stack}`);
        refused++;
      }
    }
    assert.ok(refused > 500, `refused ${refused}`);
  });
});
