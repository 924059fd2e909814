/**
 * Verifying a PAC as a service (acceptor) or a KDC does (MS-PAC §2.8, MS-KILE §3.4.5.3):
 *
 *   1. decode every buffer (malformed -> PacError "pac-malformed")
 *   2. server signature (6): service key over the PAC with signatures 6 and 7 zeroed
 *   3. with the KDC key: KDC signature (7) over the server signature bytes; the extended
 *      KDC signature (19) if present, over the PAC with 6, 7 and 19 zeroed; the ticket
 *      signature (16) if present and the caller gives the ticket bytes
 *   4. LOGON_INFO -> user SID, primary group SID, group SIDs (domain SID + RIDs, extra SIDs
 *      when UserFlags has EXTRA_SIDS, resource groups when it has RESOURCE_GROUPS)
 */
import type { CryptoDeps } from "../crypto/enctype.js";
import { KerberosCryptoError } from "../crypto/errors.js";
import { KeyUsage } from "../crypto/key-usage.js";
import { enctypeName, getChecksumType } from "../crypto/registry.js";
import type { PacClientInfo } from "./client-info.js";
import { PacError } from "./errors.js";
import { filetimeFromMs, filetimeToMs } from "./filetime.js";
import { type KerbValidationInfo, USER_FLAGS } from "./logon-info.js";
import { decodePac, findBuffer, findSignature, type Pac } from "./pac.js";
import { decodePacContainer, type RawPacBuffer } from "./pactype.js";
import type { PacKey } from "./sign.js";
import { sidWithRid } from "./sid.js";
import type { UpnDnsInfo } from "./upn-dns-info.js";

export interface VerifiedPac {
  pac: Pac;
  logonInfo: KerbValidationInfo;
  clientInfo?: PacClientInfo;
  upnDnsInfo?: UpnDnsInfo;
  domainSid: string;
  userSid: string;
  primaryGroupSid: string;
  /** Every group SID the user holds (domain groups, extra SIDs, resource groups), no dups. */
  groupSids: string[];
  /** Which signatures were checked. */
  verified: { server: true; kdc: boolean; extendedKdc: boolean; ticket: boolean };
}

export interface VerifyPacOptions {
  /** DER EncTicketPart with the PAC replaced by one zero byte, to check signature 16. */
  ticket?: Uint8Array;
  /** Crypto dependencies, e.g. a shared derived-key cache. */
  deps?: CryptoDeps;
}

const NAMES: Readonly<Record<number, string>> = {
  6: "server signature",
  7: "KDC signature",
  16: "ticket signature",
  19: "extended KDC signature",
};

function checkSignature(
  type: 6 | 7 | 16 | 19,
  sigType: number,
  key: PacKey,
  data: Uint8Array,
  sig: Uint8Array,
  deps?: CryptoDeps,
) {
  let ck: ReturnType<typeof getChecksumType>;
  try {
    ck = getChecksumType(sigType, deps);
  } catch (e) {
    if (e instanceof KerberosCryptoError) {
      throw new PacError("pac-unsupported-checksum", `PAC ${NAMES[type]}: ${e.message}`);
    }
    throw e;
  }
  if (ck.etype !== key.etype) {
    throw new PacError(
      "pac-key-mismatch",
      `PAC ${NAMES[type]}: checksum type ${sigType} (${ck.name}) needs a ${enctypeName(ck.etype)} (${ck.etype}) key, got ${enctypeName(key.etype)} (${key.etype})`,
    );
  }
  if (!ck.verify(key.key, KeyUsage.KERB_NON_KERB_CKSUM_SALT, data, sig)) {
    throw new PacError(
      "pac-bad-signature",
      `PAC ${NAMES[type]} does not verify (${ck.name}): wrong key or modified PAC`,
    );
  }
}

function zeroed(bytes: Uint8Array, raw: RawPacBuffer[], types: number[]): Uint8Array {
  const copy = Uint8Array.from(bytes);
  for (const b of raw)
    if (types.includes(b.type)) copy.fill(0, b.offset + 4, b.offset + b.data.length);
  return copy;
}

export interface PacSignatureCheck {
  pac: Pac;
  verified: VerifiedPac["verified"];
}

/**
 * Verifies the PAC's signatures only (a PAC without LOGON_INFO, as MIT's KDC issues, passes);
 * throws PacError otherwise.
 */
