/**
 * Name rules of the directory, as Windows applies them.
 * - Computer names are NetBIOS names that are also DNS labels: 1-15 characters of letters,
 *   digits and '-', not starting or ending with '-', not all digits. The account name
 *   (sAMAccountName) is the upper-case name followed by '$'.
 * - Group names (sAMAccountName of a group): 1-64 characters, none of " / \ [ ] : ; | = , +
 *   * ? < > @, not ending with '.', not only blanks and dots.
 * - The domain: a DNS name of at least two labels; the NetBIOS domain name 1-15 characters.
 * Names compare without regard to case (SQLite NOCASE), as AD's do.
 */
import { DirectoryError } from "./errors.js";

const LABEL = /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;

export function computerName(input: string): { name: string; sam: string } {
  const bare = input.endsWith("$") ? input.slice(0, -1) : input;
  if (bare.length < 1 || bare.length > 15 || !LABEL.test(bare) || /^\d+$/.test(bare)) {
    throw new DirectoryError(
      "dc.invalid-name",
      `computer name '${input}': use 1-15 letters, digits or '-' (not all digits, no '-' at either end)`,
    );
  }
  return { name: bare.toLowerCase(), sam: `${bare.toUpperCase()}$` };
}

const GROUP_FORBIDDEN = /["/\\[\]:;|=,+*?<>@\u0000-\u001f]/;

export function groupName(input: string): string {
  if (
    input.length < 1 ||
    input.length > 64 ||
    GROUP_FORBIDDEN.test(input) ||
    input.endsWith(".") ||
    /^[ .]+$/.test(input) ||
    input.endsWith("$")
  ) {
    throw new DirectoryError(
      "dc.invalid-name",
      `group name '${input}': use 1-64 characters without " / \\ [ ] : ; | = , + * ? < > @, not ending in '.' or '$'`,
    );
  }
  return input;
}

export function dnsDomainName(input: string): string {
  const name = input.toLowerCase().replace(/\.$/, "");
  const labels = name.split(".");
  if (name.length > 253 || labels.length < 2 || !labels.every((l) => LABEL.test(l))) {
    throw new DirectoryError(
      "dc.invalid-name",
      `domain name '${input}': expected a DNS name of two or more labels, e.g. bigfirm.com`,
    );
  }
  if (/^\d+$/.test(labels[labels.length - 1] as string)) {
    throw new DirectoryError(
      "dc.invalid-name",
      `domain name '${input}': the last label is numeric`,
    );
  }
  return name;
}

export function netbiosDomainName(input: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9-]{0,14}$/.test(input)) {
    throw new DirectoryError(
      "dc.invalid-name",
      `NetBIOS domain name '${input}': use 1-15 letters, digits or '-'`,
    );
  }
  return input.toUpperCase();
}

/** The default NetBIOS name of a domain: its first label, upper case, cut to 15. */
export function defaultNetbios(dnsName: string): string {
  return netbiosDomainName((dnsName.split(".")[0] as string).slice(0, 15));
}
