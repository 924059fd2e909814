/**
 * One log line per KDC request, in MIT krb5kdc's words (kdc_log.c, log_as_req and
 * log_tgs_req as krb5kdc 1.20 writes them), so what reads an MIT KDC's log reads ours:
 *
 *   AS_REQ (4 etypes {aes256-cts-hmac-sha1-96(18), ...}) 10.0.0.5: ISSUE: authtime 1796581119,
 *     etypes {rep=aes256-cts-hmac-sha1-96(18), tkt=..., ses=...}, alice@REALM for krbtgt/REALM@REALM
 *   AS_REQ (...) 10.0.0.5: NEEDED_PREAUTH: alice@REALM for krbtgt/REALM@REALM, Additional pre-authentication required
 *   TGS_REQ (...) 10.0.0.5: ISSUE: authtime 1796581119, etypes {...}, alice@REALM for host/x@REALM
 *   TGS_REQ (...) 10.0.0.5: LOOKING_UP_SERVER: authtime 0, etypes {rep=UNSUPPORTED:(0)} alice@REALM
 *     for host/nosuch@REALM, Server not found in Kerberos database
 *   DISPATCH: repeated (retransmitted?) request from 10.0.0.5, resending previous response
 *
 * (each on one line). The TGS error form keeps MIT's "etypes {rep=UNSUPPORTED:(0)}" so a
 * parser of MIT's lines needs no second case. Only names, etype numbers, the authtime and
 * the address are written: never a key, password, ticket or authenticator. Names are the
 * client's own bytes, so control characters are escaped and each name is bounded.
 */
import { krbErrorName } from "../messages/index.js";

/** What the exchange learnt about one request (plain data: it crosses thread boundaries). */
export interface RequestFacts {
  /** The etypes the client asked for, in its order. */
  etypes: readonly number[];
  /** "alice@REALM": the AS-REQ's cname, or the TGT's client once the TGS-REQ authenticated. */
  client?: string;
  service?: string;
  /** The ticket issued: authtime (Unix seconds), reply, ticket and session key etypes. */
  issued?: { authtime: number; rep: number; tkt: number; ses: number };
  /** The KRB-ERROR's e-text, for codes MIT has no message of its own for here. */
  text?: string;
}

/** The part of a KDC answer the line is made of (KdcResult, kdc-state.ts). */
export interface LoggedResult {
  request: "AS-REQ" | "TGS-REQ" | "other";
  errorCode?: number;
  drop?: string;
  facts?: RequestFacts;
  /** Answered from the lookaside cache. */
  retransmit?: boolean;
}

export type RequestLogLevel = "error" | "warning" | "notice" | "info" | "debug";

/** MIT's names (krb5_enctype_to_name); its prefix for the deprecated ones. */
const ETYPE_NAMES: Record<number, string> = {
  16: "DEPRECATED:des3-cbc-sha1",
  17: "aes128-cts-hmac-sha1-96",
  18: "aes256-cts-hmac-sha1-96",
  19: "aes128-cts-hmac-sha256-128",
  20: "aes256-cts-hmac-sha384-192",
  23: "DEPRECATED:arcfour-hmac",
  24: "DEPRECATED:arcfour-hmac-exp",
  25: "camellia128-cts-cmac",
  26: "camellia256-cts-cmac",
};

const etypeText = (n: number) => `${ETYPE_NAMES[n] ?? "UNSUPPORTED:"}(${n})`;

/** MIT bounds the list to a 128-byte buffer; we bound it by count. */
const MAX_ETYPES = 8;

function etypesText(etypes: readonly number[]): string {
  const shown = etypes.slice(0, MAX_ETYPES).map(etypeText).join(", ");
  const more = etypes.length > MAX_ETYPES ? ", ..." : "";
  return `${etypes.length} etype${etypes.length === 1 ? "" : "s"} {${shown}${more}}`;
}

/** MIT's status words where they differ from the RFC 4120 name without its prefix. */
const AS_STATUS: Record<string, string> = {
  KDC_ERR_PREAUTH_REQUIRED: "NEEDED_PREAUTH",
  KDC_ERR_C_PRINCIPAL_UNKNOWN: "CLIENT_NOT_FOUND",
  KDC_ERR_S_PRINCIPAL_UNKNOWN: "SERVER_NOT_FOUND",
};
const TGS_STATUS: Record<string, string> = {
  KDC_ERR_S_PRINCIPAL_UNKNOWN: "LOOKING_UP_SERVER",
  KDC_ERR_C_PRINCIPAL_UNKNOWN: "LOOKING_UP_CLIENT",
};

