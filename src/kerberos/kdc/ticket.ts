/**
 * Sealing and opening tickets (RFC 4120 §5.3, key usage 2) with the PAC inside
 * AD-IF-RELEVANT / AD-WIN2K-PAC. Sealing a service ticket:
 *
 *   1. EncTicketPart with the PAC's ad-data set to one zero byte -> DER -> ticket signature
 *      (MS-PAC §2.8.3; not for krbtgt tickets, as Windows and MIT do)
 *   2. PAC signed: full PAC checksum (19, MS-PAC §2.8.5, krbtgt key; service tickets only,
 *      as Windows since November 2022 and MIT 1.21), server signature (service key), KDC
 *      signature (krbtgt key)
 *   3. EncTicketPart with the signed PAC -> DER -> encrypted with the service key
 */
import { type CryptoDeps, getEnctype, KerberosCryptoError, KeyUsage } from "../crypto/index.js";
import {
  AD_TYPE,
  type AuthorizationData,
  decodeAdIfRelevant,
  decodeEncTicketPart,
  type EncTicketPart,
  encodeAdIfRelevant,
  encodeEncTicketPartWith,
  type Ticket,
} from "../messages/index.js";
import { layOutPac, type Pac, PacError, type PacLayout, signPacLayout } from "../pac/index.js";
import type { PrincipalKey } from "./database.js";
import { kdcError } from "./errors.js";
import { keyFor } from "./keys.js";
import { verifyTgtPac } from "./tgt-pac.js";

const pacAd = (pac: Uint8Array): AuthorizationData => [
  encodeAdIfRelevant([{ adType: AD_TYPE.AD_WIN2K_PAC, adData: pac }]),
];

export interface SealInput {
  part: Omit<EncTicketPart, "authorizationData">;
  /**
   * The PAC, or its layout for these key types already made (pac-issue.ts's cache); null:
   * a ticket without PAC (the TGT's PA-PAC-REQUEST was false, pac-checks.ts).
   */
  pac: Pac | PacLayout | null;
  realm: string;
  sname: Ticket["sname"];
  serverKey: PrincipalKey;
  kdcKey: PrincipalKey;
  isTgt: boolean;
  deps: CryptoDeps;
  /**
   * Layouts of this very `pac` by key types (pac/sign.ts), kept by the caller when it
   * seals the same PAC again (a TGT's PAC carried into many tickets): signing then only
   * fills in the signatures, which cover this ticket.
   */
  layouts?: Map<string, PacLayout>;
}

/** A Ticket whose EncTicketPart carries `pac`, signed as MS-PAC §2.8 says. */
export function sealTicket(s: SealInput): Ticket {
  if (s.pac === null) return encryptPart(s, encodeEncTicketPartWith(s.part)(undefined));
  const serverPacKey = { etype: s.serverKey.etype, key: s.serverKey.key };
  const kdcPacKey = { etype: s.kdcKey.etype, key: s.kdcKey.key };
  const encode = encodeEncTicketPartWith(s.part);
  const ticketBytes = s.isTgt ? undefined : encode(pacAd(Uint8Array.of(0)));
  const id = `${s.serverKey.etype}:${s.kdcKey.etype}:${s.isTgt}`;
  let layout = "bytes" in s.pac ? s.pac : s.layouts?.get(id);
  if (!layout) {
    const opts = { ticket: !s.isTgt, extendedKdcSignature: !s.isTgt, deps: s.deps };
    layout = layOutPac(s.pac as Pac, s.serverKey.etype, s.kdcKey.etype, opts);
    s.layouts?.set(id, layout);
  }
  const signed = signPacLayout(layout, serverPacKey, kdcPacKey, {
    ...(ticketBytes ? { ticket: ticketBytes } : {}),
    deps: s.deps,
  });
  return encryptPart(s, encode(pacAd(signed)));
}

function encryptPart(s: SealInput, plain: Uint8Array): Ticket {
  const e = getEnctype(s.serverKey.etype, s.deps);
  return {
    realm: s.realm,
    sname: s.sname,
    encPart: {
      etype: s.serverKey.etype,
      kvno: s.serverKey.kvno,
      cipher: e.encrypt(s.serverKey.key, KeyUsage.KDC_REP_TICKET, plain),
    },
  };
}

/** Decrypts a ticket with one of `keys`; BAD_INTEGRITY / BADKEYVER / MODIFIED otherwise. */
export function openTicket(
  ticket: Ticket,
  keys: readonly PrincipalKey[],
  who: string,
  deps?: CryptoDeps,
) {
  const key = keyFor(keys, ticket.encPart.etype, ticket.encPart.kvno);
  if (!key) {
    throw kdcError(
      "KRB_AP_ERR_BADKEYVER",
      `no ${who} key of etype ${ticket.encPart.etype} kvno ${ticket.encPart.kvno ?? "-"}`,
    );
  }
  let plain: Uint8Array;
  try {
    plain = getEnctype(key.etype, deps).decrypt(
      key.key,
      KeyUsage.KDC_REP_TICKET,
      ticket.encPart.cipher,
    );
  } catch (e) {
    if (e instanceof KerberosCryptoError)
      throw kdcError("KRB_AP_ERR_BAD_INTEGRITY", `ticket for ${who} does not decrypt`);
    throw e;
  }
  return { part: decodeEncTicketPart(plain), key };
}

/** The PAC bytes in an EncTicketPart, or undefined. */
export function ticketPacBytes(part: EncTicketPart): Uint8Array | undefined {
  for (const ad of part.authorizationData ?? []) {
    if (ad.adType !== AD_TYPE.AD_IF_RELEVANT) continue;
    for (const inner of decodeAdIfRelevant(ad.adData)) {
      if (inner.adType === AD_TYPE.AD_WIN2K_PAC) return inner.adData;
    }
  }
  return undefined;
}

/**
 * Verifies a TGT's PAC with the krbtgt key (tgt-pac.ts); MODIFIED if it fails. A TGT
 * without a PAC is TGT_REVOKED, as Windows answers it since 2021 (pac-checks.ts).
 */
export function checkTgtPac(part: EncTicketPart, krbtgtKey: PrincipalKey, deps: CryptoDeps): Pac {
  const bytes = ticketPacBytes(part);
  if (!bytes) throw kdcError("KDC_ERR_TGT_REVOKED", "TGT carries no PAC");
  try {
    return verifyTgtPac(bytes, krbtgtKey, deps);
  } catch (e) {
    if (e instanceof PacError || e instanceof KerberosCryptoError)
      throw kdcError("KRB_AP_ERR_MODIFIED", `TGT PAC: ${e.message}`);
    throw e;
  }
}
