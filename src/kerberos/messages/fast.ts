/**
 * FAST (RFC 6113 §5.4): the armored request and reply carried in PA-FX-FAST, and the
 * PA-REQ-ENC-PA-REP checksum of RFC 6806 §11 (a DER Checksum, checksum.ts).
 *
 * ```
 * PA-FX-FAST-REQUEST ::= CHOICE { armored-data [0] KrbFastArmoredReq, ... }
 * KrbFastArmoredReq ::= SEQUENCE {
 *         armor        [0] KrbFastArmor OPTIONAL,   -- absent in a TGS-REQ
 *         req-checksum [1] Checksum,                -- armor key, usage 50
 *         enc-fast-req [2] EncryptedData }          -- KrbFastReq, armor key, usage 51
 * KrbFastArmor ::= SEQUENCE { armor-type [0] Int32, armor-value [1] OCTET STRING, ... }
 * KrbFastReq ::= SEQUENCE {
 *         fast-options [0] FastOptions,             -- KerberosFlags
 *         padata       [1] SEQUENCE OF PA-DATA,
 *         req-body     [2] KDC-REQ-BODY, ... }
 * PA-FX-FAST-REPLY ::= CHOICE { armored-data [0] KrbFastArmoredRep, ... }
 * KrbFastArmoredRep ::= SEQUENCE { enc-fast-rep [0] EncryptedData, ... }  -- usage 52
 * KrbFastResponse ::= SEQUENCE {
 *         padata         [0] SEQUENCE OF PA-DATA,
 *         strengthen-key [1] EncryptionKey OPTIONAL,
 *         finished       [2] KrbFastFinished OPTIONAL,
 *         nonce          [3] UInt32, ... }
 * KrbFastFinished ::= SEQUENCE {
 *         timestamp [0] KerberosTime, usec [1] Microseconds, crealm [2] Realm,
 *         cname [3] PrincipalName, ticket-checksum [4] Checksum, ... }  -- usage 53
 * ```
 */
import { Asn1Error, childrenOf, type DerNode } from "../../asn1/der.js";
import { derExplicit } from "../../asn1/writer.js";
import { type Checksum, derChecksum, readChecksum } from "./checksum.js";
import { derEncryptedData, type EncryptedData, readEncryptedData } from "./encrypted-data.js";
import { derEncryptionKey, type EncryptionKey, readEncryptionKey } from "./encryption-key.js";
import { derKdcReqBody, type KdcReqBody, readKdcReqBody } from "./kdc-req-body.js";
import { derPaData, type PaData, readPaData } from "./pa-data.js";
import {
  derPrincipalName,
  derRealm,
  type PrincipalName,
  readPrincipalName,
  readRealm,
} from "./principal-name.js";
import {
  compact,
  decodeWith,
  derFields,
  derInt32,
  derKerberosFlags,
  derKerberosTime,
  derMicroseconds,
  derOctetString,
  derSequence,
  derUInt32,
  flagBit,
  readInt32,
  readKerberosFlags,
  readKerberosTime,
  readMicroseconds,
  readOctetString,
  readSequenceOf,
  readUInt32,
  SequenceReader,
} from "./primitives.js";

/** Armor types (RFC 6113 §5.4.1.1): 1 is an AP-REQ for the TGS with a subkey. */
export const FX_FAST_ARMOR_AP_REQUEST = 1;

/** FastOptions bits (RFC 6113 §5.4.1); bits 0-15 are critical. */
export const FAST_OPTIONS = {
  hideClientNames: flagBit(1),
  kdcFollowReferrals: flagBit(16),
} as const;

export interface KrbFastArmor {
  armorType: number;
  armorValue: Uint8Array;
}

export interface KrbFastArmoredReq {
  armor?: KrbFastArmor;
  reqChecksum: Checksum;
  encFastReq: EncryptedData;
}

export interface KrbFastReq {
  fastOptions: number;
  padata: PaData[];
  reqBody: KdcReqBody;
}

export interface KrbFastFinished {
  timestamp: Date;
  usec: number;
  crealm: string;
  cname: PrincipalName;
  ticketChecksum: Checksum;
}

export interface KrbFastResponse {
  padata: PaData[];
  strengthenKey?: EncryptionKey;
  finished?: KrbFastFinished;
  nonce: number;
}

/** The single alternative `[0]` of a FAST CHOICE. */
function readArmoredChoice(node: DerNode): DerNode {
  if (node.cls !== "context" || node.tag !== 0 || !node.constructed)
    throw new Asn1Error(node.path, "expected armored-data [0]");
  const inner = childrenOf(node, () => `${node.path}.armored-data`);
  if (inner.length !== 1) throw new Asn1Error(node.path, "armored-data must hold one element");
  return inner[0] as DerNode;
}

