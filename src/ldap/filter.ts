/**
 * LDAP search filters: the RFC 4515 string form parsed to the RFC 4511 §4.5.1 BER form.
 *
 *   filter     = "(" filtercomp ")"
 *   filtercomp = "&" filter+ / "|" filter+ / "!" filter / item
 *   item       = attr "=*" (present) / attr ("=" / "~=" / ">=" / "<=") value
 *              / attr "=" [initial] "*" *(any "*") [final]   (substrings)
 *              / [attr] [":dn"] [":" rule] ":=" value        (extensible)
 *   value bytes other than ( ) * \ NUL are literal; "\XX" is the byte 0xXX.
 *
 *   Filter ::= CHOICE { and [0] SET OF Filter, or [1] SET OF Filter, not [2] Filter,
 *     equalityMatch [3] AVA, substrings [4] SubstringFilter, greaterOrEqual [5] AVA,
 *     lessOrEqual [6] AVA, present [7] AttributeDescription, approxMatch [8] AVA,
 *     extensibleMatch [9] MatchingRuleAssertion }
 */
import { berBoolean, berOctets, berSequence, tlv } from "./ber.js";
import { LdapError } from "./errors.js";

const T = {
  and: 0xa0,
  or: 0xa1,
  not: 0xa2,
  equal: 0xa3,
  substrings: 0xa4,
  greaterOrEqual: 0xa5,
  lessOrEqual: 0xa6,
  present: 0x87,
  approx: 0xa8,
  extensible: 0xa9,
} as const;

function bad(text: string, at: number, why: string): LdapError {
  return new LdapError(87, `LDAP filter ${JSON.stringify(text)}: ${why} at offset ${at}`);
}

/** RFC 4515 §3 escaping of an assertion value: ( ) * \ NUL (and non-ASCII bytes) as \XX. */
export function escapeFilterValue(v: string | Uint8Array): string {
  const bytes = typeof v === "string" ? Buffer.from(v, "utf8") : Buffer.from(v);
  let out = "";
  for (const b of bytes) {
    if (b === 0x28 || b === 0x29 || b === 0x2a || b === 0x5c || b === 0 || b >= 0x80)
      out += `\\${b.toString(16).padStart(2, "0")}`;
    else out += String.fromCharCode(b);
  }
  return out;
}

/** Decodes a filter value's \XX escapes to bytes; a bare * ( ) or a bad escape is an error. */
function filterValue(text: string, start: number, end: number): Buffer {
  const out: number[] = [];
  for (let i = start; i < end; i++) {
    const c = text[i]!;
    if (c === "\\") {
      const hex = text.slice(i + 1, i + 3);
      if (!/^[0-9a-fA-F]{2}$/.test(hex)) throw bad(text, i, "bad escape (\\XX expected)");
      out.push(Number.parseInt(hex, 16));
      i += 2;
    } else if (c === "(" || c === ")" || c === "*") {
      throw bad(text, i, `unescaped '${c}' in a value`);
    } else {
      for (const b of Buffer.from(c, "utf8")) out.push(b);
    }
  }
  return Buffer.from(out);
}

const ATTR = /^[A-Za-z0-9][A-Za-z0-9.;-]*$/;

function attr(text: string, s: string, at: number): Buffer {
  if (!ATTR.test(s)) throw bad(text, at, `bad attribute description ${JSON.stringify(s)}`);
  return Buffer.from(s, "utf8");
}

