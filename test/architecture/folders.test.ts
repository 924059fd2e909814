/**
 * The top-level folders of src/ form a graph without cycles (docs/architecture.md): a new
 * import that closes a loop between two subsystems fails here, naming the files.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { describeCycle, folderCycles, folderGraph } from "./folder-graph.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");

describe("folders of src/", () => {
  it("import each other without a cycle", () => {
    const graph = folderGraph(path.join(ROOT, "src"));
    assert.ok(graph.size > 5, "the graph was read (src/ found)");
    const cycles = folderCycles(graph);
    assert.deepEqual(
      cycles.map((c) => describeCycle(graph, c)),
      [],
    );
  });

  it("the check finds a cycle when one is there (a -> b -> c -> a, d alone)", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "postern-cycles-"));
    try {
      const write = (rel: string, text: string) => {
        fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
        fs.writeFileSync(path.join(dir, rel), text);
      };
      write("a/x.ts", 'import { y } from "../b/y.js";\nexport const x = y;\n');
      write("b/y.ts", 'export { z as y } from "../c/z.js";\n');
      write("c/z.ts", 'export const z = 1;\nconst later = () => import("../a/x.js");\n');
      write("d/w.ts", 'import { x } from "../a/x.js";\nimport { e } from "../errors.js";\n');
      write("errors.ts", "export const e = 1;\n");
      const graph = folderGraph(dir);
      assert.deepEqual(folderCycles(graph), [["a", "b", "c"]]);
      assert.match(describeCycle(graph, ["a", "b", "c"]), /c -> a: src\/c\/z\.ts/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
