/**
 * What every `netsh ipsec static` handler shares: the clock and randomness (injected), the
 * store it works on, and the one way a command changes it:
 * 1. the store location is checked (the domain store needs a DC, not yet configured);
 * 2. the store is loaded and validated, and a deep copy is handed to the command;
 * 3. the command changes the copy (throwing on any bad input);
 * 4. the result is validated as a whole and saved atomically;
 * steps 2-4 hold the store lock (policy/lock.ts), so concurrent commands do not lose changes.
 * A command that throws never reaches step 4, so the store file stays byte-identical.
 */
import type { CliEnv } from "../../cli/env.js";
import { PosternError } from "../../errors.js";
import { newGuid } from "../../policy/defaults.js";
import { loadStoreLocation } from "../../policy/location.js";
import { withStoreLock } from "../../policy/lock.js";
import type { Guid, PolicyStore } from "../../policy/model.js";
import { loadLocalStore, saveLocalStore } from "../../policy/store.js";
import { validateStore } from "../../policy/validate.js";

export interface IpsecStaticDeps {
  now: () => Date;
  random: (n: number) => Uint8Array;
  /** DNS lookup for `show filterlist resolvedns=yes`: the addresses of a name ([] if none). */
  resolve: (name: string) => Promise<string[]>;
}

export interface Ctx {
  env: CliEnv;
  deps: IpsecStaticDeps;
  /** A fresh GUID. */
  guid(): Guid;
  /** The time to stamp on changed objects (ISO 8601). */
  stamp(): string;
  /** Prints a warning line on stderr (legacy algorithms). */
  warn(message: string): void;
}

export function createCtx(env: CliEnv, deps: IpsecStaticDeps): Ctx {
  return {
    env,
    deps,
    guid: () => newGuid(deps.random),
    stamp: () => deps.now().toISOString(),
    warn: (m) => env.err(m),
  };
}

export const NO_DC =
  "no domain controller configured: the domain store is not available (use 'set store location=local')";

function checkLocal(ctx: Ctx): void {
  if (loadStoreLocation(ctx.env.home).location === "domain") {
    throw new PosternError("no-dc", NO_DC);
  }
}

/** The current store, read-only. */
export function readStore(ctx: Ctx): PolicyStore {
  checkLocal(ctx);
  return loadLocalStore(ctx.env.home);
}

/** Loads, lets `change` edit a copy, validates the result, saves it. */
export function changeStore<T>(ctx: Ctx, change: (store: PolicyStore) => T): T {
  return withStoreLock(ctx.env.home, () => {
    const store = structuredClone(readStore(ctx));
    const result = change(store);
    validateStore(store, "the changed store");
    saveLocalStore(ctx.env.home, store);
    return result;
  });
}
