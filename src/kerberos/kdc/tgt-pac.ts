/**
 * Checking the PAC of a TGT the KDC itself issued (MS-PAC §2.8): the server signature (6)
 * over the PAC with signatures 6 and 7 zeroed, and the KDC signature (7) over the server
 * signature, both with the krbtgt key and its checksum type, key usage 17. Only the
 * container is parsed, not LOGON_INFO's NDR: a TGS re-signs the buffers byte for byte, and
 * only the holder of the krbtgt key can have made them. (src/kerberos/pac's verifyPac does
 * the same and also decodes every buffer; it costs several times more per request.)
 */
import { type CryptoDeps, getChecksumType, getEnctype, KeyUsage } from "../crypto/index.js";
import type { Pac } from "../pac/index.js";
import { SIGNATURE_TYPES } from "../pac/pac.js";
import { decodePacContainer, type RawPacBuffer } from "../pac/pactype.js";
import type { PrincipalKey } from "./database.js";
import { kdcError } from "./errors.js";

function signature(raw: RawPacBuffer[], type: 6 | 7, cksumtype: number, length: number) {
  const b = raw.find((x) => x.type === type);
  const name = type === 6 ? "server" : "KDC";
  if (!b || b.data.length < 4 + length)
    throw kdcError("KRB_AP_ERR_MODIFIED", `TGT PAC: ${name} signature missing or short`);
  const dv = new DataView(b.data.buffer, b.data.byteOffset, b.data.byteLength);
  if (dv.getInt32(0, true) !== cksumtype)
    throw kdcError(
      "KRB_AP_ERR_MODIFIED",
      `TGT PAC: ${name} signature type ${dv.getInt32(0, true)}`,
    );
  return { buffer: b, value: b.data.subarray(4, 4 + length) };
}

/** The TGT PAC's non-signature buffers, raw, after both signatures verified; else MODIFIED. */
export function verifyTgtPac(bytes: Uint8Array, key: PrincipalKey, deps: CryptoDeps): Pac {
  const raw = decodePacContainer(bytes);
  const ck = getChecksumType(getEnctype(key.etype, deps).checksumType, deps);
  const server = signature(raw, 6, ck.cksumtype, ck.length);
  const kdc = signature(raw, 7, ck.cksumtype, ck.length);
  const zeroed = Uint8Array.from(bytes);
  for (const s of [server, kdc])
    zeroed.fill(0, s.buffer.offset + 4, s.buffer.offset + s.buffer.data.length);
  const usage = KeyUsage.KERB_NON_KERB_CKSUM_SALT;
  if (!ck.verify(key.key, usage, zeroed, server.value))
    throw kdcError("KRB_AP_ERR_MODIFIED", "TGT PAC: server signature does not verify");
  if (!ck.verify(key.key, usage, server.buffer.data.subarray(4), kdc.value))
    throw kdcError("KRB_AP_ERR_MODIFIED", "TGT PAC: KDC signature does not verify");
  return {
    buffers: raw
      .filter((b) => !SIGNATURE_TYPES.includes(b.type))
      .map((b) => ({ kind: "raw" as const, type: b.type, data: b.data })),
  };
}
