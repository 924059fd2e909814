/**
 * The one module that imports node:crypto. Everything else (Kerberos enctypes, ESP
 * transforms, IKE's PRFs and DH) is built from these primitives and never touches OpenSSL
 * directly, so the cryptographic surface is reviewed in one place.
 *
 * Functions take and return Uint8Array/Buffer; keys are raw bytes. Nothing here keeps state
 * except the keyed contexts (`hmacKeyed`, `aesCbcEncryptor`, `aesEcbEncryptor`, `aesEcbDecryptor`): for those a
 * hot key's many messages go to libcrypto's own keyed contexts (./libcrypto.ts, the same
 * OpenSSL algorithms without node:crypto's per-call object), or to node:crypto when
 * libcrypto.so.3 cannot be loaded or POSTERN_CRYPTO=node is set.
 * Add a primitive here (with a one-line doc) rather than importing node:crypto elsewhere.
 */
import * as nodeCrypto from "node:crypto";
import { type KeyedHashAlg, type Libcrypto, loadLibcrypto, type MacInput } from "./libcrypto.js";

export type HashAlg = "sha1" | "sha256" | "sha384" | "sha512" | "md5";

export function randomBytes(n: number): Buffer {
  return nodeCrypto.randomBytes(n);
}

export function hash(alg: HashAlg, data: Uint8Array): Buffer {
  return nodeCrypto.createHash(alg).update(data).digest();
}

export function hmac(
  alg: HashAlg,
  key: Uint8Array,
  data: Uint8Array | readonly Uint8Array[],
): Buffer {
  const h = nodeCrypto.createHmac(alg, key);
  if (data instanceof Uint8Array) h.update(data);
  else for (const d of data) h.update(d);
  return h.digest();
}

export type { KeyedHashAlg, MacInput };

/** libcrypto's keyed contexts unless POSTERN_CRYPTO=node (then, or without it: node:crypto). */
function keyedProvider(): Libcrypto | null {
  return process.env.POSTERN_CRYPTO === "node" ? null : loadLibcrypto();
}

/**
 * HMAC with one key for many messages (`data` or the concatenation of its parts); the digest
 * is a fresh array. The KDC's and acceptor's per-message MACs: keep the function per key.
 */
export function hmacKeyed(alg: KeyedHashAlg, key: Uint8Array): (data: MacInput) => Uint8Array {
  const fast = keyedProvider()?.hmac(alg, key);
  if (fast) return fast;
  const copy = Uint8Array.from(key);
  return (data) => new Uint8Array(hmac(alg, copy, data));
}

/** HMAC of one message under a key used once (no context kept); a fresh array. */
export function hmacOnce(alg: KeyedHashAlg, key: Uint8Array, data: MacInput): Uint8Array {
  const fast = keyedProvider();
  return fast ? fast.hmacOnce(alg, key, data) : new Uint8Array(hmac(alg, key, data));
}

/**
 * AES on whole blocks under a key used once (no context kept), into `out`: CBC encryption
 * from `iv`, or ECB (iv undefined) in either direction.
 */
export function aesOnce(
  encrypt: boolean,
  key: Uint8Array,
  iv: Uint8Array | undefined,
  blocks: Uint8Array,
  out: Uint8Array,
): void {
  aesName(key, "ecb");
  const fast = keyedProvider();
  if (fast) {
    fast.aesOnce(encrypt, key, iv, blocks, out);
    return;
  }
  if (blocks.length % 16 !== 0 || out.length < blocks.length)
    throw new RangeError(`AES: ${blocks.length} bytes (whole blocks of 16)`);
  if (iv) {
    if (!encrypt || iv.length !== 16)
      throw new RangeError("AES-CBC once: encryption with a 16-byte IV");
    out.set(aesCbcEncrypt(key, iv, blocks));
  } else out.set(encrypt ? aesEcbEncrypt(key, blocks) : aesEcbDecrypt(key, blocks));
}

export function pbkdf2(
  alg: HashAlg,
  password: Uint8Array,
  salt: Uint8Array,
  iterations: number,
  length: number,
): Buffer {
  return nodeCrypto.pbkdf2Sync(password, salt, iterations, length, alg);
}

/** Constant-time comparison; false when lengths differ. */
export function equalConstantTime(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && nodeCrypto.timingSafeEqual(a, b);
}

function aesName(key: Uint8Array, mode: "ecb" | "cbc" | "ctr" | "gcm"): string {
  if (key.length !== 16 && key.length !== 24 && key.length !== 32) {
    throw new RangeError(`AES key length ${key.length} is not 16, 24 or 32`);
  }
  return `aes-${key.length * 8}-${mode}`;
}

