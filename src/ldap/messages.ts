/**
 * LDAPv3 messages (RFC 4511 §4): the requests this client sends and the responses it reads.
 *
 *   LDAPMessage ::= SEQUENCE { messageID INTEGER, protocolOp CHOICE {...},
 *                              controls [0] Controls OPTIONAL }
 *   Control ::= SEQUENCE { controlType LDAPOID, criticality BOOLEAN DEFAULT FALSE,
 *                          controlValue OCTET STRING OPTIONAL }
 *   LDAPResult ::= SEQUENCE { resultCode ENUMERATED, matchedDN LDAPDN,
 *                             diagnosticMessage LDAPString, referral [3] Referral OPTIONAL }
 *
 * Request tags: BindRequest [APPLICATION 0], UnbindRequest [2], SearchRequest [3],
 * ModifyRequest [6], AddRequest [8], DelRequest [10]. Response tags: BindResponse [1],
 * SearchResultEntry [4], SearchResultDone [5], ModifyResponse [7], AddResponse [9],
 * DelResponse [11], SearchResultReference [19], ExtendedResponse [24].
 */
import {
  BER,
  berBoolean,
  berEnumerated,
  berInteger,
  berOctets,
  berSequence,
  children,
  expect,
  readInteger,
  readText,
  type Tlv,
  tlv,
} from "./ber.js";
import { LdapError } from "./errors.js";
import { encodeFilter } from "./filter.js";

export const OP = {
  bindRequest: 0x60,
  bindResponse: 0x61,
  unbindRequest: 0x42,
  searchRequest: 0x63,
  searchResultEntry: 0x64,
  searchResultDone: 0x65,
  modifyRequest: 0x66,
  modifyResponse: 0x67,
  addRequest: 0x68,
  addResponse: 0x69,
  delRequest: 0x4a,
  delResponse: 0x6b,
  searchResultReference: 0x73,
  extendedResponse: 0x78,
} as const;

/** The Simple Paged Results control (RFC 2696), which AD needs past 1000 entries. */
export const PAGED_RESULTS_OID = "1.2.840.113556.1.4.319";

export interface Control {
  type: string;
  critical?: boolean;
  value?: Buffer;
}

export interface LdapResult {
  resultCode: number;
  matchedDN: string;
  diagnosticMessage: string;
  /** BindResponse serverSaslCreds [7]. */
  serverSaslCreds?: Buffer;
}

export interface LdapMessage {
  id: number;
  /** The protocolOp's tag (OP.*) and its content. */
  op: Tlv;
  controls: Control[];
}

function encodeControls(controls: readonly Control[]): Buffer {
  return berSequence(
    controls.map((c) =>
      berSequence([
        berOctets(c.type),
        ...(c.critical ? [berBoolean(true)] : []),
        ...(c.value ? [berOctets(c.value)] : []),
      ]),
    ),
    0xa0,
  );
}

export function encodeMessage(id: number, op: Buffer, controls: readonly Control[] = []): Buffer {
  return berSequence([berInteger(id), op, ...(controls.length ? [encodeControls(controls)] : [])]);
}

/** BindRequest, SASL: version 3, empty name, mechanism and (optional) credentials. */
export function saslBind(mechanism: string, credentials?: Uint8Array): Buffer {
  const sasl = berSequence(
    [berOctets(mechanism), ...(credentials ? [berOctets(credentials)] : [])],
    0xa3,
  );
  return berSequence([berInteger(3), berOctets(""), sasl], OP.bindRequest);
}

export const unbind = (): Buffer => tlv(OP.unbindRequest, Buffer.alloc(0));

export type Scope = "base" | "one" | "sub";
const SCOPE: Record<Scope, number> = { base: 0, one: 1, sub: 2 };

export interface SearchRequest {
  base: string;
  scope: Scope;
  filter: string;
  attributes?: readonly string[];
  sizeLimit?: number;
  timeLimitSec?: number;
}

export function searchRequest(s: SearchRequest): Buffer {
  return berSequence(
    [
      berOctets(s.base),
      berEnumerated(SCOPE[s.scope]),
      berEnumerated(0), // derefAliases: neverDerefAliases
      berInteger(s.sizeLimit ?? 0),
      berInteger(s.timeLimitSec ?? 0),
      berBoolean(false),
      encodeFilter(s.filter),
      berSequence((s.attributes ?? []).map((a) => berOctets(a))),
    ],
    OP.searchRequest,
  );
}

