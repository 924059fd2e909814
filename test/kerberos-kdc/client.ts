/**
 * A minimal Kerberos client for the KDC tests and bench (the real client lives in
 * src/kerberos/client/, another branch): AS-REQ with PA-ENC-TIMESTAMP, TGS-REQ with an
 * authenticator whose checksum covers the req-body, optional PA-FOR-USER (S4U2Self), and
 * decryption of the replies.
 */
import { hmacMd5Checksum } from "../../src/kerberos/kdc/s4u-self.js";
import { getEnctype, KeyUsage } from "../../src/kerberos/crypto/index.js";
import {
  type EncKdcRepPart,
  type EncTicketPart,
  decodeAsRep,
  decodeEncKdcRepPart,
  decodeEncTicketPart,
  decodeKrbMessage,
  decodeTgsRep,
  encodeApReq,
  encodeAsReq,
  encodeAuthenticator,
  encodeKdcReqBody,
  encodePaEncTimestamp,
  encodePaEncTsEnc,
  encodePaForUser,
  encodePaPacOptions,
  encodePaPacRequest,
  encodeTgsReq,
  type KdcRep,
  type KdcReqBody,
  type KrbError,
  PA_TYPE,
  type PaData,
  paForUserChecksumInput,
  type Ticket,
} from "../../src/kerberos/messages/index.js";
import type { PrincipalName } from "../../src/kerberos/principal.js";

export const principal = (...parts: string[]): PrincipalName => ({
  nameType: parts.length > 1 ? 2 : 1,
  nameString: parts,
});

export interface AsReqInput {
  realm: string;
  cname: PrincipalName;
  sname?: PrincipalName;
  etypes: number[];
  /** Client key used for PA-ENC-TIMESTAMP; omit for no pre-auth. */
  key?: { etype: number; key: Uint8Array };
  nowMs: number;
  kdcOptions?: number;
  tillMs?: number;
  rtimeMs?: number;
  nonce?: number;
  /** PA-PAC-REQUEST include-pac (MS-KILE §2.2.3); absent: not sent. */
  pacRequest?: boolean;
}

export function asReqBody(i: AsReqInput): KdcReqBody {
  return {
    kdcOptions: i.kdcOptions ?? 0x40000000,
    cname: i.cname,
    realm: i.realm,
    sname: i.sname ?? principal("krbtgt", i.realm),
    till: new Date(i.tillMs ?? i.nowMs + 86400_000),
    ...(i.rtimeMs ? { rtime: new Date(i.rtimeMs) } : {}),
    nonce: i.nonce ?? 12345,
    etype: i.etypes,
  };
}

export function buildAsReq(i: AsReqInput): Uint8Array {
  const padata: PaData[] = [];
  if (i.key) {
    const ts = encodePaEncTsEnc({
      patimestamp: new Date(Math.floor(i.nowMs / 1000) * 1000),
      pausec: 0,
    });
    const cipher = getEnctype(i.key.etype).encrypt(i.key.key, KeyUsage.AS_REQ_PA_ENC_TIMESTAMP, ts);
    padata.push({
      padataType: PA_TYPE.PA_ENC_TIMESTAMP,
      padataValue: encodePaEncTimestamp({ etype: i.key.etype, cipher }),
    });
  }
  if (i.pacRequest !== undefined)
    padata.push({
      padataType: PA_TYPE.PA_PAC_REQUEST,
      padataValue: encodePaPacRequest({ includePac: i.pacRequest }),
    });
  return encodeAsReq({ ...(padata.length ? { padata } : {}), reqBody: asReqBody(i) });
}

export interface Creds {
  rep: KdcRep;
  enc: EncKdcRepPart;
  ticket: Ticket;
  sessionKey: { etype: number; key: Uint8Array };
}

/** Decodes a reply: a KRB-ERROR or the rep with its enc-part decrypted. */
export function readReply(
  bytes: Uint8Array,
  key: { etype: number; key: Uint8Array },
  usage: number,
): { error: KrbError } | { creds: Creds } {
  const m = decodeKrbMessage(bytes);
  if (m.type === "KRB-ERROR") return { error: m.value };
  if (m.type !== "AS-REP" && m.type !== "TGS-REP") throw new Error(`unexpected ${m.type}`);
  const rep = m.type === "AS-REP" ? decodeAsRep(bytes) : decodeTgsRep(bytes);
  const plain = getEnctype(key.etype).decrypt(key.key, usage, rep.encPart.cipher);
  const enc = decodeEncKdcRepPart(plain).part;
  return {
    creds: {
      rep,
      enc,
      ticket: rep.ticket,
      sessionKey: { etype: enc.key.keytype, key: enc.key.keyvalue },
    },
  };
}

