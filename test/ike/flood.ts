/**
 * IKE_SA_INIT requests as a flooder sends them: a valid offer, KE and nonce, a fresh
 * initiator SPI each, optionally with a COOKIE first (a flooder that answers cookies), and
 * the spoofed source addresses it sends them from (198.18.0.0/15, RFC 2544's benchmark
 * range: in-process only, never on a socket).
 */
import { dhGenerateFast, randomBytes } from "../../src/crypto/primitives.js";
import { ExchangeType, NotifyType } from "../../src/ike/constants.js";
import { decodeMessage, encodeMessage, findNotify, type Payload } from "../../src/ike/message.js";
import { notify } from "../../src/ike/payloads/notify.js";
import { ikeProposals } from "../../src/ike/proposals.js";
import type { MmSecMethod } from "../../src/policy/model.js";

const ZERO = Buffer.alloc(8);

export interface InitTemplate {
  proposals: ReturnType<typeof ikeProposals>;
  ke: Buffer;
}

/** One KE public value shared by every flood packet (a flooder does no DH work). */
export function initTemplate(mm: readonly MmSecMethod[] = [defaultMm]): InitTemplate {
  return { proposals: ikeProposals(mm), ke: dhGenerateFast(31).publicValue };
}

export const defaultMm: MmSecMethod = { conf: "aes128gcm", hash: "sha256", dhGroup: 31 };

export function initRequest(
  t: InitTemplate,
  spiI = randomBytes(8),
  ni = randomBytes(32),
  cookie: Buffer | null = null,
): Buffer {
  const payloads: Payload[] = [
    ...(cookie ? [notify(NotifyType.COOKIE, cookie)] : []),
    { type: "SA", proposals: t.proposals },
    { type: "KE", group: 31, data: t.ke },
    { type: "NONCE", data: ni },
  ];
  return encodeMessage(
    {
      spiI,
      spiR: ZERO,
      majorVersion: 2,
      minorVersion: 0,
      exchangeType: ExchangeType.IKE_SA_INIT,
      initiator: true,
      response: false,
      messageId: 0,
    },
    payloads,
  );
}

/** The COOKIE of a responder's IKE_SA_INIT answer, or null. */
export function cookieOf(reply: Buffer): Buffer | null {
  return findNotify(decodeMessage(reply).payloads, NotifyType.COOKIE)?.data ?? null;
}

/** The i-th spoofed source address, 198.18.0.0/15. */
export function spoofed(i: number): string {
  const n = i % 0x20000;
  return `198.${18 + (n >> 16)}.${(n >> 8) & 0xff}.${n & 0xff}`;
}
