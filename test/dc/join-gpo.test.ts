import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { addComputer, showComputer } from "../../src/dc/computers.js";
import { type Directory, dumpDirectory } from "../../src/dc/directory.js";
import {
  createGpo,
  effectivePolicy,
  linkGpo,
  loadDomainStore,
  saveDomainStore,
  saveFirewallSettings,
  unlinkGpo,
} from "../../src/dc/gpo.js";
import { addGroup, addMember, deleteGroup } from "../../src/dc/groups.js";
import { listRecords } from "../../src/dc/records.js";
import { issueJoinToken, joinWithToken, leaveDomain } from "../../src/dc/tokens.js";
import { emptyStore, type PolicyStore } from "../../src/policy/model.js";
import { tempHome } from "../helpers/cli.js";
import { newDirectory } from "./helpers.js";

function refused(dir: Directory, fn: () => unknown, pattern: RegExp): void {
  const before = JSON.stringify(dumpDirectory(dir));
  assert.throws(
    fn,
    (e: Error & { code?: string }) =>
      e.code === "dc.token" && pattern.test(e.message) && !e.message.includes("\n"),
  );
  assert.equal(JSON.stringify(dumpDirectory(dir)), before);
}

describe("join tokens: one use, hashed, expiring", () => {
  const home = tempHome("pdc-join");
  let now = new Date("2026-01-01T00:00:00Z");
  let dir: Directory;
  before(() => {
    dir = newDirectory(home.dir, {
      clock: () => now,
      random: (n) => crypto.getRandomValues(new Uint8Array(n)),
    });
    addComputer(dir, "t", "xpclient");
    addComputer(dir, "t", "client2");
  });
  after(() => {
    dir?.close();
    home.cleanup();
  });

  it("stores only the token's hash", () => {
    const { token } = issueJoinToken(dir, "t", "xpclient");
    const secret = token.split(".")[2] as string;
    assert.ok(!JSON.stringify(dumpDirectory(dir)).includes(secret));
  });

  it("a join claims the account: new keys (kvno + 1), joined, DNS record registered", () => {
    const { token } = issueJoinToken(dir, "t", "xpclient");
    const r = joinWithToken(dir, { name: "xpclient", token, address: "198.18.0.30" });
    assert.equal(r.computer.sam, "XPCLIENT$");
    assert.equal(r.realm, "BIGFIRM.COM");
    assert.deepEqual(r.keys.map((k) => k.etype).sort(), [17, 18], "AD's default 0x18");
    assert.ok(r.keys.every((k) => k.kvno === 2));
    assert.ok(showComputer(dir, "xpclient").joinedAt);
    assert.deepEqual(
      listRecords(dir).map((x) => [x.name, x.type, x.value, x.owner]),
      [["xpclient.bigfirm.com", "A", "198.18.0.30", "XPCLIENT$"]],
    );
  });

  it("refuses a reused, malformed, unknown, foreign or expired token with one line and no change", () => {
    const { token } = issueJoinToken(dir, "t", "client2");
    joinWithToken(dir, { name: "client2", token });
    refused(dir, () => joinWithToken(dir, { name: "client2", token }), /already used/);
    refused(dir, () => joinWithToken(dir, { name: "client2", token: "garbage" }), /malformed/);
    refused(
      dir,
      () => joinWithToken(dir, { name: "client2", token: `${token.slice(0, -4)}AAAA` }),
      /unknown token/,
    );
    const other = issueJoinToken(dir, "t", "xpclient").token;
    refused(
      dir,
      () => joinWithToken(dir, { name: "client2", token: other }),
      /issued for XPCLIENT\$/,
    );
    const old = issueJoinToken(dir, "t", "client2", 60_000).token;
    now = new Date(now.getTime() + 61_000);
    refused(dir, () => joinWithToken(dir, { name: "client2", token: old }), /expired/);
  });

  it("leave disables the account and removes its DNS records", () => {
    leaveDomain(dir, "machine:XPCLIENT$", "XPCLIENT$");
    assert.equal(showComputer(dir, "xpclient").enabled, false);
    assert.deepEqual(listRecords(dir), []);
  });
});

