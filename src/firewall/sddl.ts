/**
 * The "Allow authenticated IPsec bypass" Group Policy value: an SDDL security descriptor
 * (MS-DTYP 2.5.1) whose DACL grants RCGW to each computer or group allowed to bypass:
 *
 *     O:DAG:DAD:(A;;RCGW;;;S-1-5-21-1-2-3-1105)(A;;RCGW;;;S-1-5-21-1-2-3-1106)
 *
 * owner   = "O:" sid        (DA = Domain Admins, as Group Policy writes it)
 * group   = "G:" sid
 * dacl    = "D:" flags? ace*
 * ace     = "(" type ";" flags ";" rights ";" objguid ";" inhguid ";" sid ")"
 *
 * Only what the setting uses is accepted: ACE type A (access allowed), no flags, rights
 * RCGW, SIDs in S-1-... form. Errors name the 1-based character position.
 */
import { FirewallError } from "./errors.js";

const SID_RE = /^S-1-(\d+)((?:-\d+){0,15})$/i;

/** True when `text` is a SID string `S-1-<authority>(-<subauthority>){0,15}`. */
export function isSid(text: string): boolean {
  const m = SID_RE.exec(text);
  if (!m) return false;
  if (BigInt(m[1] as string) >= 1n << 48n) return false;
  const subs = (m[2] as string).split("-").slice(1);
  return subs.every((s) => Number(s) <= 0xffffffff);
}

/** Canonical SID text (upper-case S). Throws bad-sid. */
export function parseSid(text: string): string {
  if (!isSid(text)) {
    throw new FirewallError("bad-sid", `'${text}' is not a SID (expected S-1-5-21-...)`);
  }
  return `S${text.slice(1)}`;
}

function sddlError(pos: number, what: string, sddl: string): never {
  throw new FirewallError("bad-sddl", `sddl: at position ${pos + 1}: ${what} in '${sddl}'`);
}

/** Parses the bypass SDDL; returns the SIDs of its ACEs in order, without duplicates. */
export function parseBypassSddl(sddl: string): string[] {
  const s = sddl.trim();
  let i = 0;
  const sids: string[] = [];
  let sawDacl = false;
  while (i < s.length) {
    const tag = s.slice(i, i + 2).toUpperCase();
    if (tag === "O:" || tag === "G:") {
      i += 2;
      const end = nextTag(s, i);
      const who = s.slice(i, end);
      if (who === "" || !(isSid(who) || /^[A-Z]{2}$/i.test(who))) {
        sddlError(i, `bad ${tag === "O:" ? "owner" : "group"} '${who}'`, s);
      }
      i = end;
    } else if (tag === "D:") {
      sawDacl = true;
      i += 2;
      while (i < s.length && /[A-Z]/i.test(s[i] as string) && s[i + 1] !== ":") i++; // DACL flags (P, AI, AR)
      while (s[i] === "(") {
        const close = s.indexOf(")", i);
        if (close < 0) sddlError(i, "ACE without closing ')'", s);
        const sid = parseAce(s, i + 1, close);
        if (!sids.includes(sid)) sids.push(sid);
        i = close + 1;
      }
      if (i < s.length && s.slice(i, i + 2).toUpperCase() !== "S:") {
        sddlError(i, `unexpected '${s[i]}' (expected '(' starting an ACE)`, s);
      }
    } else if (tag === "S:") {
      sddlError(i, "a SACL is not allowed in the bypass setting", s);
    } else {
      sddlError(i, `unexpected '${s.slice(i, i + 8)}' (expected O:, G: or D:)`, s);
    }
  }
  if (!sawDacl) sddlError(s.length, "missing DACL 'D:'", s);
  return sids;
}

function nextTag(s: string, from: number): number {
  const m = /[OGDS]:/i.exec(s.slice(from));
  // A SID contains no ':' so the next "X:" is the next section.
  return m ? from + m.index : s.length;
}

function parseAce(s: string, start: number, end: number): string {
  const fields = s.slice(start, end).split(";");
  if (fields.length !== 6) sddlError(start, `ACE has ${fields.length} fields, expected 6`, s);
  const [type, flags, rights, , , sid] = fields as [string, string, string, string, string, string];
  let pos = start;
  if (type.toUpperCase() !== "A") sddlError(pos, `ACE type '${type}' (only A, allow)`, s);
  pos += type.length + 1;
  if (flags !== "") sddlError(pos, `ACE flags '${flags}' (expected none)`, s);
  pos += flags.length + 1;
  if (rights.toUpperCase() !== "RCGW") sddlError(pos, `ACE rights '${rights}' (expected RCGW)`, s);
  pos = end - sid.length;
  if (!isSid(sid)) sddlError(pos, `'${sid}' is not a SID`, s);
  return parseSid(sid);
}

/** The SDDL Group Policy writes for these SIDs. */
export function formatBypassSddl(sids: readonly string[]): string {
  return `O:DAG:DAD:${sids.map((sid) => `(A;;RCGW;;;${sid})`).join("")}`;
}
