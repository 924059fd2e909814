/**
 * The channel between a member (or an administrator) and the DC's API, shared by both ends:
 *
 * 1. TLS to the DC's self-signed certificate (certificate.ts), pinned by the SHA-256 of its
 *    DER: printed by `dc init` as 32 hex pairs (`openssl x509 -noout -fingerprint -sha256`
 *    prints the same), passed as `join --dc-fingerprint`, or carried by the join token
 *    `pjt1.<id>.<secret>.<fingerprint base64url>`, then kept in machine.json for every later
 *    request. The client checks the pin before it sends a byte of the request.
 * 2. Negotiate (RFC 4559) tokens bound to the request and the channel: the GSS checksum's
 *    Bnd (RFC 4121 §4.1.1.2) is the MD5 of channel bindings whose application data is
 *      "tls-server-end-point:" || SHA-256(DC certificate)                   (RFC 5929 §4.1)
 *      || "postern-request-v1:" || SHA-256(METHOD "\n" PATH "\n" hex(SHA-256(body)))
 *    so a token taken by a fake server (another certificate) or moved onto another request
 *    (other method, path or body) fails; the same request again is the acceptor's replay.
 */
import { hash } from "../../crypto/primitives.js";

/** SHA-256 of a DER certificate. */
export function fingerprintOf(certDer: Uint8Array): Uint8Array {
  return hash("sha256", certDer);
}

/** `AB:CD:...` (32 pairs), as OpenSSL prints a SHA-256 fingerprint. */
export function formatFingerprint(fp: Uint8Array): string {
  return Buffer.from(fp).toString("hex").toUpperCase().match(/../g)?.join(":") ?? "";
}

/** A fingerprint as hex (colons, case and a `sha256:`/`SHA256 Fingerprint=` prefix ignored) or base64url; null if neither. */
export function parseFingerprint(text: string): Uint8Array | null {
  const t = text.trim().replace(/^sha256(\s*fingerprint)?\s*[:=]\s*/i, "");
  const hex = t.replace(/:/g, "");
  if (/^[0-9a-fA-F]{64}$/.test(hex)) return Buffer.from(hex, "hex");
  if (/^[A-Za-z0-9_-]{43}$/.test(t)) return Buffer.from(t, "base64url");
  return null;
}

export function equalFingerprints(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a).equals(Buffer.from(b));
}

/** The join token as printed (with the DC's fingerprint) from the token the DC stores. */
export function tokenWithFingerprint(token: string, fp: Uint8Array): string {
  return `${token}.${Buffer.from(fp).toString("base64url")}`;
}

/** A printed join token split into the part sent to the DC and the fingerprint it commits to. */
export function splitJoinToken(token: string): { token: string; fingerprint?: Uint8Array } {
  const m = /^(pjt1\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)\.([A-Za-z0-9_-]{43})$/.exec(token);
  if (!m) return { token };
  return { token: m[1] as string, fingerprint: Buffer.from(m[2] as string, "base64url") };
}

const CHANNEL_PREFIX = Buffer.from("tls-server-end-point:");
const REQUEST_PREFIX = Buffer.from("postern-request-v1:");

/** The application data of the channel bindings for one request. */
export function requestBindingData(
  certFingerprint: Uint8Array,
  method: string,
  path: string,
  body: Uint8Array,
): Buffer {
  const req = `${method.toUpperCase()}\n${path}\n${hash("sha256", body).toString("hex")}`;
  return Buffer.concat([
    CHANNEL_PREFIX,
    certFingerprint,
    REQUEST_PREFIX,
    hash("sha256", Buffer.from(req)),
  ]);
}

/**
 * Bnd of the 0x8003 checksum: MD5 over gss_channel_bindings_struct with no addresses
 * (initiator_addrtype, initiator_address, acceptor_addrtype, acceptor_address,
 * application_data; integers and lengths 4 bytes little-endian), as MIT krb5 computes it.
 */
export function channelBindingHash(applicationData: Uint8Array): Buffer {
  const head = Buffer.alloc(20);
  head.writeUInt32LE(applicationData.length, 16);
  return hash("md5", Buffer.concat([head, applicationData]));
}

/** Bnd for one request to the DC whose certificate has `certFingerprint`. */
export function requestBinding(
  certFingerprint: Uint8Array,
  method: string,
  path: string,
  body: Uint8Array,
): Buffer {
  return channelBindingHash(requestBindingData(certFingerprint, method, path, body));
}
