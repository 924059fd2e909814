/**
 * Certificate authentication (RFC 7296 §2.15, §3.6-§3.8) with RFC 7427 digital signatures
 * (AUTH method 14): RSA (PKCS#1 v1.5) or ECDSA keys, SHA-256/384/512, a leaf certificate
 * issued directly by one of the trusted roots, the peer's identity (IP or FQDN) in its
 * subjectAltName.
 *
 * AUTH data (RFC 7427 §3):
 *   | ASN.1 Length (1 octet) | AlgorithmIdentifier (DER) | Signature Value |
 * The signature covers <SignedOctets> directly (no prf, unlike shared keys).
 */
import {
  type CertInfo,
  hash,
  type HashAlg,
  signWithKey,
  verifyWithSpki,
  x509Parse,
} from "../crypto/primitives.js";
import type { AuthMethodProvider, AuthVerdict } from "./auth.js";
import { AuthMethodId, CertEncoding, IdType } from "./constants.js";
import type { Payload } from "./message.js";
import { parseIdentity } from "./payloads/id.js";

/** RFC 7427 Appendix A AlgorithmIdentifiers. */
const ALG_IDS: { hex: string; key: "rsa" | "ec"; hash: HashAlg }[] = [
  { hex: "300d06092a864886f70d01010b0500", key: "rsa", hash: "sha256" },
  { hex: "300d06092a864886f70d01010c0500", key: "rsa", hash: "sha384" },
  { hex: "300d06092a864886f70d01010d0500", key: "rsa", hash: "sha512" },
  { hex: "300a06082a8648ce3d040302", key: "ec", hash: "sha256" },
  { hex: "300a06082a8648ce3d040303", key: "ec", hash: "sha384" },
  { hex: "300a06082a8648ce3d040304", key: "ec", hash: "sha512" },
];

/** RFC 7427 §4 hash algorithm ids for SIGNATURE_HASH_ALGORITHMS: SHA2-256, 384, 512. */
export const SIGNATURE_HASHES = Buffer.from([0, 2, 0, 3, 0, 4]);

export interface CertAuthOptions {
  /** Our certificate (PEM) and private key (PEM). */
  certPem: string;
  keyPem: string;
  /** Trusted roots (PEM); the peer's certificate must be issued by one of them. */
  rootsPem: string[];
  now: () => number;
}

function identityMatches(cert: CertInfo, peerId: string): boolean {
  const id = parseIdentity(peerId);
  if (id.idType === IdType.IPV4_ADDR) return cert.hasIp(peerId);
  if (id.idType === IdType.FQDN) return cert.hasHost(id.data.toString());
  return false;
}

export function createCertAuth(o: CertAuthOptions): AuthMethodProvider {
  const ours = x509Parse(o.certPem);
  const roots = o.rootsPem.map((p) => x509Parse(p));
  const alg = ALG_IDS.find((a) => a.key === ours.keyType && a.hash === "sha256");
  if (!alg) throw new Error(`certificate key type ${ours.keyType} is not RSA or EC`);
  const algId = Buffer.from(alg.hex, "hex");
  const certReq = Buffer.concat(roots.map((r) => hash("sha1", r.spki)));
  return {
    name: "certificate",
    method: AuthMethodId.DIGITAL_SIGNATURE,
    buildAuth(ctx) {
      const sig = signWithKey(alg.hash, o.keyPem, Buffer.concat(ctx.signedOctets));
      const extra: Payload[] = [
        { type: "CERT", encoding: CertEncoding.X509_SIGNATURE, data: ours.der },
      ];
      if (ctx.role === "initiator" && certReq.length > 0)
        extra.push({ type: "CERTREQ", encoding: CertEncoding.X509_SIGNATURE, data: certReq });
      return { data: Buffer.concat([Buffer.from([algId.length]), algId, sig]), extra };
    },
    verifyAuth(ctx, auth, received): AuthVerdict {
      const certP = received.find(
        (p) => p.type === "CERT" && p.encoding === CertEncoding.X509_SIGNATURE,
      );
      if (certP?.type !== "CERT")
        return { ok: false, reason: `${ctx.peerId} sent no X.509 certificate` };
      let peer: CertInfo;
      try {
        peer = x509Parse(certP.data);
      } catch {
        return { ok: false, reason: `${ctx.peerId}'s certificate does not parse` };
      }
      const root = roots.find((r) => peer.issuedBy(r));
      if (!root)
        return {
          ok: false,
          reason: `certificate "${peer.subject.replace(/\n/g, ", ")}" is not issued by a trusted root`,
        };
      const now = o.now();
      if (now < peer.validFromMs || now > peer.validToMs)
        return { ok: false, reason: `certificate of ${ctx.peerId} is outside its validity period` };
      if (!identityMatches(peer, ctx.peerId))
        return {
          ok: false,
          reason: `certificate does not name the identity ${ctx.peerId} in its subjectAltName`,
        };
      if (auth.method !== AuthMethodId.DIGITAL_SIGNATURE || auth.data.length < 1) {
        return {
          ok: false,
          reason: `peer used AUTH method ${auth.method}; we verify digital signatures (14, RFC 7427)`,
        };
      }
      const len = auth.data[0]!;
      const id = auth.data.subarray(1, 1 + len).toString("hex");
      const used = ALG_IDS.find((a) => a.hex === id);
      if (!used || used.key !== peer.keyType)
        return {
          ok: false,
          reason: `signature algorithm ${id} does not fit the ${peer.keyType} certificate`,
        };
      const ok = verifyWithSpki(
        used.hash,
        peer.spki,
        Buffer.concat(ctx.signedOctets),
        auth.data.subarray(1 + len),
      );
      return ok
        ? { ok: true }
        : { ok: false, reason: `signature of ${ctx.peerId} does not verify with its certificate` };
    },
  };
}
