/**
 * HTTP `Negotiate` (RFC 4559) on the DC's API, with the Kerberos V5 mechanism only:
 *
 *   client:  Authorization: Negotiate <base64 GSS token: AP-REQ for host/<dc fqdn>@REALM>
 *   1. unwrap the GSS token (gss-krb5.ts), TOK_ID 01 00;
 *   2. acceptApReq (src/kerberos/acceptor) with an in-memory keytab built per request from
 *      the directory's keys of the DC's own computer account (its SPN host/<fqdn>), only
 *      tickets for that service; replay cache for the authenticators;
 *   3. the client principal names the caller: `NAME$` a computer account (enabled);
 *      `Administrator` or a member of Domain Admins (PAC group SID <domain>-512) an
 *      administrator; any other user is a user (refused by admin endpoints, 403);
 *   4. the authenticator's GSS checksum binds the token to this request on this channel
 *      (channel.ts: Bnd = MD5 of tls-server-end-point of the DC's certificate and a hash of
 *      method, path and body); a token without bindings, or with another request's, is
 *      refused, and the replay cache refuses the same authenticator twice;
 *   5. the answer carries `WWW-Authenticate: Negotiate <GSS token: AP-REP>` (mutual auth).
 * A client that wraps the krb5 token in SPNEGO (RFC 4178 NegTokenInit, as curl/MIT GSS-API
 * do) gets the AP-REP inside a NegTokenResp accept-completed (spnego.ts).
 * A token that does not verify is a reason string (401 with nothing done).
 */
import { randomBytes } from "../../crypto/primitives.js";
import {
  acceptApReq,
  buildApRep,
  createReplayCache,
  type AcceptedContext,
} from "../../kerberos/acceptor/index.js";
import type { Keytab } from "../../kerberos/files/keytab.js";
import { NAME_TYPE, type Principal } from "../../kerberos/principal.js";
import type { Directory } from "../directory.js";
import { createPrincipalDatabase } from "../principals.js";
import { RID } from "../sids.js";
import type { ApiRequest, Authenticator, Caller } from "./auth.js";
import { requestBinding } from "./channel.js";
import { gssBindings, TOK_ID, unwrapGssToken, wrapGssToken } from "./gss-krb5.js";
import { isSpnego, negTokenRespCompleted, readNegTokenInit } from "./spnego.js";

export const NEGOTIATE_SCHEME = "Negotiate";

export interface NegotiateDeps {
  now(): number;
  /** SHA-256 of the DC's TLS certificate: the channel the tokens must be bound to. */
  certFingerprint: Uint8Array;
  randomBytes?(n: number): Uint8Array;
}

/** host/<dc fqdn>@REALM: the service the DC's API accepts tickets for. */
export function dcServicePrincipal(dir: Directory): Principal {
  const d = dir.domain();
  return {
    realm: d.realm,
    name: { nameType: NAME_TYPE.NT_SRV_HST, nameString: ["host", d.dcHostName.toLowerCase()] },
  };
}

/** The DC's service keys from the directory, as a keytab held in memory. */
function dcKeytab(dir: Directory, service: Principal): Keytab {
  const entry = createPrincipalDatabase(dir).lookup(
    service.name.nameString.join("/"),
    service.realm,
  );
  return {
    entries: (entry?.keys ?? []).map((k) => ({
      principal: service,
      timestamp: 0,
      kvno: k.kvno,
      key: { keytype: k.etype, keyvalue: k.key },
    })),
  };
}

function callerOf(dir: Directory, ctx: AcceptedContext): Caller | string {
  const name = ctx.client.name.nameString.join("/");
  if (ctx.client.realm !== dir.domain().realm) return `client ${name} is of another realm`;
  if (name.endsWith("$")) {
    const row = dir
      .stmt(
        "SELECT rid, sam, enabled FROM objects WHERE sam = ? COLLATE NOCASE AND kind = 'computer'",
      )
      .get(name) as { rid: number; sam: string; enabled: number } | undefined;
    if (!row) return `no computer account ${name}`;
    if (row.enabled !== 1) return `account ${row.sam} is disabled`;
    return { kind: "machine", sam: row.sam, rid: row.rid };
  }
  const admins = `${dir.domainSid()}-${RID.domainAdmins}`;
  const groups = ctx.pac?.identity?.groupSids ?? [];
  if (name.toLowerCase() === "administrator" || groups.includes(admins))
    return { kind: "admin", name };
  return { kind: "user", name };
}

/** Null when the authenticator is bound to this request on this channel, else why not. */
function checkBinding(ctx: AcceptedContext, req: ApiRequest, certFingerprint: Uint8Array) {
  const bnd = gssBindings(ctx.authenticator.cksum);
  if (typeof bnd === "string") return bnd;
  if (bnd.every((b) => b === 0))
    return "the Negotiate token carries no channel bindings (it must be bound to the request and the DC's certificate)";
  const want = requestBinding(certFingerprint, req.method, req.path, req.body);
  if (!Buffer.from(bnd).equals(want))
    return "the Negotiate token is bound to another request or another server";
  return null;
}

export function createNegotiateAuthenticator(dir: Directory, deps: NegotiateDeps): Authenticator {
  const replayCache = createReplayCache({ now: deps.now });
  const random = deps.randomBytes ?? randomBytes;
  return {
    scheme: NEGOTIATE_SCHEME,
    authenticate(req) {
      const m = /^Negotiate\s+([A-Za-z0-9+/=]+)\s*$/.exec(req.authorization ?? "");
      if (!m)
        return req.authorization?.startsWith(NEGOTIATE_SCHEME)
          ? "malformed Negotiate header"
          : null;
      let raw: Uint8Array = Buffer.from(m[1] as string, "base64");
      let spnegoMech: string | undefined;
      if (isSpnego(raw)) {
        const init = readNegTokenInit(raw);
        if (typeof init === "string") return init;
        spnegoMech = init.mech;
        raw = init.mechToken;
      }
      const token = unwrapGssToken(raw);
      if (typeof token === "string") return token;
      if (token.tokId !== TOK_ID.apReq) return "the Negotiate token is not an AP-REQ";
      const service = dcServicePrincipal(dir);
      let ctx: AcceptedContext;
      try {
        ctx = acceptApReq(
          { keytab: dcKeytab(dir, service), now: deps.now, replayCache, service },
          token.message,
        );
      } catch (e) {
        return `Kerberos: ${(e as Error).message}`;
      }
      const unbound = checkBinding(ctx, req, deps.certFingerprint);
      if (unbound) return unbound;
      const caller = callerOf(dir, ctx);
      if (typeof caller === "string") return caller;
      const krb = wrapGssToken(TOK_ID.apRep, buildApRep(ctx, { randomBytes: random }));
      const rep = spnegoMech ? negTokenRespCompleted(spnegoMech, krb) : krb;
      return { ...caller, mutual: `${NEGOTIATE_SCHEME} ${Buffer.from(rep).toString("base64")}` };
    },
  };
}