type Value = string | Uint8Array;
const values = (vs: readonly Value[]) =>
  berSequence(
    vs.map((v) => berOctets(v)),
    BER.set,
  );

export function addRequest(dn: string, attributes: Record<string, readonly Value[]>): Buffer {
  const attrs = Object.entries(attributes).map(([t, vs]) =>
    berSequence([berOctets(t), values(vs)]),
  );
  return berSequence([berOctets(dn), berSequence(attrs)], OP.addRequest);
}

export interface Change {
  op: "add" | "delete" | "replace";
  type: string;
  values: readonly Value[];
}
const MOD_OP = { add: 0, delete: 1, replace: 2 } as const;

export function modifyRequest(dn: string, changes: readonly Change[]): Buffer {
  const list = changes.map((c) =>
    berSequence([berEnumerated(MOD_OP[c.op]), berSequence([berOctets(c.type), values(c.values)])]),
  );
  return berSequence([berOctets(dn), berSequence(list)], OP.modifyRequest);
}

export const deleteRequest = (dn: string): Buffer => berOctets(dn, OP.delRequest);

/** The paged-results control value: SEQUENCE { size INTEGER, cookie OCTET STRING }. */
export function pagedControl(size: number, cookie: Uint8Array): Control {
  return {
    type: PAGED_RESULTS_OID,
    critical: true,
    value: berSequence([berInteger(size), berOctets(cookie)]),
  };
}

/** The cookie of the server's paged-results control (empty: the last page). */
export function pagedCookie(controls: readonly Control[]): Buffer {
  const c = controls.find((x) => x.type === PAGED_RESULTS_OID);
  if (!c?.value) return Buffer.alloc(0);
  const seq = expect(children(c.value, "paged control"), 0, BER.sequence, "paged control");
  return expect(children(seq.value, "paged control"), 1, BER.octetString, "paged cookie").value;
}

function decodeControls(t: Tlv): Control[] {
  return children(t.value, "Controls").map((c) => {
    const parts = children(c.value, "Control");
    const out: Control = { type: readText(expect(parts, 0, BER.octetString, "Control")) };
    for (const p of parts.slice(1)) {
      if (p.tag === BER.boolean) out.critical = p.value[0] !== 0;
      else if (p.tag === BER.octetString) out.value = p.value;
    }
    return out;
  });
}

/** One LDAPMessage (the bytes of its outer SEQUENCE's content). */
export function decodeMessage(content: Buffer): LdapMessage {
  const parts = children(content, "LDAPMessage");
  const id = readInteger(expect(parts, 0, BER.integer, "LDAPMessage"), "messageID");
  const op = parts[1];
  if (!op) throw new LdapError(2, "LDAPMessage: no protocolOp");
  const ctl = parts[2];
  return { id, op, controls: ctl && ctl.tag === 0xa0 ? decodeControls(ctl) : [] };
}

/** LDAPResult fields of a response op (BindResponse adds serverSaslCreds). */
export function decodeResult(op: Tlv): LdapResult {
  const parts = children(op.value, "LDAPResult");
  const code = expect(parts, 0, BER.enumerated, "LDAPResult");
  const r: LdapResult = {
    resultCode: readInteger(code, "resultCode"),
    matchedDN: readText(expect(parts, 1, BER.octetString, "LDAPResult")),
    diagnosticMessage: readText(expect(parts, 2, BER.octetString, "LDAPResult")),
  };
  const creds = parts.find((p) => p.tag === 0x87);
  if (creds) r.serverSaslCreds = creds.value;
  return r;
}

export interface DecodedEntry {
  dn: string;
  attributes: Map<string, Buffer[]>;
}

/** SearchResultEntry: objectName and its attributes, names lower-cased. */
export function decodeEntry(op: Tlv): DecodedEntry {
  const parts = children(op.value, "SearchResultEntry");
  const dn = readText(expect(parts, 0, BER.octetString, "SearchResultEntry"));
  const list = expect(parts, 1, BER.sequence, "SearchResultEntry");
  const attributes = new Map<string, Buffer[]>();
  for (const a of children(list.value, "PartialAttributeList")) {
    const pa = children(a.value, "PartialAttribute");
    const type = readText(expect(pa, 0, BER.octetString, "PartialAttribute")).toLowerCase();
    const vals = expect(pa, 1, BER.set, "PartialAttribute");
    const prev = attributes.get(type) ?? [];
    attributes.set(type, [...prev, ...children(vals.value, "vals").map((v) => v.value)]);
  }
  return { dn, attributes };
}
