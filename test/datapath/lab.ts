/**
 * A two-host lab for the data path: the shared host pair (test/helpers/host-pair.ts) with a
 * `postern agent --manual-sa` per namespace and manual keying files. Names use the "pdp"
 * prefix; `destroy()` kills the agents by pid and deletes the namespaces.
 */
import type { ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { ADDR_A, ADDR_B, type Agent, createHostPair } from "../helpers/host-pair.js";

export { ADDR_A, ADDR_B, type Agent };

export interface Lab {
  nsA: string;
  nsB: string;
  vethA: string;
  vethB: string;
  dir: string;
  exec(ns: string, args: string[], timeoutMs?: number): { code: number; out: string; err: string };
  startAgent(ns: string, keying: object, tag: string): Promise<Agent>;
  stopAgent(a: Agent): Promise<number | null>;
  spawnIn(ns: string, args: string[]): ChildProcess;
  destroy(): void;
}

export function createLab(): Lab {
  const pair = createHostPair("pdp");
  return {
    ...pair,
    startAgent(ns, keying, tag) {
      const home = path.join(pair.dir, tag);
      fs.mkdirSync(home, { recursive: true });
      const file = path.join(home, "keys.json");
      fs.writeFileSync(file, JSON.stringify(keying, null, 2), { mode: 0o600 });
      return pair.startAgent(ns, home, ["--manual-sa", file]);
    },
  };
}

/** Keying files for A and B: SPI 0x1001 carries A->B, 0x2002 carries B->A. */
export function keyingPair(
  transform: string,
  keys: { encKey?: string; authKey?: string; protocol?: string },
  opts: { mode?: string; bKeys?: { encKey?: string; authKey?: string; protocol?: string } } = {},
): { a: object; b: object } {
  const mode = opts.mode ?? "transport";
  const sa = (
    spi: number,
    direction: string,
    local: string,
    peer: string,
    k: { encKey?: string; authKey?: string; protocol?: string },
  ) => ({
    spi,
    direction,
    local,
    peer,
    mode,
    transform,
    ...k,
  });
  const bk = opts.bKeys ?? keys;
  return {
    a: {
      listen: { address: ADDR_A, port: 4500 },
      sas: [sa(0x1001, "out", ADDR_A, ADDR_B, keys), sa(0x2002, "in", ADDR_A, ADDR_B, keys)],
    },
    b: {
      listen: { address: ADDR_B, port: 4500 },
      sas: [sa(0x1001, "in", ADDR_B, ADDR_A, bk), sa(0x2002, "out", ADDR_B, ADDR_A, bk)],
    },
  };
}
