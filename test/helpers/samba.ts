/**
 * Stopping a Samba AD DC a test started in its own namespace: the DC stopped by
 * src/lab/samba.ts's stopSamba, then the namespace and the test's directory removed.
 */
import type { ChildProcess } from "node:child_process";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import { stopSamba } from "../../src/lab/samba.js";

export { haveSamba, provisionSambaDc, type SambaDc } from "../../src/lab/samba.js";

export function stopSambaInNetns(
  dir: string | undefined,
  ns: string | undefined,
  samba: ChildProcess | undefined,
): void {
  if (ns) {
    stopSamba(dir ?? "", ns, samba);
    spawnSync("ip", ["netns", "del", ns]);
  }
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
}
