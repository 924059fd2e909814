/**
 * The expected access matrix a GPO carries (issue 16 item 5): who must, and who must not,
 * reach which service of which server. One row per line of text (docs/policy-test.md):
 *
 *   # WHO        SERVER    SERVICE   MUST
 *   trusted      server1   tcp/80    reach
 *   CLIENT2$     server1   tcp/80    not-reach
 *   198.18.0.40  server1   tcp/80    not-reach
 *
 * WHO: a computer (`NAME$`, or `NAME` when no group has that name), a group (every computer
 * in it, nesting expanded), or an IPv4/IPv6 address (a host that is not a domain member).
 * SERVER: a computer of the domain. SERVICE: `tcp/PORT`, `udp/PORT`, `icmp` or `any`.
 * MUST: `reach` or `not-reach`. Blank lines and `#` comments are ignored.
 *
 * Pure: parsing, checking a stored document, formatting. Storage lives in expect.ts.
 */
import { DirectoryError } from "./errors.js";

export type Must = "reach" | "not-reach";
export type ServiceProtocol = "tcp" | "udp" | "icmp" | "any";

export interface Expectation {
  who: string;
  server: string;
  protocol: ServiceProtocol;
  /** 1-65535 for tcp/udp; 0 for icmp and any. */
  port: number;
  must: Must;
}

/** More rows than any real matrix; bounds what one GPO may make the DC evaluate. */
export const MAX_EXPECTATIONS = 1000;

const NAME = /^[A-Za-z0-9][A-Za-z0-9 ._$-]{0,63}$/;
const ADDRESS = /^[0-9A-Fa-f:.]{2,45}$/;

export function serviceText(e: Pick<Expectation, "protocol" | "port">): string {
  return e.protocol === "tcp" || e.protocol === "udp" ? `${e.protocol}/${e.port}` : e.protocol;
}

function parseService(text: string, where: string): Pick<Expectation, "protocol" | "port"> {
  const t = text.toLowerCase();
  if (t === "icmp" || t === "any") return { protocol: t, port: 0 };
  const m = /^(tcp|udp)\/(\d{1,5})$/.exec(t);
  const port = m ? Number(m[2]) : 0;
  if (!m || port < 1 || port > 65535)
    throw new DirectoryError(
      "dc.policy",
      `${where}: service '${text}' is not tcp/PORT, udp/PORT (1-65535), icmp or any`,
    );
  return { protocol: m[1] as "tcp" | "udp", port };
}

function checkWho(who: string, where: string): string {
  if (!NAME.test(who) && !ADDRESS.test(who))
    throw new DirectoryError(
      "dc.policy",
      `${where}: who '${who}' is not a computer, a group or an address`,
    );
  return who;
}

function checkServer(server: string, where: string): string {
  if (!NAME.test(server) || server.includes(" "))
    throw new DirectoryError("dc.policy", `${where}: server '${server}' is not a computer name`);
  return server;
}

function checkMust(must: string, where: string): Must {
  const m = must.toLowerCase();
  if (m !== "reach" && m !== "not-reach")
    throw new DirectoryError("dc.policy", `${where}: must is '${must}', not reach or not-reach`);
  return m;
}

/** The text format: one row per line. `file` names the source in errors. */
export function parseMatrix(text: string, file: string): Expectation[] {
  const rows: Expectation[] = [];
  for (const [i, raw] of text.split(/\r?\n/).entries()) {
    const line = raw.replace(/#.*/, "").trim();
    if (line === "") continue;
    const where = `${file} line ${i + 1}`;
    const words = line.split(/\s+/);
    if (words.length !== 4)
      throw new DirectoryError(
        "dc.policy",
        `${where}: expected WHO SERVER SERVICE MUST (4 words), got ${words.length}`,
      );
    const [who, server, service, must] = words as [string, string, string, string];
    rows.push({
      who: checkWho(who, where),
      server: checkServer(server, where),
      ...parseService(service, where),
      must: checkMust(must, where),
    });
  }
  return checkRows(rows, file);
}

/** A matrix as JSON (the admin protocol, the database): every row checked. */
export function checkMatrix(doc: unknown, where: string): Expectation[] {
  if (!Array.isArray(doc))
    throw new DirectoryError("dc.policy", `${where}: the matrix must be a list of rows`);
  const rows = doc.map((r: unknown, i): Expectation => {
    const at = `${where} row ${i + 1}`;
    const o = r as Record<string, unknown> | null;
    if (typeof o !== "object" || o === null)
      throw new DirectoryError("dc.policy", `${at}: not an object`);
    const { who, server, protocol, port, must } = o;
    if (typeof who !== "string" || typeof server !== "string" || typeof must !== "string")
      throw new DirectoryError("dc.policy", `${at}: who, server and must are strings`);
    const service =
      protocol === "tcp" || protocol === "udp" ? `${protocol}/${String(port)}` : String(protocol);
    return {
      who: checkWho(who, at),
      server: checkServer(server, at),
      ...parseService(service, at),
      must: checkMust(must, at),
    };
  });
  return checkRows(rows, where);
}

function checkRows(rows: Expectation[], where: string): Expectation[] {
  if (rows.length > MAX_EXPECTATIONS)
    throw new DirectoryError(
      "dc.policy",
      `${where}: ${rows.length} rows, more than ${MAX_EXPECTATIONS}`,
    );
  return rows;
}

/** The text format again, aligned (what `gpo show-expect` prints and `set-expect` reads). */
export function formatMatrix(rows: readonly Expectation[]): string {
  const cells = rows.map((r) => [r.who, r.server, serviceText(r), r.must]);
  const widths = [0, 1, 2].map((c) =>
    Math.max(c === 0 ? 5 : c === 1 ? 6 : 7, ...cells.map((x) => (x[c] as string).length)),
  );
  const line = (x: string[]) =>
    x.map((w, c) => (c < 3 ? w.padEnd((widths[c] as number) + 2) : w)).join("");
  return [line(["# WHO", "SERVER", "SERVICE", "MUST"]), ...cells.map(line)].join("\n");
}