/** MIT's messages (krb5_get_error_message) for the codes this KDC sends. */
const MIT_TEXT: Record<string, string> = {
  KDC_ERR_PREAUTH_REQUIRED: "Additional pre-authentication required",
  KDC_ERR_PREAUTH_FAILED: "Preauthentication failed",
  KDC_ERR_C_PRINCIPAL_UNKNOWN: "Client not found in Kerberos database",
  KDC_ERR_S_PRINCIPAL_UNKNOWN: "Server not found in Kerberos database",
  KDC_ERR_CLIENT_REVOKED: "Client's credentials have been revoked",
  KDC_ERR_TGT_REVOKED: "TGT has been revoked",
  KDC_ERR_ETYPE_NOSUPP: "KDC has no support for encryption type",
  KDC_ERR_BADOPTION: "KDC can't fulfill requested option",
  KDC_ERR_WRONG_REALM: "Wrong realm",
  KRB_AP_ERR_SKEW: "Clock skew too great",
  KRB_AP_ERR_REPEAT: "Request is a replay",
  KRB_AP_ERR_MODIFIED: "Message stream modified",
  KRB_AP_ERR_BAD_INTEGRITY: "Decrypt integrity check failed",
  KRB_AP_ERR_TKT_EXPIRED: "Ticket expired",
  KRB_AP_ERR_MSG_TYPE: "Invalid message type",
  KRB_ERR_RESPONSE_TOO_BIG: "Response too big for UDP, retry with TCP",
};

/** Refusals an operator should see above info (a wrong password is routine: notice). */
function levelOf(name: string): RequestLogLevel {
  if (name === "KDC_ERR_PREAUTH_REQUIRED" || name === "KRB_ERR_RESPONSE_TOO_BIG") return "info";
  if (name === "KRB_AP_ERR_REPEAT" || name === "KRB_AP_ERR_MODIFIED") return "warning";
  if (name === "KRB_ERR_GENERIC") return "warning";
  return "notice";
}

/** A name from the wire: control characters as \xNN, at most 128 characters (MIT's limit_string). */
function safe(text: string | undefined, unknown: string): string {
  if (text === undefined) return unknown;
  const clean = text.replace(/[\x00-\x1f\x7f-\x9f]/g, (c) => {
    return `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`;
  });
  return clean.length > 128 ? `${clean.slice(0, 125)}...` : clean;
}

/** The address as MIT prints it (an IPv4-mapped IPv6 source as plain IPv4). */
const fromText = (address: string) =>
  address === "" ? "<unknown>" : address.replace(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/, "$1");

/**
 * The line for one answered request, and its level; null for what MIT does not log per
 * request (bytes that were not a Kerberos request).
 */
export function requestLogLine(
  r: LoggedResult,
  address: string,
): { line: string; level: RequestLogLevel } | null {
  const from = fromText(address);
  if (r.retransmit)
    return {
      line: `DISPATCH: repeated (retransmitted?) request from ${from}, resending previous response`,
      level: "info",
    };
  if (r.request === "other") {
    if (r.drop)
      return { line: `DISPATCH: dropped a message from ${from}: ${r.drop}`, level: "debug" };
    const name = r.errorCode === undefined ? "" : krbErrorName(r.errorCode);
    return { line: `DISPATCH: ${from}: ${name}, ${MIT_TEXT[name] ?? name}`, level: "notice" };
  }
  const f = r.facts ?? { etypes: [] };
  const kind = r.request === "AS-REQ" ? "AS_REQ" : "TGS_REQ";
  const head = `${kind} (${etypesText(f.etypes)}) ${from}`;
  const who = `${safe(f.client, "<unknown client>")} for ${safe(f.service, "<unknown server>")}`;
  if (r.errorCode === undefined && f.issued) {
    const i = f.issued;
    const reps = `etypes {rep=${etypeText(i.rep)}, tkt=${etypeText(i.tkt)}, ses=${etypeText(i.ses)}}`;
    return { line: `${head}: ISSUE: authtime ${i.authtime}, ${reps}, ${who}`, level: "info" };
  }
  if (r.errorCode === undefined)
    return { line: `${head}: DROPPED: ${who}, ${r.drop ?? "no answer"}`, level: "notice" };
  const name = krbErrorName(r.errorCode);
  const short = name.replace(/^(KDC_ERR|KRB_AP_ERR|KRB_ERR)_/, "");
  const status = (r.request === "AS-REQ" ? AS_STATUS : TGS_STATUS)[name] ?? short;
  const text = MIT_TEXT[name] ?? safe(f.text, name);
  const line =
    r.request === "AS-REQ"
      ? `${head}: ${status}: ${who}, ${text}`
      : `${head}: ${status}: authtime 0, etypes {rep=UNSUPPORTED:(0)} ${who}, ${text}`;
  return { line, level: levelOf(name) };
}
