import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import * as path from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const watchdog = path.join(here, "../../src/ike/watchdog.js");

/** Runs a script in a child node; resolves with its exit code and signal. */
function runScript(source: string): Promise<{ code: number | null; signal: string | null }> {
  const child = spawn(process.execPath, ["--input-type=module", "-e", source], {
    stdio: "ignore",
  });
  return new Promise((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
}

describe("ike initiate --timeout watchdog (src/ike/watchdog.ts)", () => {
  it("kills a process whose main thread never returns to its event loop", async () => {
    // The busy loop is bounded (20 s): without the watchdog the child would exit 0.
    const r = await runScript(
      `import { startWatchdog } from ${JSON.stringify(watchdog)};
       startWatchdog(300);
       const end = Date.now() + 20000;
       while (Date.now() < end) {}`,
    );
    assert.equal(r.signal, "SIGKILL");
  });

  it("once disarmed, lets the process end by itself", async () => {
    const r = await runScript(
      `import { startWatchdog } from ${JSON.stringify(watchdog)};
       const w = startWatchdog(300);
       w.disarm();
       setTimeout(() => process.exit(7), 600);`,
    );
    assert.deepEqual(r, { code: 7, signal: null });
  });
});
