/**
 * Security identifiers as Active Directory writes them (MS-DTYP 2.4.2):
 * `S-1-5-21-<a>-<b>-<c>` names the domain, and an account is the domain SID plus its
 * relative identifier (RID). RIDs below 1000 are the well-known accounts and groups
 * (MS-DTYP 2.4.2.4); the directory hands out the others from 1000 upward and never reuses
 * one, as a domain controller's RID pool does.
 */
import { randomBytes } from "../crypto/primitives.js";

/** Well-known relative identifiers (MS-DTYP 2.4.2.4). */
export const RID = {
  administrator: 500,
  krbtgt: 502,
  domainAdmins: 512,
  domainUsers: 513,
  domainComputers: 515,
  domainControllers: 516,
} as const;

/** The first RID given to an object the administrator creates. */
export const FIRST_ALLOCATED_RID = 1000;

/** A fresh domain SID: S-1-5-21 and three random 32-bit sub-authorities. */
export function newDomainSid(random: (n: number) => Uint8Array = randomBytes): string {
  const b = Buffer.from(random(12));
  return `S-1-5-21-${b.readUInt32LE(0)}-${b.readUInt32LE(4)}-${b.readUInt32LE(8)}`;
}

export function accountSid(domainSid: string, rid: number): string {
  return `${domainSid}-${rid}`;
}

const DOMAIN_SID = /^S-1-5-21-\d{1,10}-\d{1,10}-\d{1,10}$/;

export function isDomainSid(s: string): boolean {
  return DOMAIN_SID.test(s);
}

/** The RID at the end of an account SID of this domain, or null if it is not one. */
export function ridOf(domainSid: string, sid: string): number | null {
  if (!sid.startsWith(`${domainSid}-`)) return null;
  const tail = sid.slice(domainSid.length + 1);
  return /^\d{1,10}$/.test(tail) ? Number(tail) : null;
}
