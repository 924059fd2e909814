/**
 * The import graph between src/'s top-level folders, and its cycles (Tarjan's strongly
 * connected components). A file directly under src/ counts as its own "folder" (errors.ts
 * -> `errors`). Relative imports only: `import ... from "../x/y.js"`, `export ... from`,
 * and `import("../x.js")`.
 */
import * as fs from "node:fs";
import * as path from "node:path";

export type FolderGraph = Map<string, Map<string, string[]>>;

const IMPORT =
  /(?:import|export)\s[^'"]*?from\s+['"](\.[^'"]+)['"]|import\(\s*['"](\.[^'"]+)['"]\s*\)/g;

function topOf(srcDir: string, file: string): string {
  const rel = path.relative(srcDir, file).split(path.sep);
  const first = rel[0] ?? "";
  return rel.length > 1 ? first : first.replace(/\.[^.]+$/, "");
}

function* tsFiles(dir: string): Generator<string> {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) yield* tsFiles(p);
    else if (e.name.endsWith(".ts")) yield p;
  }
}

/** folder -> (imported folder -> files that import it, as "src/a/b.ts"). */
export function folderGraph(srcDir: string): FolderGraph {
  const graph: FolderGraph = new Map();
  for (const file of tsFiles(srcDir)) {
    const from = topOf(srcDir, file);
    const text = fs.readFileSync(file, "utf8");
    for (const m of text.matchAll(IMPORT)) {
      const spec = m[1] ?? m[2];
      if (spec === undefined) continue;
      const target = path.resolve(path.dirname(file), spec);
      if (path.relative(srcDir, target).startsWith("..")) continue;
      const to = topOf(srcDir, target);
      if (to === from) continue;
      const edges = graph.get(from) ?? new Map<string, string[]>();
      graph.set(from, edges);
      const files = edges.get(to) ?? [];
      edges.set(to, files);
      const name = path.join("src", path.relative(srcDir, file));
      if (!files.includes(name)) files.push(name);
    }
  }
  return graph;
}

/** The strongly connected components with more than one folder, each sorted. */
export function folderCycles(graph: FolderGraph): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  let next = 0;
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next);
    next++;
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v)?.keys() ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      for (;;) {
        const w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
        if (w === v) break;
      }
      if (component.length > 1) cycles.push(component.sort());
    }
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return cycles;
}

/** One line per edge inside a cycle, naming the files that make it, for the failure text. */
export function describeCycle(graph: FolderGraph, cycle: string[]): string {
  const members = new Set(cycle);
  const lines: string[] = [];
  for (const a of cycle) {
    for (const [b, files] of graph.get(a) ?? []) {
      if (members.has(b)) lines.push(`  ${a} -> ${b}: ${files.slice(0, 3).join(", ")}`);
    }
  }
  return `cycle: ${cycle.join(" ")}\n${lines.join("\n")}`;
}
