/**
 * The SASL GSSAPI mechanism (RFC 4752) with the Kerberos V5 GSS mechanism, client side, as
 * adcli and Windows bind to AD's LDAP: mutual authentication, then a security layer with
 * integrity and confidentiality (AD refuses writes of secrets, and Samba any bind, without).
 *
 *   1. C -> S  bind(GSSAPI, InitialContextToken(AP-REQ: mutual-required, 0x8003 checksum
 *              flags mutual|replay|sequence|conf|integ, a subkey and a sequence number))
 *   2. S -> C  saslBindInProgress, AP-REP token: verified against our authenticator; its
 *              subkey (when present) becomes the context key, its seq-number the peer's
 *   3. C -> S  bind(GSSAPI, empty)
 *   4. S -> C  saslBindInProgress, Wrap(4 bytes: offered layers | max buffer, 24-bit BE)
 *   5. C -> S  bind(GSSAPI, Wrap(4 bytes: layer 4 = confidentiality | our max buffer))
 *   6. S -> C  success: from now on every LDAP message travels as a SASL buffer,
 *              4-byte big-endian length | sealed Wrap token (conn.ts)
 */
import { buildApReq, verifyApRep } from "../kerberos/client/ap-req.js";
import type { Credential } from "../kerberos/files/ccache.js";
import {
  type GssWrapError,
  unwrapToken,
  type WrapContext,
  wrapToken,
} from "../kerberos/gss/wrap.js";
import { decodeTicket } from "../kerberos/messages/index.js";
import {
  GSS_FLAGS_MUTUAL,
  gssChecksum,
  TOK_ID,
  unwrapGssToken,
  wrapGssToken,
} from "../dc/api/gss-krb5.js";
import { LdapError } from "./errors.js";

/** RFC 4752 §3.3 security layers. */
export const SASL_LAYER = { none: 1, integrity: 2, confidentiality: 4 } as const;
/** GSS_C_REPLAY_FLAG | GSS_C_SEQUENCE_FLAG on top of mutual, conf and integ. */
const GSS_FLAGS = GSS_FLAGS_MUTUAL | 4 | 8;
/** Our receive limit for one SASL buffer (the server's own is usually 16 MiB - 1). */
export const OUR_MAX_BUFFER = 0xffffff;

export interface SealedSession {
  /** Seals one LDAP message into a SASL buffer's token (without the length prefix). */
  seal(plain: Uint8Array): Buffer;
  /** Opens one SASL buffer's token; throws LdapError when it is not sealed or does not verify. */
  open(token: Uint8Array): Buffer;
  /** The server's receive limit for one of our buffers. */
  peerMaxBuffer: number;
}

export interface GssapiClient {
  /** Step 1: the first bind's credentials. */
  initial(): Buffer;
  /** Steps 2..5: the next bind's credentials for the server's saslBindInProgress token. */
  next(serverToken: Buffer): Buffer;
  /** After step 6: the sealing session. */
  session(): SealedSession;
}

export function createGssapiClient(o: {
  ticket: Credential;
  nowMs: number;
  randomBytes(n: number): Uint8Array;
}): GssapiClient {
  const sessionKey = { keytype: o.ticket.key.keytype, keyvalue: o.ticket.key.keyvalue };
  const ap = buildApReq({
    ticket: decodeTicket(o.ticket.ticket),
    sessionKey,
    client: o.ticket.client,
    nowMs: o.nowMs,
    randomBytes: o.randomBytes,
    mutualRequired: true,
    cksum: gssChecksum(GSS_FLAGS),
  });
  let ctx: WrapContext | undefined;
  let sendSeq = BigInt(ap.seqNumber ?? 0);
  let step: "apRep" | "layers" | "done" = "apRep";
  let peerMaxBuffer = 0;

  const fail = (why: string) => new LdapError(49, `LDAP SASL GSSAPI bind: ${why}`);

  return {
    initial: () => wrapGssToken(TOK_ID.apReq, ap.bytes) as Buffer,
    next(serverToken) {
      if (step === "apRep") {
        const t = unwrapGssToken(serverToken);
        if (typeof t === "string") throw fail(t);
        if (t.tokId !== TOK_ID.apRep) throw fail(`expected an AP-REP token, got TOK_ID ${t.tokId}`);
        let part: ReturnType<typeof verifyApRep>;
        try {
          part = verifyApRep(t.message, sessionKey, ap.authenticator);
        } catch (e) {
          throw fail((e as Error).message);
        }
        const key = part.subkey ?? ap.subkey ?? sessionKey;
        ctx = {
          etype: key.keytype,
          key: key.keyvalue,
          initiator: true,
          acceptorSubkey: part.subkey !== undefined,
          randomBytes: o.randomBytes,
        };
        step = "layers";
        return Buffer.alloc(0);
      }
      if (step === "layers" && ctx) {
        let offer: Buffer;
        try {
          offer = unwrapToken(ctx, serverToken).data;
        } catch (e) {
          throw fail(`security layer token: ${(e as GssWrapError).message}`);
        }
        if (offer.length !== 4) throw fail(`security layer token of ${offer.length} bytes, not 4`);
        if ((offer[0]! & SASL_LAYER.confidentiality) === 0)
          throw fail(`the server offers no confidentiality layer (mask ${offer[0]})`);
        peerMaxBuffer = offer.readUIntBE(1, 3);
        const answer = Buffer.from([
          SASL_LAYER.confidentiality,
          (OUR_MAX_BUFFER >> 16) & 0xff,
          (OUR_MAX_BUFFER >> 8) & 0xff,
          OUR_MAX_BUFFER & 0xff,
        ]);
        step = "done";
        return wrapToken(ctx, answer, sendSeq++, false);
      }
      throw fail("the server asked for more steps than GSSAPI has");
    },
    session() {
      const c = ctx;
      if (step !== "done" || !c) throw fail("the security layer was not negotiated");
      return {
        peerMaxBuffer,
        seal: (plain) => wrapToken(c, plain, sendSeq++, true),
        open(token) {
          let r: ReturnType<typeof unwrapToken>;
          try {
            r = unwrapToken(c, token);
          } catch (e) {
            throw new LdapError(2, `LDAP sealed message: ${(e as Error).message}`);
          }
          if (!r.sealed) throw new LdapError(2, "LDAP message from the server is not sealed");
          return r.data;
        },
      };
    },
  };
}