export function expectCreds(r: ReturnType<typeof readReply>): Creds {
  if ("error" in r) throw new Error(`KRB-ERROR ${r.error.errorCode}: ${r.error.eText ?? ""}`);
  return r.creds;
}

export function expectError(r: ReturnType<typeof readReply> | Uint8Array): KrbError {
  if (r instanceof Uint8Array) {
    const m = decodeKrbMessage(r);
    if (m.type !== "KRB-ERROR") throw new Error(`expected KRB-ERROR, got ${m.type}`);
    return m.value;
  }
  if (!("error" in r)) throw new Error("expected KRB-ERROR, got a ticket");
  return r.error;
}

export interface TgsReqInput {
  realm: string;
  tgt: Creds;
  cname: PrincipalName;
  sname: PrincipalName;
  etypes: number[];
  nowMs: number;
  kdcOptions?: number;
  tillMs?: number;
  rtimeMs?: number;
  /** S4U2Self: the user to ask for. */
  forUser?: PrincipalName;
  /** Corrupt the body checksum (tests). */
  badChecksum?: boolean;
  subkey?: { etype: number; key: Uint8Array };
  nonce?: number;
  /** An authenticator without the req-body checksum (as impacket's getST sends for S4U). */
  noChecksum?: boolean;
  /** additional-tickets (user-to-user's second TGT, S4U2Proxy's evidence ticket). */
  additionalTickets?: Ticket[];
  /** PA-PAC-OPTIONS flags (MS-KILE §2.2.10; RBCD is PAC_OPTIONS.resourceBasedConstrainedDelegation). */
  pacOptions?: number;
}

export function buildTgsReq(i: TgsReqInput): Uint8Array {
  const body: KdcReqBody = {
    kdcOptions: i.kdcOptions ?? 0x40000000,
    realm: i.realm,
    sname: i.sname,
    till: new Date(i.tillMs ?? i.nowMs + 86400_000),
    ...(i.rtimeMs ? { rtime: new Date(i.rtimeMs) } : {}),
    nonce: i.nonce ?? 54321,
    etype: i.etypes,
    ...(i.additionalTickets ? { additionalTickets: i.additionalTickets } : {}),
  };
  const bodyBytes = encodeKdcReqBody(body);
  const sk = i.tgt.sessionKey;
  const e = getEnctype(sk.etype);
  const cksum = e.checksum(sk.key, KeyUsage.TGS_REQ_AUTH_CKSUM, bodyBytes);
  if (i.badChecksum) cksum[0]! ^= 1;
  const now = new Date(Math.floor(i.nowMs / 1000) * 1000);
  const auth = encodeAuthenticator({
    crealm: i.realm,
    cname: i.cname,
    ...(i.noChecksum ? {} : { cksum: { cksumtype: e.checksumType, checksum: cksum } }),
    cusec: 0,
    ctime: now,
    ...(i.subkey ? { subkey: { keytype: i.subkey.etype, keyvalue: i.subkey.key } } : {}),
  });
  const apReq = encodeApReq({
    apOptions: 0,
    ticket: i.tgt.ticket,
    authenticator: { etype: sk.etype, cipher: e.encrypt(sk.key, KeyUsage.TGS_REQ_AUTH, auth) },
  });
  const padata: PaData[] = [{ padataType: PA_TYPE.PA_TGS_REQ, padataValue: apReq }];
  if (i.forUser) {
    const fu = { userName: i.forUser, userRealm: i.realm, authPackage: "Kerberos" };
    const checksum = hmacMd5Checksum(sk.key, 17, paForUserChecksumInput(fu));
    padata.push({
      padataType: PA_TYPE.PA_FOR_USER,
      padataValue: encodePaForUser({ ...fu, cksum: { cksumtype: -138, checksum } }),
    });
  }
  if (i.pacOptions !== undefined)
    padata.push({
      padataType: PA_TYPE.PA_PAC_OPTIONS,
      padataValue: encodePaPacOptions(i.pacOptions),
    });
  return encodeTgsReq({ padata, reqBody: body });
}

/** Decrypts a ticket with the service key. */
export function openServiceTicket(t: Ticket, key: Uint8Array): EncTicketPart {
  return decodeEncTicketPart(
    getEnctype(t.encPart.etype).decrypt(key, KeyUsage.KDC_REP_TICKET, t.encPart.cipher),
  );
}
