/**
 * A two-host lab for the policy-driven agent: the shared host pair
 * (test/helpers/host-pair.ts), each host with its own --home whose local store is written
 * ONLY with `postern netsh ipsec static` commands, and `postern agent` (no --manual-sa) run
 * inside. Names use the "pag" prefix (or the caller's); `destroy()` kills the agents by pid
 * and deletes the namespaces.
 */
import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { cli } from "../helpers/cli.js";
import { ADDR_A, ADDR_B, type Agent, createHostPair } from "../helpers/host-pair.js";

export { ADDR_A, ADDR_B, type Agent };

/** The netsh commands for a host protecting all traffic with `peer` ("encrypt"/"sign"). */
export function p2pPolicy(
  peer: string,
  qmsec: string,
  psk: string,
  extra: string[] = [],
): string[][] {
  return [
    ["add", "policy", "name=P2P"],
    ["add", "filterlist", "name=Peer"],
    ["add", "filter", "filterlist=Peer", "srcaddr=me", `dstaddr=${peer}`, "mirrored=yes"],
    ["add", "filteraction", "name=Protect", "action=negotiate", `qmsecmethods=${qmsec}`, ...extra],
    [
      "add",
      "rule",
      "name=Peer",
      "policy=P2P",
      "filterlist=Peer",
      "filteraction=Protect",
      "kerberos=no",
      `psk=${psk}`,
    ],
    ["set", "policy", "name=P2P", "assign=yes"],
  ];
}

/** How many IKE SAs `a`'s agent holds established (`agent stats`). */
export async function established(a: Agent): Promise<number> {
  const r = await cli(a.home, "--json", "agent", "stats");
  assert.equal(r.code, 0, r.err);
  const s = JSON.parse(r.out) as { ike: { sas: { state: string }[] } };
  return s.ike.sas.filter((x) => x.state === "established").length;
}

export interface Lab {
  nsA: string;
  nsB: string;
  vethB: string;
  dir: string;
  exec(ns: string, args: string[], timeoutMs?: number): { code: number; out: string; err: string };
  spawnIn(ns: string, args: string[]): ChildProcess;
  /** A fresh home configured with these `netsh ipsec static` command lines. */
  home(tag: string, lines: string[][]): Promise<string>;
  startAgent(ns: string, home: string, args?: string[]): Promise<Agent>;
  stopAgent(a: Agent): Promise<number | null>;
  destroy(): void;
}

/** `prefix` names the namespaces, veths and temp dir (another suite passes its own). */
export function createLab(prefix = "pag"): Lab {
  const pair = createHostPair(prefix);
  return {
    ...pair,
    async home(tag, lines) {
      const home = path.join(pair.dir, tag);
      fs.mkdirSync(home, { recursive: true });
      for (const l of lines) {
        const r = await cli(home, "netsh", "ipsec", "static", ...l);
        assert.equal(r.code, 0, `${l.join(" ")}: ${r.err}`);
      }
      return home;
    },
    startAgent: (ns, home, args = []) => pair.startAgent(ns, home, args),
  };
}