export function verifyPacSignatures(
  bytes: Uint8Array,
  serverKey: PacKey,
  kdcKey?: PacKey,
  opts: VerifyPacOptions = {},
): PacSignatureCheck {
  const pac = decodePac(bytes);
  const raw = decodePacContainer(bytes);
  const server = findSignature(pac, 6);
  const kdc = findSignature(pac, 7);
  if (!server || !kdc) {
    throw new PacError(
      "pac-missing-buffer",
      `PAC: ${server ? "KDC" : "server"} signature buffer is missing`,
    );
  }
  checkSignature(
    6,
    server.signatureType,
    serverKey,
    zeroed(bytes, raw, [6, 7]),
    server.signature,
    opts.deps,
  );
  const verified = { server: true as const, kdc: false, extendedKdc: false, ticket: false };
  if (kdcKey) {
    const serverRaw = raw.find((b) => b.type === 6)!;
    checkSignature(
      7,
      kdc.signatureType,
      kdcKey,
      serverRaw.data.subarray(4),
      kdc.signature,
      opts.deps,
    );
    verified.kdc = true;
    const full = findSignature(pac, 19);
    if (full) {
      checkSignature(
        19,
        full.signatureType,
        kdcKey,
        zeroed(bytes, raw, [6, 7, 19]),
        full.signature,
        opts.deps,
      );
      verified.extendedKdc = true;
    }
    const ticket = findSignature(pac, 16);
    if (ticket && opts.ticket) {
      checkSignature(16, ticket.signatureType, kdcKey, opts.ticket, ticket.signature, opts.deps);
      verified.ticket = true;
    }
  }
  return { pac, verified };
}

/** Verifies the PAC's signatures and returns its identity; throws PacError otherwise. */
export function verifyPac(
  bytes: Uint8Array,
  serverKey: PacKey,
  kdcKey?: PacKey,
  opts: VerifyPacOptions = {},
): VerifiedPac {
  return verifiedPacOf(verifyPacSignatures(bytes, serverKey, kdcKey, opts));
}

/**
 * The identity in a PAC whose signatures `verifyPacSignatures` checked, without decoding or
 * checking it again (an acceptor that checks first, then reads LOGON_INFO when present).
 */
export function verifiedPacOf({ pac, verified }: PacSignatureCheck): VerifiedPac {
  const logon = findBuffer(pac, "logon-info");
  if (!logon) throw new PacError("pac-missing-buffer", "PAC: LOGON_INFO buffer is missing");
  const out: VerifiedPac = { pac, logonInfo: logon.value, ...logonInfoSids(logon.value), verified };
  const client = findBuffer(pac, "client-info");
  if (client) out.clientInfo = client.value;
  const upn = findBuffer(pac, "upn-dns-info");
  if (upn) out.upnDnsInfo = upn.value;
  return out;
}

/** The SIDs LOGON_INFO grants (MS-PAC §2.5, §3.1). */
export function logonInfoSids(v: KerbValidationInfo): {
  domainSid: string;
  userSid: string;
  primaryGroupSid: string;
  groupSids: string[];
} {
  if (v.logonDomainId === null)
    throw new PacError("pac-malformed", "LOGON_INFO: LogonDomainId is NULL");
  const domainSid = v.logonDomainId;
  const groups = new Set<string>([sidWithRid(domainSid, v.primaryGroupId)]);
  for (const g of v.groupIds) groups.add(sidWithRid(domainSid, g.relativeId));
  if (v.userFlags & USER_FLAGS.EXTRA_SIDS) for (const e of v.extraSids) groups.add(e.sid);
  if (v.userFlags & USER_FLAGS.RESOURCE_GROUPS && v.resourceGroupDomainSid !== null) {
    for (const g of v.resourceGroupIds)
      groups.add(sidWithRid(v.resourceGroupDomainSid, g.relativeId));
  }
  return {
    domainSid,
    userSid: sidWithRid(domainSid, v.userId),
    primaryGroupSid: sidWithRid(domainSid, v.primaryGroupId),
    groupSids: [...groups],
  };
}

/**
 * MS-PAC §2.7 / MS-KILE §3.4.5.3: the PAC must belong to the ticket it came in. CLIENT_INFO's
 * ClientId must be the ticket's authtime (whole seconds, as KerberosTime carries it) and its
 * Name the client's name as the KDC wrote it (MIT: the principal without realm; AD: the
 * sAMAccountName). Throws PacError "pac-client-mismatch" otherwise.
 */
export function checkClientInfo(pac: Pac, client: { name: string; authTimeMs: number }): void {
  const ci = findBuffer(pac, "client-info");
  if (!ci) throw new PacError("pac-missing-buffer", "PAC: CLIENT_INFO buffer is missing");
  const expected = filetimeFromMs(Math.floor(client.authTimeMs / 1000) * 1000);
  if (ci.value.clientId !== expected) {
    throw new PacError(
      "pac-client-mismatch",
      `PAC CLIENT_INFO: ClientId ${new Date(filetimeToMs(ci.value.clientId)).toISOString()} is not the ticket's authtime ${new Date(client.authTimeMs).toISOString()}`,
    );
  }
  if (ci.value.name !== client.name) {
    throw new PacError(
      "pac-client-mismatch",
      `PAC CLIENT_INFO: name "${ci.value.name}" is not the ticket's client "${client.name}"`,
    );
  }
}