/** AES-CBC without padding: data must be a multiple of 16 bytes. */
export function aesCbcEncrypt(key: Uint8Array, iv: Uint8Array, data: Uint8Array): Buffer {
  const c = nodeCrypto.createCipheriv(aesName(key, "cbc"), key, iv).setAutoPadding(false);
  return Buffer.concat([c.update(data), c.final()]);
}

/** AES-CBC without padding: data must be a multiple of 16 bytes. */
export function aesCbcDecrypt(key: Uint8Array, iv: Uint8Array, data: Uint8Array): Buffer {
  const d = nodeCrypto.createDecipheriv(aesName(key, "cbc"), key, iv).setAutoPadding(false);
  return Buffer.concat([d.update(data), d.final()]);
}

/** AES-ECB on whole blocks, no padding. */
export function aesEcbEncrypt(key: Uint8Array, data: Uint8Array): Buffer {
  const c = nodeCrypto.createCipheriv(aesName(key, "ecb"), key, null).setAutoPadding(false);
  return Buffer.concat([c.update(data), c.final()]);
}

/** AES-ECB on whole blocks, no padding. */
export function aesEcbDecrypt(key: Uint8Array, data: Uint8Array): Buffer {
  const d = nodeCrypto.createDecipheriv(aesName(key, "ecb"), key, null).setAutoPadding(false);
  return Buffer.concat([d.update(data), d.final()]);
}

/** AES-GCM seal: returns ciphertext || tag (tagLength bytes). */
export function aesGcmSeal(
  key: Uint8Array,
  nonce: Uint8Array,
  plaintext: Uint8Array,
  aad: Uint8Array,
  tagLength = 16,
): Buffer {
  const c = nodeCrypto.createCipheriv(
    aesName(key, "gcm") as nodeCrypto.CipherGCMTypes,
    key,
    nonce,
    {
      authTagLength: tagLength,
    },
  );
  c.setAAD(aad);
  return Buffer.concat([c.update(plaintext), c.final(), c.getAuthTag()]);
}

/** AES-GCM open of ciphertext || tag; returns null when the tag does not verify. */
export function aesGcmOpen(
  key: Uint8Array,
  nonce: Uint8Array,
  sealed: Uint8Array,
  aad: Uint8Array,
  tagLength = 16,
): Buffer | null {
  if (sealed.length < tagLength) return null;
  const d = nodeCrypto.createDecipheriv(
    aesName(key, "gcm") as nodeCrypto.CipherGCMTypes,
    key,
    nonce,
    {
      authTagLength: tagLength,
    },
  );
  d.setAAD(aad);
  d.setAuthTag(sealed.subarray(sealed.length - tagLength));
  const out = d.update(sealed.subarray(0, sealed.length - tagLength));
  try {
    return Buffer.concat([out, d.final()]);
  } catch {
    return null;
  }
}

/** A Diffie-Hellman key pair for an IKE group: MODP 14 (2048), ECP 19 (P-256), Curve25519 (31). */
export interface DhKeyPair {
  group: 14 | 19 | 31;
  /** The public value as IKE's KE payload carries it. */
  publicValue: Buffer;
  /** Computes the shared secret from the peer's public value (IKE encoding). */
  computeSecret(peer: Uint8Array): Buffer;
}

const MODP14_BYTES = 256;

/**
 * A MODP 2048 (group 14) key pair; `privateKey` only for tests that need a known key.
 * RFC 7296 §3.4: the public value is padded with zeros on the left to the prime's length
 * (node hands out the shortest big-endian form, one byte short once in 256 keys, and a
 * peer such as strongSwan refuses a short one). node pads the shared secret itself.
 */
export function modp14KeyPair(privateKey?: Uint8Array): DhKeyPair {
  let dh: nodeCrypto.DiffieHellman | nodeCrypto.DiffieHellmanGroup;
  if (privateKey) {
    const known = nodeCrypto.createDiffieHellman(
      nodeCrypto.getDiffieHellman("modp14").getPrime(),
      2,
    );
    known.setPrivateKey(Buffer.from(privateKey));
    dh = known;
  } else dh = nodeCrypto.getDiffieHellman("modp14");
  dh.generateKeys();
  const pub = dh.getPublicKey();
  const publicValue = Buffer.alloc(MODP14_BYTES);
  pub.copy(publicValue, MODP14_BYTES - pub.length);
  return {
    group: 14,
    publicValue,
    computeSecret: (peer) => {
      checkPublicLength(14, peer, MODP14_BYTES);
      return dh.computeSecret(peer);
    },
  };
}

function checkPublicLength(group: number, peer: Uint8Array, bytes: number): void {
  if (peer.length !== bytes)
    throw new RangeError(`DH group ${group} public value is ${peer.length} bytes, not ${bytes}`);
}

