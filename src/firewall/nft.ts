/**
 * The firewall's view of the nft runner: the runner itself lives in platform/commands.ts
 * (the one place postern runs `nft` and `ip`); failures surface as FirewallError
 * `nft-failed`, so `postern firewall ...` prints one line and exits 1.
 */
import { isPosternError } from "../errors.js";
import {
  createFakeNftRunner,
  createNftRunner as createPlatformRunner,
  type FakeNftRunner,
  type NftRunner,
} from "../platform/commands.js";
import { FirewallError } from "./errors.js";

export { createFakeNftRunner, type FakeNftRunner, type NftRunner };

export interface NftRunnerOptions {
  /** Run inside this network namespace. */
  netns?: string;
}

const asFirewallError = (e: unknown): never => {
  if (isPosternError(e) && !(e instanceof FirewallError))
    throw new FirewallError("nft-failed", e.message);
  throw e;
};

export function createNftRunner(opts: NftRunnerOptions = {}): NftRunner {
  const inner = createPlatformRunner(opts);
  return {
    netns: inner.netns,
    nft: (args, input) => inner.nft(args, input).catch(asFirewallError),
    localSubnets: () => inner.localSubnets().catch(asFirewallError),
  };
}
