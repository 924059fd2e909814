/**
 * Kerberos principal names (RFC 4120 §6.2) and their text form as MIT writes it
 * (`host/server1.example.com@EXAMPLE.COM`, with `\/`, `\@`, `\\`, `\n`, `\t`, `\b`, `\0`
 * escapes).
 *
 * A `PrincipalName` is the wire type (name-type + components, no realm); a `Principal`
 * adds the realm, as keytabs, caches and `krb5.conf` users think of it.
 */
import { PosternError } from "../errors.js";

/** Name types, RFC 4120 §6.2 (and MS-KILE's NT-ENTERPRISE 10, X-CACHECONF's NT-UNKNOWN). */
export const NAME_TYPE = {
  NT_UNKNOWN: 0,
  NT_PRINCIPAL: 1,
  NT_SRV_INST: 2,
  NT_SRV_HST: 3,
  NT_SRV_XHST: 4,
  NT_UID: 5,
  NT_X500_PRINCIPAL: 6,
  NT_SMTP_NAME: 7,
  NT_ENTERPRISE: 10,
  NT_WELLKNOWN: 11,
} as const;

export interface PrincipalName {
  nameType: number;
  nameString: string[];
}

export interface Principal {
  realm: string;
  name: PrincipalName;
}

export class PrincipalError extends PosternError {
  constructor(message: string) {
    super("principal-syntax", message);
    this.name = "PrincipalError";
  }
}

const ESCAPES: Record<string, string> = { n: "\n", t: "\t", b: "\b", "0": "\0" };
const UNESCAPES: Record<string, string> = { "\n": "\\n", "\t": "\\t", "\b": "\\b", "\0": "\\0" };

/**
 * Parses `a/b@REALM`. Without a realm, `defaultRealm` is used (an error if absent). The
 * name type defaults to NT-PRINCIPAL (MIT's krb5_parse_name does the same).
 */
export function parsePrincipal(
  text: string,
  defaultRealm?: string,
  nameType: number = NAME_TYPE.NT_PRINCIPAL,
): Principal {
  const components: string[] = [];
  let cur = "";
  let realm: string | undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === "\\") {
      const n = text[++i];
      if (n === undefined)
        throw new PrincipalError(`principal ${JSON.stringify(text)}: trailing backslash`);
      cur += ESCAPES[n] ?? n;
    } else if (c === "/" && realm === undefined) {
      components.push(cur);
      cur = "";
    } else if (c === "@" && realm === undefined) {
      components.push(cur);
      cur = "";
      realm = "";
    } else if (c === "@" || c === "/") {
      if (c === "@") throw new PrincipalError(`principal ${JSON.stringify(text)}: more than one @`);
      cur += c;
    } else {
      cur += c;
    }
  }
  if (realm === undefined) components.push(cur);
  else realm = cur;
  if (components.length === 0 || components.some((s) => s === "")) {
    throw new PrincipalError(`principal ${JSON.stringify(text)}: empty name component`);
  }
  const r = realm ?? defaultRealm;
  if (!r)
    throw new PrincipalError(`principal ${JSON.stringify(text)}: no realm and no default realm`);
  return { realm: r, name: { nameType, nameString: components } };
}

function escapeComponent(s: string, specials: string): string {
  let out = "";
  for (const c of s) {
    if (c === "\\" || specials.includes(c)) out += `\\${c}`;
    else out += UNESCAPES[c] ?? c;
  }
  return out;
}

/** `a/b@REALM`, escaping as MIT's krb5_unparse_name does. */
export function formatPrincipal(p: Principal): string {
  return `${formatPrincipalName(p.name)}@${escapeComponent(p.realm, "@")}`;
}

/** The name without realm: `a/b`. */
export function formatPrincipalName(n: PrincipalName): string {
  return n.nameString.map((s) => escapeComponent(s, "/@")).join("/");
}

/** Same realm and components (name types are not compared, as RFC 4120 §6.2 says). */
export function principalEquals(a: Principal, b: Principal): boolean {
  return a.realm === b.realm && principalNameEquals(a.name, b.name);
}

export function principalNameEquals(a: PrincipalName, b: PrincipalName): boolean {
  return (
    a.nameString.length === b.nameString.length &&
    a.nameString.every((s, i) => s === b.nameString[i])
  );
}
