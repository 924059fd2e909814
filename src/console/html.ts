/**
 * HTML that cannot inject: every value put into a page goes through `html`, which escapes
 * it unless it is already Html (made by `html` itself, or `raw` for the few constant
 * fragments). A principal, an SA name or a log line holding `<script>` is shown as text.
 */

export class Html {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

const ESCAPES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

/** Text made safe for an element's content and for a quoted attribute value. */
export function esc(value: unknown): string {
  return String(value).replace(/[&<>"']/g, (c) => ESCAPES[c] as string);
}

/** A constant fragment written by this module's callers, never data. */
export const raw = (text: string): Html => new Html(text);

function part(v: unknown): string {
  if (v instanceof Html) return v.text;
  if (v === null || v === undefined || v === false) return "";
  if (Array.isArray(v)) return v.map(part).join("");
  return esc(v);
}

/** Tagged template: the literal parts as written, every interpolated value escaped. */
export function html(strings: TemplateStringsArray, ...values: unknown[]): Html {
  let out = strings[0] ?? "";
  for (const [i, v] of values.entries()) out += part(v) + (strings[i + 1] ?? "");
  return new Html(out);
}

/** A table: header cells and rows of cells (each escaped unless Html). */
export function table(head: readonly string[], rows: readonly (readonly unknown[])[]): Html {
  if (rows.length === 0) return html`<p class="empty">none</p>`;
  return html`<table><thead><tr>${head.map((h) => html`<th>${h}</th>`)}</tr></thead><tbody>${rows.map(
    (r) => html`<tr>${r.map((c) => html`<td>${c}</td>`)}</tr>`,
  )}</tbody></table>`;
}
