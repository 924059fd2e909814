/**
 * Test helpers to open and re-seal a Ticket with the test-only DER walker: decrypt the
 * EncTicketPart, find the PAC (AD-IF-RELEVANT -> AD-WIN2K-PAC), swap it, encrypt again.
 */
import { getEnctype, KeyUsage } from "../../src/kerberos/crypto/index.js";
import { hex } from "./load-vectors.js";
import { ctx, type Der, derInt, encodeDer, parseDer } from "./mini-der.js";

/** AuthorizationData { { ad-type 128 (AD-WIN2K-PAC), ad-data 0x00 } } (MS-PAC 2.8.2). */
const PLACEHOLDER_AD = hex("300d300ba00402020080a103040100");

export interface OpenTicket {
  ticket: Der;
  etype: number;
  encTicketPart: Der;
  pac: Uint8Array;
  /** The EncTicketPart DER with the PAC's ad-data replaced by one zero byte. */
  placeholder(): Uint8Array;
  /** The Ticket DER encrypted again under `key` of `etype` (default: the same), with `pac`. */
  reseal(opts: { key: Uint8Array; etype?: number; pac?: Uint8Array }): Uint8Array;
}

export function ticketEtype(ticketDer: Uint8Array): number {
  const encPart = ctx(parseDer(ticketDer).children![0]!, 3)!.children![0]!;
  return derInt(ctx(encPart, 0)!.children![0]!);
}

export function openTicket(ticketDer: Uint8Array, key: Uint8Array): OpenTicket {
  const ticket = parseDer(ticketDer);
  const encPart = ctx(ticket.children![0]!, 3)!.children![0]!;
  const etype = derInt(ctx(encPart, 0)!.children![0]!);
  const cipherNode = ctx(encPart, 2)!.children![0]!;
  const etypeNode = ctx(encPart, 0)!.children![0]!;
  const e = getEnctype(etype);
  const encTicketPart = parseDer(e.decrypt(key, KeyUsage.KDC_REP_TICKET, cipherNode.value));
  const ad = ctx(encTicketPart.children![0]!, 10)!.children![0]!;
  const ifRelevant = ad.children!.find((x) => derInt(ctx(x, 0)!.children![0]!) === 1)!;
  const outerOctets = ctx(ifRelevant, 1)!.children![0]!;
  const inner = parseDer(outerOctets.value);
  const pacAd = inner.children!.find((x) => derInt(ctx(x, 0)!.children![0]!) === 128)!;
  const pacOctets = ctx(pacAd, 1)!.children![0]!;
  const withOuter = (value: Uint8Array) => {
    const saved = outerOctets.value;
    outerOctets.value = value;
    const out = encodeDer(encTicketPart);
    outerOctets.value = saved;
    return out;
  };
  return {
    ticket,
    etype,
    encTicketPart,
    pac: Uint8Array.from(pacOctets.value),
    placeholder: () => withOuter(PLACEHOLDER_AD),
    reseal(opts) {
      if (opts.pac) pacOctets.value = opts.pac;
      const plain = withOuter(encodeDer(inner));
      const target = opts.etype ?? etype;
      etypeNode.value = Uint8Array.of(target); // enctype numbers below 128: one octet
      cipherNode.value = getEnctype(target).encrypt(opts.key, KeyUsage.KDC_REP_TICKET, plain);
      return encodeDer(ticket);
    },
  };
}