export function dhGenerate(group: 14 | 19 | 31): DhKeyPair {
  if (group === 14) return modp14KeyPair();
  if (group === 19) {
    const ecdh = nodeCrypto.createECDH("prime256v1");
    ecdh.generateKeys();
    // IKE (RFC 5903) carries x || y without the 0x04 prefix; the secret is x only.
    const pub = ecdh.getPublicKey().subarray(1);
    return {
      group,
      publicValue: Buffer.from(pub),
      computeSecret: (peer) => {
        checkPublicLength(19, peer, 64);
        return ecdh.computeSecret(Buffer.concat([Buffer.from([4]), peer])).subarray(0, 32);
      },
    };
  }
  const { privateKey, publicKey } = nodeCrypto.generateKeyPairSync("x25519");
  const raw = publicKey.export({ format: "der", type: "spki" }).subarray(-32);
  return {
    group,
    publicValue: Buffer.from(raw),
    computeSecret: (peer) => {
      checkPublicLength(31, peer, 32);
      const prefix = Buffer.from("302a300506032b656e032100", "hex");
      const peerKey = nodeCrypto.createPublicKey({
        key: Buffer.concat([prefix, peer]),
        format: "der",
        type: "spki",
      });
      return nodeCrypto.diffieHellman({ privateKey, publicKey: peerKey });
    },
  };
}

/** AES-GCM seal of plaintext given in parts (no join): returns [ciphertext parts..., tag]. */
export function aesGcmSealParts(
  key: Uint8Array,
  nonce: Uint8Array,
  aad: Uint8Array,
  parts: readonly Uint8Array[],
  tagLength = 16,
): Buffer[] {
  const c = nodeCrypto.createCipheriv(
    aesName(key, "gcm") as nodeCrypto.CipherGCMTypes,
    key,
    nonce,
    {
      authTagLength: tagLength,
    },
  );
  c.setAAD(aad);
  const out = parts.map((p) => c.update(p));
  c.final();
  out.push(c.getAuthTag());
  return out;
}

/** AES-CBC (no padding) of plaintext given in parts whose total is a multiple of 16. */
export function aesCbcEncryptParts(
  key: Uint8Array,
  iv: Uint8Array,
  parts: readonly Uint8Array[],
): Buffer[] {
  const c = nodeCrypto.createCipheriv(aesName(key, "cbc"), key, iv).setAutoPadding(false);
  const out = parts.map((p) => c.update(p));
  out.push(c.final());
  return out;
}

/** dhGenerate with Curve25519 keys moved as JWK, ~3x cheaper than OpenSSL 3's DER codecs (IKE setup latency). */
export function dhGenerateFast(group: 14 | 19 | 31): DhKeyPair {
  if (group !== 31) return dhGenerate(group);
  const { privateKey, publicKey } = nodeCrypto.generateKeyPairSync("x25519");
  const x = publicKey.export({ format: "jwk" }).x ?? "";
  return {
    group,
    publicValue: Buffer.from(x, "base64url"),
    computeSecret: (peer) => {
      checkPublicLength(31, peer, 32);
      const key = { kty: "OKP", crv: "X25519", x: Buffer.from(peer).toString("base64url") };
      const peerKey = nodeCrypto.createPublicKey({ key, format: "jwk" });
      return nodeCrypto.diffieHellman({ privateKey, publicKey: peerKey });
    },
  };
}

/** An X.509 certificate as IKE certificate authentication needs it (node's X509Certificate). */
export interface CertInfo {
  der: Buffer;
  subject: string;
  issuer: string;
  validFromMs: number;
  validToMs: number;
  /** SubjectPublicKeyInfo, DER. */
  spki: Buffer;
  keyType: "rsa" | "ec" | "other";
  /** True when `ip` is in the subjectAltName. */
  hasIp(ip: string): boolean;
  /** True when `name` matches a dNSName in the subjectAltName (or the CN). */
  hasHost(name: string): boolean;
  /** True when `issuer` names this certificate's issuer and its key verifies the signature. */
  issuedBy(issuer: CertInfo): boolean;
}

/** Parses a PEM or DER X.509 certificate. */
export function x509Parse(data: Uint8Array | string): CertInfo {
  const c = new nodeCrypto.X509Certificate(typeof data === "string" ? data : Buffer.from(data));
  return {
    der: c.raw,
    subject: c.subject,
    issuer: c.issuer,
    validFromMs: Date.parse(c.validFrom),
    validToMs: Date.parse(c.validTo),
    spki: c.publicKey.export({ format: "der", type: "spki" }),
    keyType:
      c.publicKey.asymmetricKeyType === "rsa"
        ? "rsa"
        : c.publicKey.asymmetricKeyType === "ec"
          ? "ec"
          : "other",
    hasIp: (ip) => c.checkIP(ip) !== undefined,
    hasHost: (name) => c.checkHost(name) !== undefined,
    issuedBy: (issuer) =>
      c.checkIssued(new nodeCrypto.X509Certificate(issuer.der)) &&
      c.verify(nodeCrypto.createPublicKey({ key: issuer.spki, format: "der", type: "spki" })),
  };
}

