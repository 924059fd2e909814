/**
 * "Why am I refused?": a private notify (RFC 7296 §3.10.1, types 40960-65535 are for
 * private use) a responder sends, inside an established IKE SA, to an initiator it
 * authenticated but does not admit (postern's authenticated bypass said no), so the client
 * learns the reason instead of a timeout. It travels in an INFORMATIONAL request, so only
 * a peer holding the SA's keys can send it (SK integrity) and a replay is a retransmission
 * (the message-ID window answers it from the cache; it is not handled twice).
 *
 *   Notify type  POSTERN_NOT_ADMITTED (40970), protocol 0, no SPI
 *   Data         version (1) | reason code (1) | group name length (2, big endian) | name
 *
 * Reason codes: 1 not in the bypass list (the PAC holds none of its SIDs), 2 authenticated
 * by something other than Kerberos (no groups to check), 3 the ticket had no PAC, 4 the
 * responder has no bypass list, 5 revoked: the directory of now no longer lets the peer in
 * (immediate revocation: removed from the group, disabled, keys reset), sent before the
 * DELETE of an admitted SA and to the next SAs of the stale ticket. The group name (UTF-8, at most 256 bytes) is empty unless
 * the responder's setting allows disclosing it.
 */
import { ExchangeType } from "./constants.js";
import type { EngineContext } from "./context.js";
import { IkeError } from "./errors.js";
import { notify } from "./payloads/notify.js";
import { spiText } from "./state.js";
import type { IkeSa } from "./types.js";

export const POSTERN_NOT_ADMITTED = 40970;
const VERSION = 1;
const MAX_NAME_BYTES = 256;

export const REFUSAL_REASONS = {
  1: "not-in-bypass-list",
  2: "not-kerberos",
  3: "no-pac",
  4: "no-bypass-list",
  5: "revoked",
} as const;
export type RefusalCode = keyof typeof REFUSAL_REASONS;
export type RefusalReason = (typeof REFUSAL_REASONS)[RefusalCode];

export interface RefusalNotice {
  reason: RefusalReason;
  /** The group that would admit the peer, when the responder discloses names; else null. */
  group: string | null;
}

export function encodeRefusal(n: RefusalNotice): Buffer {
  const entry = Object.entries(REFUSAL_REASONS).find(([, r]) => r === n.reason);
  const code = Number(entry?.[0] ?? 1);
  const name = Buffer.from(n.group ?? "", "utf8").subarray(0, MAX_NAME_BYTES);
  const head = Buffer.from([VERSION, code, name.length >> 8, name.length & 255]);
  return Buffer.concat([head, name]);
}

export function decodeRefusal(data: Uint8Array): RefusalNotice {
  const b = Buffer.from(data);
  if (b.length < 4)
    throw new IkeError("malformed", `POSTERN_NOT_ADMITTED: ${b.length} bytes < minimum 4`);
  if (b[0] !== VERSION)
    throw new IkeError("malformed", `POSTERN_NOT_ADMITTED: version ${b[0]}, expected ${VERSION}`);
  const reason = REFUSAL_REASONS[b[1] as RefusalCode];
  if (reason === undefined)
    throw new IkeError("malformed", `POSTERN_NOT_ADMITTED: unknown reason code ${b[1]}`);
  const len = b.readUInt16BE(2);
  if (len > MAX_NAME_BYTES || 4 + len !== b.length)
    throw new IkeError(
      "malformed",
      `POSTERN_NOT_ADMITTED: group name length ${len}, ${b.length - 4} bytes left`,
    );
  return { reason, group: len === 0 ? null : b.subarray(4).toString("utf8") };
}

/** The responder tells its initiator why it is not admitted (one INFORMATIONAL request). */
export function sendRefusal(ctx: EngineContext, sa: IkeSa, n: RefusalNotice): boolean {
  if (sa.initiator || sa.state !== "established") return false;
  ctx.request(
    sa,
    ExchangeType.INFORMATIONAL,
    () => [notify(POSTERN_NOT_ADMITTED, encodeRefusal(n))],
    () => undefined,
  );
  return true;
}

/** An initiator receives the notice (inside an authenticated INFORMATIONAL). */
export function receiveRefusal(ctx: EngineContext, sa: IkeSa, data: Uint8Array): void {
  if (!sa.initiator) {
    ctx.log(sa, "POSTERN_NOT_ADMITTED from our initiator: ignored (only responders send it)");
    return;
  }
  try {
    ctx.deps.onRefusal?.(spiText(sa), decodeRefusal(data));
  } catch (e) {
    ctx.log(sa, `${(e as Error).message}: ignored`);
  }
}
