/**
 * A small parser for systemd unit files (systemd.syntax(7)): `[Section]` headers,
 * `Key=Value` lines, `#`/`;` comments, blank lines. Enough to check our own units on a
 * machine without systemd-analyze; anything else is an error naming the line.
 */
export type UnitFile = Map<string, Map<string, string[]>>;

export function parseUnit(text: string, name: string): UnitFile {
  const unit: UnitFile = new Map();
  let section: Map<string, string[]> | null = null;
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = (lines[i] ?? "").trim();
    if (line === "" || line.startsWith("#") || line.startsWith(";")) continue;
    const header = /^\[([A-Za-z][A-Za-z0-9-]*)\]$/.exec(line);
    if (header) {
      const title = header[1] ?? "";
      if (unit.has(title)) throw new Error(`${name}:${i + 1}: section [${title}] twice`);
      section = new Map();
      unit.set(title, section);
      continue;
    }
    const kv = /^([A-Za-z][A-Za-z0-9]*)\s*=\s*(.*)$/.exec(line);
    if (!kv) throw new Error(`${name}:${i + 1}: not a section header or Key=Value: ${line}`);
    if (!section) throw new Error(`${name}:${i + 1}: ${kv[1]}= before any [Section]`);
    const key = kv[1] ?? "";
    section.set(key, [...(section.get(key) ?? []), kv[2] ?? ""]);
  }
  return unit;
}

/** The last value of Section.Key (systemd: a later assignment overrides), or undefined. */
export function value(unit: UnitFile, section: string, key: string): string | undefined {
  return unit.get(section)?.get(key)?.at(-1);
}