/** Signs with a PEM private key: RSASSA-PKCS1-v1_5 for RSA, DER-encoded ECDSA for EC keys. */
export function signWithKey(alg: HashAlg, privateKeyPem: string, data: Uint8Array): Buffer {
  return nodeCrypto.sign(alg, data, privateKeyPem);
}

/** Verifies a signature made by signWithKey with a DER SubjectPublicKeyInfo. */
export function verifyWithSpki(
  alg: HashAlg,
  spki: Uint8Array,
  data: Uint8Array,
  signature: Uint8Array,
): boolean {
  try {
    return nodeCrypto.verify(
      alg,
      data,
      nodeCrypto.createPublicKey({ key: Buffer.from(spki), format: "der", type: "spki" }),
      signature,
    );
  } catch {
    return false;
  }
}

/** AES-ECB of whole blocks into `out`, no padding, on one keyed context for `key`, either way. */
function aesEcbKeyed(
  key: Uint8Array,
  encrypt: boolean,
): (blocks: Uint8Array, out: Uint8Array) => void {
  const name = aesName(key, "ecb");
  const fast = encrypt ? keyedProvider()?.aesEcbEncrypt(key) : keyedProvider()?.aesEcbDecrypt(key);
  if (fast) return fast;
  const c = (encrypt ? nodeCrypto.createCipheriv : nodeCrypto.createDecipheriv)(
    name,
    key,
    null,
  ).setAutoPadding(false);
  return (blocks, out) => {
    if (blocks.length % 16 !== 0 || out.length < blocks.length)
      throw new RangeError(`AES-ECB: ${blocks.length} bytes (whole blocks of 16)`);
    out.set(c.update(blocks));
  };
}

/** AES-ECB encryption of whole blocks into `out`, no padding, one keyed context for `key`. */
export const aesEcbEncryptor = (key: Uint8Array) => aesEcbKeyed(key, true);

/** AES-ECB decryption of whole blocks into `out`, no padding, one keyed context for `key`. */
export const aesEcbDecryptor = (key: Uint8Array) => aesEcbKeyed(key, false);

/**
 * AES-CBC encryption (no padding) on one long-lived keyed context for `key`: each call
 * encrypts its whole blocks from its own `iv` into `out`, as a fresh context would, so a hot
 * key pays the context setup once. `blocks` is left unchanged. (node:crypto's context cannot
 * take a new IV: there its chaining value, the last ciphertext block, is cancelled by XOR
 * into the first block.)
 */
export function aesCbcEncryptor(
  key: Uint8Array,
): (iv: Uint8Array, blocks: Uint8Array, out: Uint8Array) => void {
  aesName(key, "cbc");
  const fast = keyedProvider()?.aesCbcEncrypt(key);
  if (fast) return fast;
  const c = nodeCrypto
    .createCipheriv(aesName(key, "cbc"), key, new Uint8Array(16))
    .setAutoPadding(false);
  const chain = new Uint8Array(16);
  const saved = new Uint8Array(16);
  return (iv, blocks, out) => {
    if (
      blocks.length === 0 ||
      blocks.length % 16 !== 0 ||
      iv.length !== 16 ||
      out.length < blocks.length
    )
      throw new RangeError(`AES-CBC: ${blocks.length} bytes / IV ${iv.length} (whole blocks, 16)`);
    saved.set(blocks.subarray(0, 16));
    for (let i = 0; i < 16; i++) blocks[i] = saved[i]! ^ iv[i]! ^ chain[i]!;
    let enc: Buffer;
    try {
      enc = c.update(blocks);
    } finally {
      blocks.set(saved);
    }
    chain.set(enc.subarray(enc.length - 16));
    out.set(enc);
  };
}

/** A new ECDSA P-256 key pair: the private key as PKCS#8 PEM, the public key as DER SPKI. */
export function ecP256KeyPair(): { privateKeyPem: string; spki: Buffer } {
  const { privateKey, publicKey } = nodeCrypto.generateKeyPairSync("ec", { namedCurve: "P-256" });
  return {
    privateKeyPem: privateKey.export({ format: "pem", type: "pkcs8" }) as string,
    spki: publicKey.export({ format: "der", type: "spki" }),
  };
}
