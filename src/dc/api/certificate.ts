/**
 * The DC's TLS certificate for its API: self-signed ECDSA P-256 with SHA-256, made by
 * `dc init` (or by the first `dc start` of a home made before it existed), kept as
 *   <home>/dc/api-cert.pem  (0644)    <home>/dc/api-key.pem  (0600)
 * Members do not trust a CA: they pin the SHA-256 fingerprint of this certificate's DER
 * (channel.ts), given at join as `--dc-fingerprint` or carried by the join token.
 *
 *   Certificate  ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signatureValue BIT STRING }
 *   TBSCertificate ::= SEQUENCE {
 *     version [0] EXPLICIT INTEGER (2 = v3), serialNumber INTEGER, signature AlgorithmIdentifier,
 *     issuer Name, validity SEQUENCE { notBefore, notAfter UTCTime }, subject Name,
 *     subjectPublicKeyInfo, extensions [3] EXPLICIT SEQUENCE OF Extension }   (RFC 5280 §4.1)
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { derExplicit, derSequence, derTlv } from "../../asn1/writer.js";
import { UNIVERSAL } from "../../asn1/der.js";
import { ecP256KeyPair, signWithKey, x509Parse } from "../../crypto/primitives.js";
import { dcDir } from "../paths.js";
import { fingerprintOf } from "./channel.js";

export const apiCertPath = (home: string) => path.join(dcDir(home), "api-cert.pem");
export const apiKeyPath = (home: string) => path.join(dcDir(home), "api-key.pem");

const OID = {
  ecdsaWithSha256: [0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02],
  commonName: [0x55, 0x04, 0x03],
  subjectAltName: [0x55, 0x1d, 0x11],
  basicConstraints: [0x55, 0x1d, 0x13],
} as const;

const VALIDITY_YEARS = 10;

const oid = (bytes: readonly number[]) =>
  derTlv("universal", false, UNIVERSAL.OBJECT_IDENTIFIER, Uint8Array.from(bytes));

function utcTime(d: Date): Uint8Array {
  const p = (n: number) => String(n).padStart(2, "0");
  const text = `${p(d.getUTCFullYear() % 100)}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}Z`;
  return derTlv("universal", false, UNIVERSAL.UTC_TIME, Buffer.from(text, "ascii"));
}

function name(cn: string): Uint8Array {
  const atv = derSequence([
    oid(OID.commonName),
    derTlv("universal", false, UNIVERSAL.UTF8_STRING, Buffer.from(cn)),
  ]);
  return derSequence([derTlv("universal", true, UNIVERSAL.SET, atv)]);
}

function ipBytes(ip: string): Uint8Array | undefined {
  const v4 = /^(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(ip);
  return v4 ? Uint8Array.from(v4.slice(1).map(Number)) : undefined;
}

function extensions(dnsNames: readonly string[], ips: readonly string[]): Uint8Array {
  const general = [
    ...dnsNames.map((n) => derTlv("context", false, 2, Buffer.from(n, "ascii"))),
    ...ips.flatMap((ip) => {
      const b = ipBytes(ip);
      return b ? [derTlv("context", false, 7, b)] : [];
    }),
  ];
  const ext = (id: readonly number[], critical: boolean, value: Uint8Array) =>
    derSequence([
      oid(id),
      critical ? derTlv("universal", false, UNIVERSAL.BOOLEAN, Uint8Array.of(0xff)) : undefined,
      derTlv("universal", false, UNIVERSAL.OCTET_STRING, value),
    ]);
  return derExplicit(
    3,
    derSequence([
      ext(OID.basicConstraints, true, derSequence([])),
      ext(OID.subjectAltName, false, derSequence(general)),
    ]),
  );
}

export interface SelfSignedInput {
  commonName: string;
  dnsNames: readonly string[];
  ips: readonly string[];
  now: Date;
  serial: Uint8Array;
}

/** A new key and a self-signed certificate for it: { certPem, keyPem, der }. */
export function createSelfSigned(input: SelfSignedInput): {
  certPem: string;
  keyPem: string;
  der: Uint8Array;
} {
  const { privateKeyPem, spki } = ecP256KeyPair();
  const serial = Uint8Array.from(input.serial);
  serial[0] = ((serial[0] ?? 0) & 0x7f) | 0x40; // positive, minimal
  const notBefore = new Date(input.now.getTime() - 3600_000);
  const notAfter = new Date(input.now.getTime());
  notAfter.setUTCFullYear(notAfter.getUTCFullYear() + VALIDITY_YEARS);
  const sigAlg = derSequence([oid(OID.ecdsaWithSha256)]);
  const tbs = derSequence([
    derExplicit(0, derTlv("universal", false, UNIVERSAL.INTEGER, Uint8Array.of(2))),
    derTlv("universal", false, UNIVERSAL.INTEGER, serial),
    sigAlg,
    name(input.commonName),
    derSequence([utcTime(notBefore), utcTime(notAfter)]),
    name(input.commonName),
    spki,
    extensions(input.dnsNames, input.ips),
  ]);
  const sig = signWithKey("sha256", privateKeyPem, tbs);
  const sigBits = new Uint8Array(sig.length + 1);
  sigBits.set(sig, 1);
  const der = derSequence([tbs, sigAlg, derTlv("universal", false, UNIVERSAL.BIT_STRING, sigBits)]);
  const b64 = Buffer.from(der).toString("base64").replace(/.{64}/g, "$&\n");
  const certPem = `-----BEGIN CERTIFICATE-----\n${b64.replace(/\n$/, "")}\n-----END CERTIFICATE-----\n`;
  return { certPem, keyPem: privateKeyPem, der };
}

export interface DcCertificate {
  certPem: string;
  keyPem: string;
  /** SHA-256 of the DER certificate: what members pin. */
  fingerprint: Uint8Array;
}

/** The certificate of the DC in `home`, or undefined when it has none yet. */
export function readDcCertificate(home: string): DcCertificate | undefined {
  let certPem: string;
  let keyPem: string;
  try {
    certPem = fs.readFileSync(apiCertPath(home), "utf8");
    keyPem = fs.readFileSync(apiKeyPath(home), "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw e;
  }
  return { certPem, keyPem, fingerprint: fingerprintOf(x509Parse(certPem).der) };
}

/** The DC's certificate, made now (key 0600, written before the certificate) when missing. */
export function ensureDcCertificate(
  home: string,
  who: { hostName: string; address?: string | undefined },
  now: Date,
  random: (n: number) => Uint8Array,
): DcCertificate & { created: boolean } {
  const have = readDcCertificate(home);
  if (have) return { ...have, created: false };
  const made = createSelfSigned({
    commonName: who.hostName,
    dnsNames: [who.hostName],
    ips: who.address ? [who.address] : [],
    now,
    serial: random(16),
  });
  fs.mkdirSync(dcDir(home), { recursive: true, mode: 0o700 });
  fs.writeFileSync(apiKeyPath(home), made.keyPem, { mode: 0o600 });
  fs.chmodSync(apiKeyPath(home), 0o600);
  fs.writeFileSync(apiCertPath(home), made.certPem, { mode: 0o644 });
  return {
    certPem: made.certPem,
    keyPem: made.keyPem,
    fingerprint: fingerprintOf(made.der),
    created: true,
  };
}
