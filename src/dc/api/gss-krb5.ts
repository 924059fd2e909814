/**
 * The Kerberos V5 GSS-API mechanism's context tokens (RFC 2743 §3.1, RFC 1964 §1.1,
 * RFC 4121 §4.1), as HTTP Negotiate (RFC 4559) carries them:
 *
 *   InitialContextToken ::= [APPLICATION 0] IMPLICIT SEQUENCE {
 *     thisMech          MechType,          -- 06 09 2A 86 48 86 F7 12 01 02 02
 *     innerContextToken ANY DEFINED BY thisMech }
 *   innerContextToken = TOK_ID (2 bytes) || Kerberos message
 *     TOK_ID 01 00 KRB_AP_REQ, 02 00 KRB_AP_REP, 03 00 KRB_ERROR
 *
 * The authenticator checksum of a krb5 GSS AP-REQ is type 0x8003 (RFC 4121 §4.1.1):
 *   Lgth (4, little-endian) = 16 | Bnd (16: MD5 of channel bindings, zeros without) | Flags (4, LE)
 */
export const KRB5_MECH_OID = Uint8Array.from([
  0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02,
]);
export const TOK_ID = { apReq: 0x0100, apRep: 0x0200, krbError: 0x0300 } as const;
export const GSS_CHECKSUM_TYPE = 0x8003;
/** GSS_C_MUTUAL_FLAG (2) | GSS_C_INTEG_FLAG (32) | GSS_C_CONF_FLAG (16). */
export const GSS_FLAGS_MUTUAL = 2 | 16 | 32;

function derLength(n: number): Uint8Array {
  if (n < 0x80) return Uint8Array.of(n);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Uint8Array.from([0x80 | bytes.length, ...bytes]);
}

/** Wraps a Kerberos message as a GSS krb5 context token with the given TOK_ID. */
export function wrapGssToken(tokId: number, message: Uint8Array): Uint8Array {
  const inner = Buffer.concat([KRB5_MECH_OID, Uint8Array.of(tokId >> 8, tokId & 0xff), message]);
  return Buffer.concat([Uint8Array.of(0x60), derLength(inner.length), inner]);
}

/** The TOK_ID and Kerberos message of a krb5 context token, or a reason it is not one. */
export function unwrapGssToken(token: Uint8Array): { tokId: number; message: Uint8Array } | string {
  if (token.length < 2 || token[0] !== 0x60) return "not a GSS-API initial context token (0x60)";
  let len = token[1] as number;
  let at = 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n < 1 || n > 3 || token.length < 2 + n) return "bad DER length in the GSS token";
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + (token[2 + i] as number);
    at = 2 + n;
  }
  if (at + len !== token.length) return "GSS token length does not match its DER length";
  const oid = token.subarray(at, at + KRB5_MECH_OID.length);
  if (!Buffer.from(oid).equals(KRB5_MECH_OID))
    return "GSS token is not for the Kerberos V5 mechanism";
  at += KRB5_MECH_OID.length;
  if (token.length < at + 2) return "GSS token has no TOK_ID";
  const tokId = ((token[at] as number) << 8) | (token[at + 1] as number);
  return { tokId, message: token.subarray(at + 2) };
}

/** The 0x8003 authenticator checksum (RFC 4121 §4.1.1); Bnd zeros without channel bindings. */
export function gssChecksum(
  flags: number,
  bnd?: Uint8Array,
): { cksumtype: number; checksum: Uint8Array } {
  const b = Buffer.alloc(24);
  b.writeUInt32LE(16, 0);
  if (bnd) b.set(bnd.subarray(0, 16), 4);
  b.writeUInt32LE(flags, 20);
  return { cksumtype: GSS_CHECKSUM_TYPE, checksum: b };
}

/** The Bnd field of a 0x8003 checksum, or a reason it has none. */
export function gssBindings(
  cksum: { cksumtype: number; checksum: Uint8Array } | undefined,
): Uint8Array | string {
  if (!cksum) return "the authenticator carries no checksum";
  if (cksum.cksumtype !== GSS_CHECKSUM_TYPE || cksum.checksum.length < 24)
    return `the authenticator checksum is not a GSS 0x8003 checksum (type ${cksum.cksumtype})`;
  return cksum.checksum.subarray(4, 20);
}
