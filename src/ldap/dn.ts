/**
 * Distinguished names as strings (RFC 4514): escaping an attribute value so it can be put
 * in an RDN, and building a DN from RDN parts. The server parses DNs; we only write them.
 *
 *   escaped: , + " \ < > ; = NUL anywhere; # or space first; space last (§2.4)
 */

/** RFC 4514 §2.4 escaping of one attribute value for a DN string. */
export function escapeDnValue(v: string): string {
  let out = "";
  for (let i = 0; i < v.length; i++) {
    const c = v[i]!;
    if (c === "\0") out += "\\00";
    else if (',+"\\<>;='.includes(c)) out += `\\${c}`;
    else if ((i === 0 && (c === " " || c === "#")) || (i === v.length - 1 && c === " "))
      out += `\\${c}`;
    else out += c;
  }
  return out;
}

/** `CN=<escaped value>,<parent>`: one RDN under a parent DN (already a DN string). */
export function childDn(type: string, value: string, parent: string): string {
  return `${type}=${escapeDnValue(value)},${parent}`;
}

/** `DC=bigfirm,DC=com` for `bigfirm.com`. */
export function domainToDn(domain: string): string {
  return domain
    .replace(/\.$/, "")
    .split(".")
    .map((label) => `DC=${escapeDnValue(label)}`)
    .join(",");
}
