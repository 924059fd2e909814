/**
 * Building KDC-REP (RFC 4120 §5.4.2) and KRB-ERROR (§5.9.1) messages.
 */
import { getEnctype } from "../crypto/index.js";
import {
  type EncKdcRepPart,
  type EncTicketPart,
  encodeAsRep,
  encodeEncAsRepPart,
  encodeEncTgsRepPart,
  encodeKrbError,
  encodeTgsRep,
  type KdcReqBody,
  type KrbError,
  type Ticket,
} from "../messages/index.js";
import type { PrincipalName } from "../principal.js";
import type { KdcContext } from "./context.js";
import type { KdcError } from "./errors.js";

export interface RepInput {
  kind: "AS" | "TGS";
  body: KdcReqBody;
  crealm: string;
  cname: PrincipalName;
  ticket: Ticket;
  part: Omit<EncTicketPart, "authorizationData">;
  replyKey: { etype: number; key: Uint8Array; kvno?: number };
  usage: number;
  now: Date;
  padata?: { padataType: number; padataValue: Uint8Array }[];
  /** RFC 6806 encrypted-pa-data (fast.ts `encPaRep`). */
  encPadata?: { padataType: number; padataValue: Uint8Array }[];
}

/** AS-REP or TGS-REP with the EncKDCRepPart mirroring the ticket (RFC 4120 §3.1.3). */
export function buildKdcRep(ctx: KdcContext, r: RepInput): Uint8Array {
  // Optional fields are set only when present (no `delete`: it turns the object into a
  // slow dictionary-mode one for the encoder).
  const enc: EncKdcRepPart = {
    key: r.part.key,
    lastReq: [{ lrType: 0, lrValue: r.now }],
    nonce: r.body.nonce,
    flags: r.part.flags,
    authtime: r.part.authtime,
    endtime: r.part.endtime,
    srealm: r.ticket.realm,
    sname: r.ticket.sname,
  };
  if (r.part.starttime !== undefined) enc.starttime = r.part.starttime;
  if (r.part.renewTill !== undefined) enc.renewTill = r.part.renewTill;
  if (r.part.caddr !== undefined) enc.caddr = r.part.caddr;
  if (r.encPadata !== undefined) enc.encryptedPaData = r.encPadata;
  if (ctx.note) {
    // For the request log: etypes and times only, never the keys.
    ctx.note.issued = {
      authtime: Math.floor(r.part.authtime.getTime() / 1000),
      rep: r.replyKey.etype,
      tkt: r.ticket.encPart.etype,
      ses: r.part.key.keytype,
    };
  }
  const plain = r.kind === "AS" ? encodeEncAsRepPart(enc) : encodeEncTgsRepPart(enc);
  const encPart = {
    etype: r.replyKey.etype,
    ...(r.replyKey.kvno === undefined ? {} : { kvno: r.replyKey.kvno }),
    cipher: getEnctype(r.replyKey.etype, ctx.crypto).encrypt(r.replyKey.key, r.usage, plain),
  };
  const rep = {
    ...(r.padata ? { padata: r.padata } : {}),
    crealm: r.crealm,
    cname: r.cname,
    ticket: r.ticket,
    encPart,
  };
  return r.kind === "AS" ? encodeAsRep(rep) : encodeTgsRep(rep);
}

export interface ErrorContext {
  realm: string;
  sname: PrincipalName;
  crealm?: string;
  cname?: PrincipalName;
}

/** KRB-ERROR for `err` (no ctime/cusec: the KDC does not echo the client's). */
export function buildKrbError(
  nowMs: number,
  ec: ErrorContext,
  errorCode: number,
  eText: string,
  eData?: Uint8Array,
): Uint8Array {
  const e: KrbError = {
    stime: new Date(Math.floor(nowMs / 1000) * 1000),
    susec: (nowMs % 1000) * 1000,
    errorCode,
    realm: ec.realm,
    sname: ec.sname,
    eText: eText.slice(0, 200),
  };
  if (ec.crealm !== undefined && ec.cname) {
    e.crealm = ec.crealm;
    e.cname = ec.cname;
  }
  if (eData) e.eData = eData;
  return encodeKrbError(e);
}

export function errorFrom(nowMs: number, ec: ErrorContext, err: KdcError): Uint8Array {
  return buildKrbError(nowMs, ec, err.errorCode, err.message, err.eData);
}
