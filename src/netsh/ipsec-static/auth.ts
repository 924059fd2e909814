/**
 * Authentication methods of a rule or the default rule, from the tags `kerberos=yes|no`,
 * `psk=KEY` and `rootca="<CA> certmap:yes|no excludecaname:yes|no"` (repeatable). The order
 * on the command line is the order of preference, as in 2003. In rootca, `\'` stands for a
 * double quote inside the CA name.
 */
import { UsageError, assertNever } from "../../errors.js";
import type { AuthMethod } from "../../policy/model.js";
import { parseBool } from "../args.js";
import type { Parsed } from "./tags.js";

export const AUTH_TAGS = ["kerberos", "psk", "rootca"] as const;

/** Parses `<CA name> certmap:yes|no excludecaname:yes|no` (flags optional, any order). */
export function parseRootCa(text: string, command: string): AuthMethod {
  let rest = text.trim();
  const flags: Record<string, boolean> = {};
  for (;;) {
    const m = /\s*\b(certmap|excludecaname):(\S*)$/i.exec(rest);
    if (!m) break;
    const key = (m[1] as string).toLowerCase();
    if (key in flags) throw new UsageError(`${command}: rootca: ${key} given twice`);
    flags[key] = parseBool(m[2] as string, `${command}: rootca ${key}`);
    rest = rest.slice(0, m.index).trim();
  }
  if (/\b(certmap|excludecaname):/i.test(rest)) {
    throw new UsageError(`${command}: rootca: certmap:/excludecaname: must follow the CA name`);
  }
  const ca = rest.replace(/\\'/g, '"');
  if (ca === "") throw new UsageError(`${command}: rootca: the CA name is missing`);
  return {
    kind: "rootca",
    ca,
    certmap: flags.certmap ?? false,
    excludeCaName: flags.excludecaname ?? false,
  };
}

/** As netsh writes it back: `<CA> certmap:no excludecaname:no`. */
export function formatRootCa(a: Extract<AuthMethod, { kind: "rootca" }>): string {
  return `${a.ca.replace(/"/g, "\\'")} certmap:${a.certmap ? "yes" : "no"} excludecaname:${a.excludeCaName ? "yes" : "no"}`;
}

/** The auth methods on the line, in order; undefined when no auth tag was given. */
export function parseAuth(p: Parsed): AuthMethod[] | undefined {
  const given = p.order.filter(([t]) => (AUTH_TAGS as readonly string[]).includes(t));
  if (given.length === 0) return undefined;
  const out: AuthMethod[] = [];
  for (const [tag, value] of given) {
    if (tag === "kerberos") {
      if (parseBool(value, `${p.command}: kerberos`)) out.push({ kind: "kerberos" });
    } else if (tag === "psk") {
      if (value === "") throw new UsageError(`${p.command}: psk= must not be empty`);
      out.push({ kind: "psk", key: value });
    } else {
      out.push(parseRootCa(value, p.command));
    }
  }
  if (out.length === 0) {
    throw new UsageError(
      `${p.command}: no authentication method left (give kerberos=yes, psk= or rootca=)`,
    );
  }
  return out;
}

/** One line per method, as show prints them. PSKs are shown, as 2003's show does. */
export function describeAuth(a: AuthMethod): string {
  switch (a.kind) {
    case "kerberos":
      return "Kerberos";
    case "psk":
      return `Preshared key: ${a.key}`;
    case "rootca":
      return `Root CA: ${a.ca} (certmap: ${a.certmap ? "yes" : "no"}, excludecaname: ${a.excludeCaName ? "yes" : "no"})`;
    default:
      return assertNever(a, "a kind");
  }
}
