/**
 * The one place postern runs `nft` and `ip`: behind NftRunner, so the applier and the
 * bypass API are tested with a fake, and real runs can target a network namespace
 * (`ip netns exec NS nft ...`).
 */
import { execFile } from "node:child_process";
import { FirewallError } from "./errors.js";

export interface NftRunner {
  /** Runs `nft ARGS` with `input` on stdin; resolves stdout. Throws nft-failed. */
  nft(args: readonly string[], input?: string): Promise<string>;
  /** This host's connected subnets (`10.0.0.0/24`, `fd00::/64`), link-local excluded. */
  localSubnets(): Promise<string[]>;
}

export interface NftRunnerOptions {
  /** Run inside this network namespace. */
  netns?: string;
}

function run(cmd: string, args: readonly string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      cmd,
      [...args],
      { encoding: "utf8", maxBuffer: 256 * 1024 * 1024, timeout: 120_000 },
      (err, stdout, stderr) => {
        if (err) {
          const first = (stderr || err.message).trim().split("\n").slice(0, 3).join(" | ");
          reject(new FirewallError("nft-failed", `${cmd} ${args.join(" ")}: ${first}`));
        } else {
          resolve(stdout);
        }
      },
    );
    child.stdin?.on("error", () => {
      // EPIPE: the command exited without reading its input; its exit status tells.
    });
    child.stdin?.end(input ?? "");
  });
}

interface IpAddrJson {
  addr_info?: { family?: string; local?: string; prefixlen?: number; scope?: string }[];
}

export function createNftRunner(opts: NftRunnerOptions = {}): NftRunner {
  const wrap = (cmd: string, args: readonly string[]): [string, string[]] =>
    opts.netns ? ["ip", ["netns", "exec", opts.netns, cmd, ...args]] : [cmd, [...args]];
  return {
    nft(args, input) {
      const [c, a] = wrap("nft", args);
      return run(c, a, input);
    },
    async localSubnets() {
      const [c, a] = wrap("ip", ["-j", "addr", "show"]);
      const links = JSON.parse(await run(c, a)) as IpAddrJson[];
      const out: string[] = [];
      for (const l of links) {
        for (const ai of l.addr_info ?? []) {
          if (ai.scope !== "global" || !ai.local || ai.prefixlen === undefined) continue;
          out.push(`${ai.local}/${ai.prefixlen}`);
        }
      }
      return out;
    },
  };
}

/** A fake for unit tests: records every call and answers from a handler. */
export interface FakeNftRunner extends NftRunner {
  calls: { args: string[]; input: string | undefined }[];
}

export function createFakeNftRunner(
  answer: (args: readonly string[], input?: string) => string = () => "",
  subnets: string[] = [],
): FakeNftRunner {
  const calls: FakeNftRunner["calls"] = [];
  return {
    calls,
    async nft(args, input) {
      calls.push({ args: [...args], input });
      return answer(args, input);
    },
    async localSubnets() {
      return subnets;
    },
  };
}