function storeWith(name: string): PolicyStore {
  const s = emptyStore();
  s.policies.push({
    guid: "00000000-0000-4000-8000-000000000001",
    name,
    description: "",
    mmPfs: false,
    qmPerMm: 0,
    mmLifetimeMin: 480,
    activateDefaultRule: false,
    pollingIntervalMin: 180,
    assigned: true,
    mmSecMethods: [],
    rules: [],
    defaultRule: { active: false, qmPfs: false, qmSecMethods: [], auth: [] },
    lastModified: "2026-01-01T00:00:00Z",
  });
  return s;
}

describe("policy objects: links, security filtering by group, versions", () => {
  const home = tempHome("pdc-gpo");
  let dir: Directory;
  before(() => {
    dir = newDirectory(home.dir);
    addComputer(dir, "t", "xpclient");
    addComputer(dir, "t", "client2");
    addGroup(dir, "t", "trusted");
    addGroup(dir, "t", "servers", "universal");
    addMember(dir, "t", "trusted", "xpclient$");
    addMember(dir, "t", "servers", "trusted");
  });
  after(() => {
    dir?.close();
    home.cleanup();
  });

  it("a GPO linked to the domain applies to every computer", () => {
    createGpo(dir, "t", "Domain Policy");
    saveDomainStore(dir, "t", "Domain Policy", storeWith("Client (Respond Only)"));
    linkGpo(dir, "t", "Domain Policy", "domain");
    for (const c of ["xpclient", "client2"]) {
      const e = effectivePolicy(dir, c);
      assert.equal(e.ipsecFrom, "Domain Policy");
      assert.equal(e.ipsec?.policies[0]?.name, "Client (Respond Only)");
    }
  });

  it("a GPO linked to a group applies to its nested members only, and wins over the domain's", () => {
    createGpo(dir, "t", "Trusted Policy");
    saveDomainStore(dir, "t", "Trusted Policy", storeWith("Secure Server"));
    saveFirewallSettings(dir, "t", "Trusted Policy", { enabled: true, bypass: ["trusted"] });
    linkGpo(dir, "t", "Trusted Policy", "servers");
    const x = effectivePolicy(dir, "xpclient");
    assert.deepEqual(
      x.applied.map((a) => [a.name, a.via]),
      [
        ["Domain Policy", "domain"],
        ["Trusted Policy", "servers"],
      ],
    );
    assert.equal(x.ipsec?.policies[0]?.name, "Secure Server");
    assert.deepEqual(x.firewall, { enabled: true, bypass: ["trusted"] });
    assert.deepEqual(
      effectivePolicy(dir, "client2").applied.map((a) => a.name),
      ["Domain Policy"],
    );
  });

  it("the version changes with an edit, a link and a membership change, and not otherwise", () => {
    const v1 = effectivePolicy(dir, "xpclient").version;
    assert.equal(effectivePolicy(dir, "xpclient").version, v1);
    saveDomainStore(dir, "t", "Trusted Policy", loadDomainStore(dir, "Trusted Policy"));
    const v2 = effectivePolicy(dir, "xpclient").version;
    assert.notEqual(v2, v1);
    unlinkGpo(dir, "t", "Trusted Policy", "servers");
    assert.notEqual(effectivePolicy(dir, "xpclient").version, v2);
    linkGpo(dir, "t", "Trusted Policy", "trusted");
    assert.equal(effectivePolicy(dir, "xpclient").ipsecFrom, "Trusted Policy");
  });

  it("deleting a group removes its links", () => {
    addGroup(dir, "t", "temp");
    linkGpo(dir, "t", "Trusted Policy", "temp");
    deleteGroup(dir, "t", "temp");
    assert.equal(dir.stmt("SELECT COUNT(*) AS n FROM gpo_links").get() !== undefined, true);
    assert.deepEqual(
      (
        dir.stmt("SELECT target_rid FROM gpo_links ORDER BY link_order").all() as {
          target_rid: number;
        }[]
      ).length,
      2,
    );
  });

  it("refuses a store that is not a PolicyStore, and duplicate names", () => {
    assert.throws(
      () => saveDomainStore(dir, "t", "Domain Policy", { version: 2 } as unknown as PolicyStore),
      /not a version 1 postern PolicyStore/,
    );
    assert.throws(() => createGpo(dir, "t", "domain policy"), /already exists/);
    assert.throws(() => linkGpo(dir, "t", "Domain Policy", "nosuch"), /no group named 'nosuch'/);
  });
});
