/**
 * Micro-benchmark of the Kerberos enctypes: string-to-key, encrypt and decrypt throughput per
 * enctype, each against a named peer: the bare primitive the construction is built on, run on
 * the same bytes (PBKDF2 alone for string-to-key; one AES-CBC pass plus one HMAC for
 * encrypt). The ratio shows what our framing (key derivation per call, CTS, confounder) costs.
 *
 *   node dist/bench/krb-crypto.js [messageBytes=1400] [seconds=0.5]
 *
 * Bounded: each row runs for at most `seconds` and at most 200000 iterations.
 */
import { aesCbcEncrypt, type HashAlg, hmac, pbkdf2 } from "../src/crypto/primitives.js";
import {
  createDerivedKeyCache,
  createKerberosCrypto,
  getEnctype,
  KeyUsage,
  SUPPORTED_ENCTYPES,
} from "../src/kerberos/crypto/index.js";

const size = Number(process.argv[2] ?? 1400);
const seconds = Number(process.argv[3] ?? 0.5);
const MAX_ITER = 200000;

function rate(fn: () => void): number {
  const end = performance.now() + seconds * 1000;
  const start = performance.now();
  let n = 0;
  while (n < MAX_ITER && performance.now() < end) {
    fn();
    n++;
  }
  return n / ((performance.now() - start) / 1000);
}

const HASH: Record<number, HashAlg> = { 17: "sha1", 18: "sha1", 19: "sha256", 20: "sha384" };
const rows: string[][] = [];
const fmt = (x: number) => (x >= 100 ? x.toFixed(0) : x.toFixed(1));

for (const etype of SUPPORTED_ENCTYPES) {
  const e = getEnctype(etype);
  const key = e.generateKey();
  const data = new Uint8Array(size);
  const ct = e.encrypt(key, KeyUsage.AP_REQ_AUTH, data);
  const pw = new TextEncoder().encode("password");
  const salt = new TextEncoder().encode("EXAMPLE.TESThostws01.example.test");
  const s2k = rate(() => e.stringToKey(pw, salt));
  const s2kPeer = rate(() => pbkdf2(HASH[etype]!, pw, salt, e.defaultIterations, e.keyLength));
  const enc = rate(() => e.encrypt(key, KeyUsage.AP_REQ_AUTH, data));
  const cachedE = createKerberosCrypto({
    randomBytes: (n) => new Uint8Array(n),
    derivedKeys: createDerivedKeyCache(),
  }).getEnctype(etype);
  const encCached = rate(() =>
    cachedE.encrypt(key, KeyUsage.AP_REQ_AUTH, data, new Uint8Array(16)),
  );
  const dec = rate(() => e.decrypt(key, KeyUsage.AP_REQ_AUTH, ct));
  const block = new Uint8Array(Math.ceil((size + 16) / 16) * 16);
  const peer = rate(() => {
    aesCbcEncrypt(key, new Uint8Array(16), block);
    hmac(HASH[etype]!, key, block);
  });
  rows.push([
    `${etype} ${e.name}`,
    fmt(s2k),
    `${(s2k / s2kPeer).toFixed(2)}`,
    fmt(enc),
    fmt(dec),
    fmt(encCached),
    fmt(peer),
    `${(enc / peer).toFixed(2)}`,
    `${(encCached / peer).toFixed(2)}`,
    `${((enc * size * 8) / 1e6).toFixed(0)}`,
  ]);
}

const head = [
  "enctype",
  "s2k/s",
  "s2k vs PBKDF2",
  `enc/s (${size} B)`,
  "dec/s",
  "enc/s cached keys",
  "peer AES-CBC+HMAC/s",
  "enc vs peer",
  "cached vs peer",
  "enc Mbit/s",
];
const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
const line = (r: string[]) => r.map((c, i) => c.padEnd(widths[i]!)).join("  ");
console.log(line(head));
for (const r of rows) console.log(line(r));
