/**
 * A test realm for the KDC core: an in-memory database with a user, a disabled user, two
 * machines with host/ SPNs, and a fixed, movable clock. No I/O.
 */
import { getEnctype } from "../../src/kerberos/crypto/index.js";
import {
  adSalt,
  createMemoryDatabase,
  type MemoryDatabase,
} from "../../src/kerberos/kdc/database.js";
import { createKdc, type Kdc, type KdcDeps } from "../../src/kerberos/kdc/kdc.js";

export const REALM = "PKD.TEST";
export const DOMAIN_SID = "S-1-5-21-1000-2000-3000";
export const T0 = Date.UTC(2026, 10, 27, 8, 0, 0);

export interface TestRealm {
  db: MemoryDatabase;
  kdc: Kdc;
  clock: { now: number };
  krbtgtKey: Uint8Array;
  /** The long-term key of an account for an etype (derived as the database does). */
  key(name: string, password: string, etype: number): Uint8Array;
}

export function createTestRealm(over: Partial<KdcDeps> = {}, enctypes = [18, 17]): TestRealm {
  const db = createMemoryDatabase({
    realm: REALM,
    domainSid: DOMAIN_SID,
    enctypes,
    principals: [
      { name: "alice", password: "alice-pw", rid: 1104, groups: [1105, "S-1-18-1"] },
      { name: "bob", password: "bob-pw", rid: 1108, enabled: false },
      { name: "WS01$", password: "ws01-pw", rid: 1106, aliases: ["host/ws01.pkd.test"] },
      { name: "SERVER1$", password: "server1-pw", rid: 1107, aliases: ["host/server1.pkd.test"] },
    ],
  });
  const etype = enctypes[0]!;
  const krbtgtKey = getEnctype(etype).stringToKey("krbtgt-pw", `${REALM}krbtgt${REALM}`);
  const clock = { now: T0 };
  const kdc = createKdc({
    database: db,
    realm: REALM,
    krbtgtKeys: [{ etype, kvno: 1, key: krbtgtKey }],
    now: () => clock.now,
    ...over,
  });
  return {
    db,
    kdc,
    clock,
    krbtgtKey,
    key: (name, password, e) => getEnctype(e).stringToKey(password, adSalt(REALM, name)),
  };
}