/** The item between "(" and ")": text.slice(start, end). */
function item(text: string, start: number, end: number): Buffer {
  const body = text.slice(start, end);
  const eq = body.indexOf("=");
  if (eq <= 0) throw bad(text, start, "no '=' in the item");
  const op = body[eq - 1];
  const valueStart = start + eq + 1;
  if (op === ":") return extensible(text, start, start + eq - 1, valueStart, end);
  if (op === "~" || op === ">" || op === "<") {
    const a = attr(text, body.slice(0, eq - 1), start);
    const tag = op === "~" ? T.approx : op === ">" ? T.greaterOrEqual : T.lessOrEqual;
    return berSequence([berOctets(a), berOctets(filterValue(text, valueStart, end))], tag);
  }
  const a = attr(text, body.slice(0, eq), start);
  const raw = text.slice(valueStart, end);
  if (raw === "*") return tlv(T.present, a);
  if (!raw.includes("*"))
    return berSequence([berOctets(a), berOctets(filterValue(text, valueStart, end))], T.equal);
  const parts: Buffer[] = [];
  let from = valueStart;
  const stars: number[] = [];
  for (let i = valueStart; i < end; i++) if (text[i] === "*") stars.push(i);
  stars.forEach((star, k) => {
    if (star > from) {
      const tag = k === 0 ? 0x80 : 0x81; // initial before the first *, any between
      parts.push(berOctets(filterValue(text, from, star), tag));
    } else if (k > 0) {
      throw bad(text, star, "empty substring between '*'");
    }
    from = star + 1;
  });
  if (from < end) parts.push(berOctets(filterValue(text, from, end), 0x82));
  return berSequence([berOctets(a), berSequence(parts)], T.substrings);
}

/** [attr] [":dn"] [":" rule] ":=" value (RFC 4515 §3, extensible match). */
function extensible(text: string, start: number, colonEq: number, vStart: number, end: number) {
  const parts = text.slice(start, colonEq).split(":");
  const type = parts[0] ?? "";
  let dn = false;
  let rule: string | undefined;
  for (const p of parts.slice(1)) {
    if (p.toLowerCase() === "dn") dn = true;
    else if (p && rule === undefined) rule = p;
    else throw bad(text, start, "bad extensible match");
  }
  if (!type && !rule) throw bad(text, start, "extensible match needs an attribute or a rule");
  const out: Buffer[] = [];
  if (rule) out.push(berOctets(attr(text, rule, start), 0x81));
  if (type) out.push(berOctets(attr(text, type, start), 0x82));
  out.push(berOctets(filterValue(text, vStart, end), 0x83));
  if (dn) out.push(berBoolean(true, 0x84));
  return berSequence(out, T.extensible);
}

/** Parses the filter starting at `at` ("("); returns its BER and the offset after its ")". */
function parseAt(text: string, at: number, depth: number): { ber: Buffer; end: number } {
  if (depth > 64) throw bad(text, at, "filter nested deeper than 64");
  if (text[at] !== "(") throw bad(text, at, "'(' expected");
  const op = text[at + 1];
  if (op === "&" || op === "|" || op === "!") {
    const subs: Buffer[] = [];
    let p = at + 2;
    while (text[p] === "(") {
      const r = parseAt(text, p, depth + 1);
      subs.push(r.ber);
      p = r.end;
    }
    if (text[p] !== ")") throw bad(text, p, "')' expected");
    if (subs.length === 0) throw bad(text, at, `'${op}' with no filters`);
    if (op === "!") {
      if (subs.length !== 1) throw bad(text, at, "'!' takes exactly one filter");
      return { ber: tlv(T.not, subs[0]!), end: p + 1 };
    }
    return { ber: berSequence(subs, op === "&" ? T.and : T.or), end: p + 1 };
  }
  // an item runs to the first unescaped ")" (values escape their parentheses)
  let p = at + 1;
  while (p < text.length && text[p] !== ")") p += text[p] === "\\" ? 3 : 1;
  if (p >= text.length) throw bad(text, at, "unterminated item");
  return { ber: item(text, at + 1, p), end: p + 1 };
}

/** The BER Filter for an RFC 4515 string; a bare item without parentheses is accepted. */
export function encodeFilter(text: string): Buffer {
  const t = text.trim();
  const full = t.startsWith("(") ? t : `(${t})`;
  const r = parseAt(full, 0, 0);
  if (r.end !== full.length) throw bad(full, r.end, "trailing text after the filter");
  return r.ber;
}
