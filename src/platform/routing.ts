/**
 * Interface configuration and policy routing through the real tools: `ip` (iproute2) for
 * links, rules and routes, `nft -f -` for rulesets (run by platform/commands.ts, the one
 * runner of both), /proc/sys for sysctls. Everything goes through `NetConfig`, so the
 * agent's setup is unit-tested with `createFakeNetConfig`, which records the commands
 * instead of running them.
 */
import * as fs from "node:fs";
import { PosternError } from "../errors.js";
import { type CommandTarget, firstLines, nftInProcess, runCommandSync } from "./commands.js";

export interface NetConfig {
  /** Runs `ip ARGS`; throws PosternError with ip's message on failure. */
  ip(args: string[]): void;
  /** Runs `ip ARGS` and returns its output (`-j` queries); throws like ip(). */
  ipOut(args: string[]): string;
  /** Like ip() but a failure is ignored (cleanup of things that may be gone). */
  ipQuiet(args: string[]): void;
  /** Loads an nft script (`nft -f -`); throws with nft's message on failure. */
  nft(script: string): void;
  nftQuiet(script: string): void;
  readSysctl(key: string): string | null;
  writeSysctl(key: string, value: string): void;
}

const sysctlPath = (key: string) => `/proc/sys/${key.replaceAll(".", "/")}`;

export function createNetConfig(target: CommandTarget = {}): NetConfig {
  const run = (cmd: string, args: string[], input?: string) =>
    runCommandSync(target, cmd, args, input);
  const loadNft = (script: string): { ok: boolean; message: string } => {
    const lib = nftInProcess(target);
    if (!lib) return run("nft", ["-f", "-"], script);
    try {
      lib.runSync(script, false);
      return { ok: true, message: "" };
    } catch (e) {
      return { ok: false, message: firstLines((e as Error).message) };
    }
  };
  return {
    ip(args) {
      const r = run("ip", args);
      if (!r.ok) throw new PosternError("netconfig", `ip ${args.join(" ")}: ${r.message}`);
    },
    ipOut(args) {
      const r = run("ip", args);
      if (!r.ok) throw new PosternError("netconfig", `ip ${args.join(" ")}: ${r.message}`);
      return r.out;
    },
    ipQuiet(args) {
      run("ip", args);
    },
    nft(script) {
      const r = loadNft(script);
      if (!r.ok) throw new PosternError("netconfig", `nft: ${r.message}`);
    },
    nftQuiet(script) {
      loadNft(script);
    },
    readSysctl(key) {
      try {
        return fs.readFileSync(sysctlPath(key), "utf8").trim();
      } catch {
        return null;
      }
    },
    writeSysctl(key, value) {
      try {
        fs.writeFileSync(sysctlPath(key), value);
      } catch (e) {
        throw new PosternError("netconfig", `sysctl ${key}=${value}: ${(e as Error).message}`);
      }
    },
  };
}

/** Records what would run; sysctls live in a map; `ipOut` answers from `answer`. */
export function createFakeNetConfig(
  sysctls: Record<string, string> = {},
  answer: (args: readonly string[]) => string = () => "[]",
): NetConfig & { log: string[] } {
  const log: string[] = [];
  return {
    log,
    ip: (args) => void log.push(`ip ${args.join(" ")}`),
    ipOut: (args) => {
      log.push(`ip ${args.join(" ")}`);
      return answer(args);
    },
    ipQuiet: (args) => void log.push(`ip ${args.join(" ")}`),
    nft: (script) => void log.push(`nft ${script}`),
    nftQuiet: (script) => void log.push(`nft ${script}`),
    readSysctl: (key) => sysctls[key] ?? null,
    writeSysctl: (key, value) => {
      sysctls[key] = value;
      log.push(`sysctl ${key}=${value}`);
    },
  };
}
