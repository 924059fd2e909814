/**
 * Reading a KDC's answer (RFC 4120 §3.1.5, §3.1.6, §3.3.4): a KRB-ERROR, or the reply we
 * asked for, whose encrypted part must decrypt and match the request (nonce, client and
 * server names) before its session key is believed. The result becomes a ccache
 * `Credential` (times in seconds, the Ticket as DER).
 */
import { getEnctype } from "../crypto/index.js";
import type { Credential } from "../files/ccache.js";
import { decodeEtypeInfo2, type EtypeInfo2Entry } from "../messages/etype-info2.js";
import { decodeEncKdcRepPart, type EncKdcRepPart } from "../messages/enc-kdc-rep-part.js";
import type { KdcRep } from "../messages/kdc-rep.js";
import type { KrbError } from "../messages/krb-error.js";
import { decodeKrbMessage } from "../messages/message.js";
import { decodeMethodData, findPaData, PA_TYPE, type PaData } from "../messages/pa-data.js";
import { encodeTicket } from "../messages/ticket.js";
import { formatPrincipal, type Principal, principalEquals } from "../principal.js";
import { KerberosClientError } from "./errors.js";

export type KdcReply = { kind: "error"; error: KrbError } | { kind: "rep"; rep: KdcRep };

/** Decodes a reply that must be `expected` or a KRB-ERROR. */
export function readKdcReply(bytes: Uint8Array, expected: "AS-REP" | "TGS-REP"): KdcReply {
  let msg: ReturnType<typeof decodeKrbMessage>;
  try {
    msg = decodeKrbMessage(bytes);
  } catch (e) {
    throw new KerberosClientError("kdc-reply-invalid", `KDC reply: ${(e as Error).message}`);
  }
  if (msg.type === "KRB-ERROR") return { kind: "error", error: msg.value };
  if (msg.type !== expected) {
    throw new KerberosClientError(
      "kdc-reply-invalid",
      `KDC reply: expected ${expected} or KRB-ERROR, got ${msg.type}`,
    );
  }
  return { kind: "rep", rep: msg.value as KdcRep };
}

/** ETYPE-INFO2 from PA-DATA (AS-REP padata or a PREAUTH_REQUIRED error's METHOD-DATA). */
export function etypeInfoFrom(padata: readonly PaData[] | undefined): EtypeInfo2Entry[] {
  const p = findPaData(padata, PA_TYPE.PA_ETYPE_INFO2);
  if (!p) return [];
  try {
    return decodeEtypeInfo2(p.padataValue);
  } catch (e) {
    throw new KerberosClientError(
      "kdc-reply-invalid",
      `KDC's ETYPE-INFO2: ${(e as Error).message}`,
    );
  }
}

/** The METHOD-DATA in a KRB-ERROR's e-data (PREAUTH_REQUIRED carries one). */
export function methodDataOf(e: KrbError): PaData[] {
  if (!e.eData) return [];
  try {
    return decodeMethodData(e.eData);
  } catch {
    return [];
  }
}

export interface ReplyExpectations {
  nonce: number;
  client: Principal;
  server: Principal;
  /** The request set canonicalize: the KDC may change the names. */
  canonicalize?: boolean;
}

/** Decrypts and checks the reply's enc-part; `usage` is 3 (AS), 8 or 9 (TGS). */
export function openKdcRep(
  rep: KdcRep,
  key: { etype: number; key: Uint8Array },
  usage: number,
  expect: ReplyExpectations,
): EncKdcRepPart {
  if (rep.encPart.etype !== key.etype) {
    throw new KerberosClientError(
      "kdc-reply-invalid",
      `KDC reply encrypted with enctype ${rep.encPart.etype}, our key is ${key.etype}`,
    );
  }
  const plain = getEnctype(key.etype).decrypt(key.key, usage, rep.encPart.cipher);
  let part: EncKdcRepPart;
  try {
    part = decodeEncKdcRepPart(plain).part;
  } catch (e) {
    throw new KerberosClientError(
      "kdc-reply-invalid",
      `KDC reply enc-part: ${(e as Error).message}`,
    );
  }
  if (part.nonce !== expect.nonce) {
    throw new KerberosClientError(
      "kdc-reply-invalid",
      `KDC reply: nonce ${part.nonce} is not ours (${expect.nonce}): a replayed or misrouted reply`,
    );
  }
  const client: Principal = { realm: rep.crealm, name: rep.cname };
  const server: Principal = { realm: part.srealm, name: part.sname };
  if (!expect.canonicalize) {
    if (!principalEquals(client, expect.client))
      throw new KerberosClientError(
        "kdc-reply-invalid",
        `KDC reply is for client ${formatPrincipal(client)}, we asked for ${formatPrincipal(expect.client)}`,
      );
    if (!principalEquals(server, expect.server))
      throw new KerberosClientError(
        "kdc-reply-invalid",
        `KDC reply is for service ${formatPrincipal(server)}, we asked for ${formatPrincipal(expect.server)}`,
      );
  }
  return part;
}

const secs = (d: Date | undefined): number => (d ? Math.floor(d.getTime() / 1000) : 0);

/** The reply as a credential cache entry. */
export function credentialFromReply(rep: KdcRep, part: EncKdcRepPart): Credential {
  return {
    client: { realm: rep.crealm, name: rep.cname },
    server: { realm: part.srealm, name: part.sname },
    key: { keytype: part.key.keytype, keyvalue: part.key.keyvalue },
    authtime: secs(part.authtime),
    starttime: secs(part.starttime),
    endtime: secs(part.endtime),
    renewTill: secs(part.renewTill),
    isSkey: false,
    ticketFlags: part.flags,
    addresses: part.caddr ?? [],
    authdata: [],
    ticket: encodeTicket(rep.ticket),
    secondTicket: new Uint8Array(0),
  };
}
