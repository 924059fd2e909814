/**
 * The directory watch immediate revocation runs on (agent/revocation.ts), from the
 * machine account `postern join` left: postern's DC is asked over its API (long poll,
 * member/dc-changes.ts), Active Directory over sealed LDAP (uSNChanged polling every
 * `pollMs`, member/ad-changes.ts). A host that joined no domain has no directory to
 * watch: the agent refuses to start with --revocation immediate rather than pretend.
 */
import type { CliEnv } from "../cmdline/env.js";
import { PosternError } from "../errors.js";
import { clampPoll, createAdWatch } from "../member/ad-changes.js";
import { createDcWatch } from "../member/dc-changes.js";
import type { DirectoryWatch } from "../member/directory-watch.js";
import { keytabWriter } from "../member/machine-keys.js";

export function directoryWatchOf(
  env: CliEnv,
  log: (line: string) => void,
  pollMs?: number,
): DirectoryWatch {
  const id = keytabWriter.read(env.home);
  if (id === null)
    throw new PosternError(
      "agent",
      "--revocation immediate needs a domain to watch: this host has not joined one (postern join)",
    );
  if (id.kind === "ad") {
    log(
      `revocation: watching ${id.domain} over LDAP at ${id.dc.hostName ?? id.dc.host} (uSNChanged every ${clampPoll(pollMs)} ms)`,
    );
    return createAdWatch(env.home, id, { ...(pollMs !== undefined ? { pollMs } : {}), log });
  }
  log(`revocation: watching ${id.domain} through the DC's API at ${id.dc.host}`);
  return createDcWatch(env, id);
}
