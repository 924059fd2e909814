/**
 * What `postern lab up` made, written before each thing is made so that `lab down` can
 * undo a half-built lab after a crash: `<home>/lab/state.json`
 *   { id, dir, namespaces: [...], processes: [{ name, pid, ns }], sign }
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { PosternError } from "../errors.js";
import { atomicWriteFile, ensureDir } from "../platform/home.js";
import type { LabDc } from "./topology.js";

export interface LabProcess {
  name: string;
  pid: number;
  ns: string;
}

/**
 * How the article's "sign" action protects the web traffic: AH[SHA1] (IP protocol 51, as
 * Windows 2003 did; the default) or ESP[None,SHA1] (ESP with NULL encryption in UDP 4500,
 * which passes NAT).
 */
export type LabSign = "ah" | "esp-null";

/**
 * Where the Samba lab's policies come from: GPOs in AD, applied by `postern gpupdate` (the
 * default there), or each host's own netsh scripts (src/lab/gpo-policy.ts).
 */
export type PolicyFrom = "gpo" | "local";

export interface LabState {
  id: string;
  /** Where the hosts' homes and logs live: `<home>/lab`. */
  dir: string;
  namespaces: string[];
  processes: LabProcess[];
  /** The domain's DCs: postern's (absent, as before) or Samba AD's dc1 and dc2. */
  dc?: LabDc;
  createdAt: string;
  sign: LabSign;
  /** Samba lab only; absent: each host's netsh scripts (labs made before GPOs). */
  policyFrom?: PolicyFrom;
}

export function labDir(home: string): string {
  return path.join(home, "lab");
}

function stateFile(home: string): string {
  return path.join(labDir(home), "state.json");
}

export function loadLabState(home: string): LabState | null {
  let text: string;
  try {
    text = fs.readFileSync(stateFile(home), "utf8");
  } catch {
    return null;
  }
  try {
    return JSON.parse(text) as LabState;
  } catch {
    throw new PosternError("lab", `${stateFile(home)} is damaged; remove the lab by hand`);
  }
}

export function saveLabState(home: string, s: LabState): void {
  ensureDir(labDir(home), 0o700);
  atomicWriteFile(stateFile(home), `${JSON.stringify(s, null, 2)}\n`, 0o600);
}

export function removeLabState(home: string): void {
  fs.rmSync(labDir(home), { recursive: true, force: true });
}

/** The home of one lab host. */
export function hostHome(s: LabState, name: string): string {
  return path.join(s.dir, name);
}
