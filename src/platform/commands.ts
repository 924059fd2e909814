/**
 * The one place postern runs `nft` and `ip`. Two front-ends over the same execution:
 *   - NftRunner (async, execFile): the firewall's applier, the bypass sets, `firewall ...`;
 *   - NetConfig (sync, spawnSync, in routing.ts): the agent's start-up steps, which run
 *     in order before the agent says "ready".
 * Both can target a network namespace (`ip netns exec NS CMD ...`), and both ship a fake
 * that records what would run, so the callers are unit-tested without root.
 */
import { execFile, spawnSync } from "node:child_process";
import { PosternError } from "../errors.js";
import { commandText, type LibNftables, libNftables } from "./libnftables.js";

export interface CommandTarget {
  /** Run inside this network namespace. */
  netns?: string;
}

/** `cmd args` as run in the target: wrapped in `ip netns exec NS` when a namespace is named. */
export function commandLine(
  target: CommandTarget,
  cmd: string,
  args: readonly string[],
): [string, string[]] {
  return target.netns ? ["ip", ["netns", "exec", target.netns, cmd, ...args]] : [cmd, [...args]];
}

/** The first lines of a failed command's stderr, as one line. */
export function firstLines(text: string): string {
  return text.trim().split("\n").slice(0, 3).join(" | ");
}

/** Runs a command; resolves stdout, rejects with PosternError(code) naming the command. */
export function runCommand(
  target: CommandTarget,
  code: string,
  cmd: string,
  args: readonly string[],
  input?: string,
): Promise<string> {
  const [c, a] = commandLine(target, cmd, args);
  return new Promise((resolve, reject) => {
    const child = execFile(
      c,
      a,
      { encoding: "utf8", maxBuffer: 256 * 1024 * 1024, timeout: 120_000 },
      (err, stdout, stderr) => {
        if (err)
          reject(
            new PosternError(
              code,
              `${cmd} ${args.join(" ")}: ${firstLines(stderr || err.message)}`,
            ),
          );
        else resolve(stdout);
      },
    );
    child.stdin?.on("error", () => {
      // EPIPE: the command exited without reading its input; its exit status tells.
    });
    child.stdin?.end(input ?? "");
  });
}

/** The synchronous form, for ordered start-up steps: ok, stdout, the first line of stderr. */
export function runCommandSync(
  target: CommandTarget,
  cmd: string,
  args: readonly string[],
  input?: string,
): { ok: boolean; out: string; message: string } {
  const [c, a] = commandLine(target, cmd, args);
  const r = spawnSync(c, a, { input, encoding: "utf8", timeout: 10_000 });
  const message = `${r.stderr ?? ""}${r.error?.message ?? ""}`.trim().split("\n")[0] ?? "";
  return { ok: r.status === 0, out: r.stdout ?? "", message };
}

/**
 * libnftables in this process (platform/libnftables.ts), or null for the `nft` program: a
 * target in another namespace, `POSTERN_NFT=process`, or no library.
 */
export function nftInProcess(target: CommandTarget): LibNftables | null {
  if (target.netns || process.env.POSTERN_NFT === "process") return null;
  return libNftables();
}

export interface NftRunner {
  /** The network namespace the commands run in (undefined: ours). */
  readonly netns?: string;
  /** Runs `nft ARGS` with `input` on stdin; resolves stdout. Throws code nft-failed. */
  nft(args: readonly string[], input?: string): Promise<string>;
  /** This host's connected subnets (`10.0.0.0/24`, `fd00::/64`), link-local excluded. */
  localSubnets(): Promise<string[]>;
}

interface IpAddrJson {
  addr_info?: { family?: string; local?: string; prefixlen?: number; scope?: string }[];
}

/** Global addresses with their prefixes from `ip -j addr show`. */
export function parseLocalSubnets(json: string): string[] {
  const out: string[] = [];
  for (const l of JSON.parse(json) as IpAddrJson[]) {
    for (const ai of l.addr_info ?? []) {
      if (ai.scope !== "global" || !ai.local || ai.prefixlen === undefined) continue;
      out.push(`${ai.local}/${ai.prefixlen}`);
    }
  }
  return out;
}

export function createNftRunner(target: CommandTarget = {}): NftRunner {
  return {
    netns: target.netns,
    nft(args, input) {
      const lib = nftInProcess(target);
      const cmd = lib && commandText(args, input);
      if (!lib || !cmd) return runCommand(target, "nft-failed", "nft", args, input);
      return lib.run(cmd.text, cmd.json).catch((e: Error) => {
        throw new PosternError("nft-failed", `nft ${args.join(" ")}: ${firstLines(e.message)}`);
      });
    },
    async localSubnets() {
      return parseLocalSubnets(
        await runCommand(target, "nft-failed", "ip", ["-j", "addr", "show"]),
      );
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
