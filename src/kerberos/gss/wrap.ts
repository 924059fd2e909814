/**
 * GSS-API per-message protection for the Kerberos V5 mechanism: Wrap tokens (RFC 4121
 * §4.2.6.2), as SASL GSSAPI (RFC 4752) security layers, AD's LDAP sealing among them, use.
 *
 *   0..1 TOK_ID 05 04 | 2 Flags | 3 Filler FF | 4..5 EC | 6..7 RRC | 8..15 SND_SEQ | 16.. Data
 *   Flags: 0x01 SentByAcceptor, 0x02 Sealed, 0x04 AcceptorSubkey
 *
 *   sealed:   Data = E(key, seal usage, plaintext | EC filler bytes | header with RRC = 0)
 *   unsealed: Data = plaintext | checksum(key, sign usage, plaintext | header with EC = RRC = 0)
 *             and the outer EC is the checksum's length
 *   then Data is rotated right by RRC bytes (Windows sends RRC != 0; we send 0 and undo any).
 *
 * The key is the acceptor's subkey when the AP-REP carried one (flag AcceptorSubkey), else
 * the initiator's subkey, else the ticket's session key (§2). Key usages (§2, §4.2.4):
 * Wrap tokens use the SEAL usages, acceptor 22 and initiator 24, sealed or not (the SIGN
 * usages 23 and 25 are for MIC tokens, which SASL does not use).
 * Pure: keys, sequence numbers and randomness come from the caller.
 */
import { getEnctype } from "../crypto/index.js";

export const WRAP_TOK_ID = 0x0504;
export const WRAP_FLAGS = { sentByAcceptor: 0x01, sealed: 0x02, acceptorSubkey: 0x04 } as const;
export const KG_USAGE = {
  acceptorSeal: 22,
  acceptorSign: 23,
  initiatorSeal: 24,
  initiatorSign: 25,
} as const;
const HEADER_LEN = 16;

export class GssWrapError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "GssWrapError";
  }
}

export interface WrapContext {
  etype: number;
  key: Uint8Array;
  /** True on the initiator (the client): our tokens are not SentByAcceptor. */
  initiator: boolean;
  /** The key is the acceptor's subkey (sets the AcceptorSubkey flag both ways). */
  acceptorSubkey: boolean;
  randomBytes(n: number): Uint8Array;
}

export interface Unwrapped {
  data: Buffer;
  sealed: boolean;
  seq: bigint;
}

function header(flags: number, ec: number, rrc: number, seq: bigint): Buffer {
  const h = Buffer.alloc(HEADER_LEN);
  h.writeUInt16BE(WRAP_TOK_ID, 0);
  h[2] = flags;
  h[3] = 0xff;
  h.writeUInt16BE(ec, 4);
  h.writeUInt16BE(rrc, 6);
  h.writeBigUInt64BE(seq, 8);
  return h;
}

/** Rotates `b` right by `n` bytes (n modulo the length). */
function rotateRight(b: Buffer, n: number): Buffer {
  if (b.length === 0) return b;
  const k = n % b.length;
  return k === 0 ? b : Buffer.concat([b.subarray(b.length - k), b.subarray(0, b.length - k)]);
}

/** A Wrap token for `plaintext`, sealed (confidentiality) or only checksummed. */
export function wrapToken(
  ctx: WrapContext,
  plaintext: Uint8Array,
  seq: bigint,
  sealed: boolean,
  rrc = 0,
): Buffer {
  const enc = getEnctype(ctx.etype, { randomBytes: ctx.randomBytes });
  const flags =
    (ctx.initiator ? 0 : WRAP_FLAGS.sentByAcceptor) |
    (sealed ? WRAP_FLAGS.sealed : 0) |
    (ctx.acceptorSubkey ? WRAP_FLAGS.acceptorSubkey : 0);
  const usage = ctx.initiator ? KG_USAGE.initiatorSeal : KG_USAGE.acceptorSeal;
  let data: Buffer;
  let ec: number;
  if (sealed) {
    ec = 0; // AES is a stream-like CTS mode: no padding needed
    const inner = Buffer.concat([plaintext, header(flags, ec, 0, seq)]);
    data = Buffer.from(enc.encrypt(ctx.key, usage, inner));
  } else {
    ec = enc.checksumLength;
    const mic = enc.checksum(ctx.key, usage, Buffer.concat([plaintext, header(flags, 0, 0, seq)]));
    data = Buffer.concat([plaintext, mic]);
  }
  return Buffer.concat([header(flags, ec, rrc, seq), rotateRight(data, rrc)]);
}

/** Opens a peer's Wrap token; throws GssWrapError naming what does not hold. */
export function unwrapToken(ctx: WrapContext, token: Uint8Array): Unwrapped {
  const t = Buffer.from(token);
  if (t.length < HEADER_LEN) throw new GssWrapError(`wrap token of ${t.length} bytes < 16`);
  if (t.readUInt16BE(0) !== WRAP_TOK_ID)
    throw new GssWrapError(`not a wrap token (TOK_ID ${t.readUInt16BE(0).toString(16)})`);
  const flags = t[2]!;
  if (t[3] !== 0xff) throw new GssWrapError("wrap token filler is not FF");
  const fromAcceptor = (flags & WRAP_FLAGS.sentByAcceptor) !== 0;
  if (fromAcceptor === !ctx.initiator)
    throw new GssWrapError("wrap token has our own direction (reflected?)");
  if (((flags & WRAP_FLAGS.acceptorSubkey) !== 0) !== ctx.acceptorSubkey)
    throw new GssWrapError("wrap token's AcceptorSubkey flag does not match the context");
  const ec = t.readUInt16BE(4);
  const rrc = t.readUInt16BE(6);
  const seq = t.readBigUInt64BE(8);
  const body = t.subarray(HEADER_LEN);
  const data = body.length ? rotateRight(body, body.length - (rrc % body.length)) : body;
  const enc = getEnctype(ctx.etype);
  const sealed = (flags & WRAP_FLAGS.sealed) !== 0;
  const usage = ctx.initiator ? KG_USAGE.acceptorSeal : KG_USAGE.initiatorSeal;
  if (sealed) {
    let inner: Uint8Array;
    try {
      inner = enc.decrypt(ctx.key, usage, data);
    } catch (e) {
      throw new GssWrapError(`sealed wrap token does not decrypt: ${(e as Error).message}`);
    }
    if (inner.length < HEADER_LEN + ec) throw new GssWrapError("sealed wrap token too short");
    const inHeader = Buffer.from(inner.subarray(inner.length - HEADER_LEN));
    const expected = header(flags, ec, 0, seq);
    if (!inHeader.equals(expected))
      throw new GssWrapError("sealed wrap token's inner header differs from its outer header");
    return {
      data: Buffer.from(inner.subarray(0, inner.length - HEADER_LEN - ec)),
      sealed,
      seq,
    };
  }
  if (ec !== enc.checksumLength || data.length < ec)
    throw new GssWrapError(`wrap token EC ${ec} is not the checksum length`);
  const plain = data.subarray(0, data.length - ec);
  const mic = data.subarray(data.length - ec);
  if (!enc.verifyChecksum(ctx.key, usage, Buffer.concat([plain, header(flags, 0, 0, seq)]), mic))
    throw new GssWrapError("wrap token checksum does not verify");
  return { data: Buffer.from(plain), sealed, seq };
}
