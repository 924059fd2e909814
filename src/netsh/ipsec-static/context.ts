/**
 * What every `netsh ipsec static` handler shares: the clock and randomness (injected), the
 * store it works on, and the one way a command changes it:
 * 1. the store location picks the backend (backend.ts: local file or the DC's domain store);
 * 2. the store is loaded and validated, and a deep copy is handed to the command;
 * 3. the command changes the copy (throwing on any bad input);
 * 4. the result is validated as a whole and saved atomically;
 * locally steps 2-4 hold the store lock (policy/lock.ts); on the DC the save carries the
 * revision read, so concurrent commands do not lose changes. A command that throws never
 * reaches step 4, so the store stays as it was.
 */
import type { CliEnv } from "../../cmdline/env.js";
import { newGuid } from "../../policy/defaults.js";
import type { Guid, PolicyStore } from "../../policy/model.js";
import { backendFor, type ChangeTx, type StoreBackend } from "./backend.js";

export interface IpsecStaticDeps {
  now: () => Date;
  random: (n: number) => Uint8Array;
  /** DNS lookup for `show filterlist resolvedns=yes`: the addresses of a name ([] if none). */
  resolve: (name: string) => Promise<string[]>;
  /** The store to work on instead of the one `set store` chose (tests; an AD directory). */
  backend?: (env: CliEnv, force: boolean) => StoreBackend;
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
  /** `force=yes`: a domain-store change is made even if it breaks an expected access cell. */
  force: boolean;
}

export function createCtx(env: CliEnv, deps: IpsecStaticDeps, force = false): Ctx {
  return {
    env,
    deps,
    force,
    guid: () => newGuid(deps.random),
    stamp: () => deps.now().toISOString(),
    warn: (m) => env.err(m),
  };
}

/** The store `set store` chose (backend.ts). */
export function backendOf(ctx: Ctx): StoreBackend {
  return ctx.deps.backend ? ctx.deps.backend(ctx.env, ctx.force) : backendFor(ctx.env, ctx.force);
}

/** The current store, read-only. */
export function readStore(ctx: Ctx): Promise<PolicyStore> {
  return backendOf(ctx).load();
}

/**
 * Loads, lets `change` edit a copy, validates the result, saves it (under the local store
 * lock, or in one DC transaction with its audit row). `tx.assign` records GPO assignments
 * (domain store only).
 */
export function changeStore<T>(
  ctx: Ctx,
  change: (store: PolicyStore, tx: ChangeTx) => T,
): Promise<T> {
  return backendOf(ctx).update(change);
}
