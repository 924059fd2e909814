/**
 * Where `netsh ipsec static` keeps what it edits: a StoreBackend, chosen by
 * `set store location=local|domain|persistent` (policy/location.ts).
 * - local: `<home>/ipsec/local-store.json`, read-modify-write under the store lock;
 * - persistent: `<home>/ipsec/persistent-store.json`, the same way (one lock for both);
 *   ipseccmd's dynamic store (`dynamic-store.json`) too, under the same lock;
 * - domain: the domain's IPsec container in the DC's directory (src/dc/ipsec-domain.ts),
 *   reached with the admin CLI's path (src/domain/client.ts: the admin socket when the DC
 *   runs, else the database directly). A save sends the revision it read and any GPO
 *   assignments; the DC commits store, assignments and one audit row in one transaction,
 *   and refuses a stale revision; the command then redoes its change on the fresh store
 *   (at most CONFLICT_RETRIES times), as the local store's lock would have serialised it.
 * Only a DC host (`<home>/dc/` exists) has a domain store: remote administration needs
 * Kerberos-authenticated admin calls, which are not wired yet.
 */
import * as fs from "node:fs";
import type { CliEnv } from "../../cmdline/env.js";
import type { AssignChange, DomainIpsec, GpoAssignment } from "../../dc/ipsec-domain.js";
import { dcDir } from "../../dc/paths.js";
import { adminCall } from "../../dc/admin/client.js";
import { isPosternError, PosternError } from "../../errors.js";
import { loadStoreLocation } from "../../policy/location.js";
import { guardedAdminCall } from "../../policytest/guard.js";
import { adMemberBackend } from "./ad-member.js";
import { withStoreLock } from "../../policy/lock.js";
import type { PolicyStore } from "../../policy/model.js";
import {
  loadDynamicStore,
  loadLocalStore,
  loadPersistentStore,
  saveDynamicStore,
  saveLocalStore,
  savePersistentStore,
} from "../../policy/store.js";
import { validateStore } from "../../policy/validate.js";

/** What a change may ask of the domain besides the new store: GPO assignments. */
export interface ChangeTx {
  assign(gpo: string, policyGuid: string | null): void;
}

export interface StoreBackend {
  kind: "local" | "domain" | "persistent" | "dynamic";
  load(): Promise<PolicyStore>;
  /** Loads, lets `change` edit a copy, validates, saves atomically (one transaction). */
  update<T>(change: (store: PolicyStore, tx: ChangeTx) => T): Promise<T>;
  /** GPO assignments (domain only). */
  assignments(gpo?: string): Promise<GpoAssignment[]>;
}

export const NOT_A_DC =
  "this host is not a domain controller: domain policy is edited on the DC (postern domain ..., or netsh there)";

/** Attempts of a save refused for a stale revision (more than any realistic number of writers). */
export const CONFLICT_RETRIES = 10;

const NO_TX: ChangeTx = {
  assign: () => {
    throw new PosternError("usage", "gponame= applies to the domain store only", 2);
  },
};

export function localBackend(home: string): StoreBackend {
  return fileBackend("local", home, loadLocalStore, saveLocalStore);
}

export function persistentBackend(home: string): StoreBackend {
  return fileBackend("persistent", home, loadPersistentStore, savePersistentStore);
}

/** ipseccmd's dynamic mode (no -w): the store the running agent puts first, volatile. */
export function dynamicBackend(home: string): StoreBackend {
  return fileBackend("dynamic", home, loadDynamicStore, saveDynamicStore);
}

function fileBackend(
  kind: "local" | "persistent" | "dynamic",
  home: string,
  load: (home: string) => PolicyStore,
  save: (home: string, store: PolicyStore) => void,
): StoreBackend {
  return {
    kind,
    load: async () => load(home),
    update: async (change) =>
      withStoreLock(home, () => {
        const store = structuredClone(load(home));
        const result = change(store, NO_TX);
        validateStore(store, "the changed store");
        save(home, store);
        return result;
      }),
    assignments: async () => {
      throw new PosternError("usage", "GPO assignments live in the domain store", 2);
    },
  };
}

/** Throws NOT_A_DC unless `<home>/dc/` exists. */
export function requireDcHome(home: string): void {
  if (!fs.existsSync(dcDir(home))) throw new PosternError("no-dc", NOT_A_DC);
}

/**
 * `force`: make a change that breaks an expected access matrix anyway. Every save goes
 * through the policy tests' guard (src/policytest/guard.ts): previewed, evaluated, then
 * committed or refused with the cells it breaks, the store as it was.
 */
export function domainBackend(env: CliEnv, force = false): StoreBackend {
  requireDcHome(env.home);
  const get = async () => (await adminCall(env, "ipsec.get")).result as DomainIpsec;
  return {
    kind: "domain",
    load: async () => (await get()).store,
    async update(change) {
      for (let attempt = 1; ; attempt++) {
        const cur = await get();
        const store = structuredClone(cur.store);
        const assign: AssignChange[] = [];
        const result = change(store, { assign: (gpo, policy) => assign.push({ gpo, policy }) });
        validateStore(store, "the changed store");
        try {
          await guardedAdminCall(
            env,
            "ipsec.set",
            { store, revision: cur.revision, assign },
            force,
          );
          return result;
        } catch (e) {
          // another administrator saved in between: redo the change on the new store
          if (!isPosternError(e) || e.code !== "dc.conflict" || attempt >= CONFLICT_RETRIES)
            throw e;
        }
      }
    },
    assignments: async (gpo) =>
      (await adminCall(env, "ipsec.assignments", gpo === undefined ? {} : { name: gpo }))
        .result as GpoAssignment[],
  };
}

/** The backend `set store` chose: local, persistent, postern's DC, or an AD's container. */
export function backendFor(env: CliEnv, force = false): StoreBackend {
  const loc = loadStoreLocation(env.home);
  if (loc.location === "local") return localBackend(env.home);
  if (loc.location === "persistent") return persistentBackend(env.home);
  return loc.directory === "ad" ? adMemberBackend(env) : domainBackend(env, force);
}