function readArmor(node: DerNode): KrbFastArmor {
  const r = new SequenceReader(node);
  const armorType = r.req(0, "armor-type", readInt32);
  const armorValue = r.req(1, "armor-value", readOctetString);
  r.end();
  return { armorType, armorValue };
}

function derArmor(a: KrbFastArmor): Uint8Array {
  return derFields([
    [0, derInt32(a.armorType)],
    [1, derOctetString(a.armorValue)],
  ]);
}

export function decodePaFxFastRequest(bytes: Uint8Array): KrbFastArmoredReq {
  return decodeWith(bytes, "PA-FX-FAST-REQUEST", (node) => {
    const r = new SequenceReader(readArmoredChoice(node));
    const armor = r.opt(0, "armor", readArmor);
    const reqChecksum = r.req(1, "req-checksum", readChecksum);
    const encFastReq = r.req(2, "enc-fast-req", readEncryptedData);
    r.end();
    return compact({ armor, reqChecksum, encFastReq });
  });
}

export function encodePaFxFastRequest(a: KrbFastArmoredReq): Uint8Array {
  return derExplicit(
    0,
    derFields([
      [0, a.armor && derArmor(a.armor)],
      [1, derChecksum(a.reqChecksum)],
      [2, derEncryptedData(a.encFastReq)],
    ]),
  );
}

export function decodeKrbFastReq(bytes: Uint8Array): KrbFastReq {
  return decodeWith(bytes, "KrbFastReq", (node) => {
    const r = new SequenceReader(node);
    const fastOptions = r.req(0, "fast-options", readKerberosFlags);
    const padata = r.req(1, "padata", (n) => readSequenceOf(n, readPaData));
    const reqBody = r.req(2, "req-body", readKdcReqBody);
    r.end();
    return { fastOptions, padata, reqBody };
  });
}

export function encodeKrbFastReq(f: KrbFastReq): Uint8Array {
  return derFields([
    [0, derKerberosFlags(f.fastOptions)],
    [1, derSequence(f.padata.map(derPaData))],
    [2, derKdcReqBody(f.reqBody)],
  ]);
}

/** PA-FX-FAST-REPLY: the encrypted KrbFastResponse. */
export function encodePaFxFastReply(encFastRep: EncryptedData): Uint8Array {
  return derExplicit(0, derFields([[0, derEncryptedData(encFastRep)]]));
}

export function decodePaFxFastReply(bytes: Uint8Array): EncryptedData {
  return decodeWith(bytes, "PA-FX-FAST-REPLY", (node) => {
    const r = new SequenceReader(readArmoredChoice(node));
    const enc = r.req(0, "enc-fast-rep", readEncryptedData);
    r.end();
    return enc;
  });
}

function readFinished(node: DerNode): KrbFastFinished {
  const r = new SequenceReader(node);
  const f = {
    timestamp: r.req(0, "timestamp", readKerberosTime),
    usec: r.req(1, "usec", readMicroseconds),
    crealm: r.req(2, "crealm", readRealm),
    cname: r.req(3, "cname", readPrincipalName),
    ticketChecksum: r.req(4, "ticket-checksum", readChecksum),
  };
  r.end();
  return f;
}

export function encodeKrbFastResponse(f: KrbFastResponse): Uint8Array {
  const fin = f.finished;
  return derFields([
    [0, derSequence(f.padata.map(derPaData))],
    [1, f.strengthenKey && derEncryptionKey(f.strengthenKey)],
    [
      2,
      fin &&
        derFields([
          [0, derKerberosTime(fin.timestamp)],
          [1, derMicroseconds(fin.usec)],
          [2, derRealm(fin.crealm)],
          [3, derPrincipalName(fin.cname)],
          [4, derChecksum(fin.ticketChecksum)],
        ]),
    ],
    [3, derUInt32(f.nonce)],
  ]);
}

export function decodeKrbFastResponse(bytes: Uint8Array): KrbFastResponse {
  return decodeWith(bytes, "KrbFastResponse", (node) => {
    const r = new SequenceReader(node);
    const padata = r.req(0, "padata", (n) => readSequenceOf(n, readPaData));
    const strengthenKey = r.opt(1, "strengthen-key", readEncryptionKey);
    const finished = r.opt(2, "finished", readFinished);
    const nonce = r.req(3, "nonce", readUInt32);
    r.end();
    return compact({ padata, strengthenKey, finished, nonce });
  });
}
