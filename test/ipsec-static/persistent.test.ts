/**
 * `netsh ipsec static set store location=persistent` (issue 17 item 6): Windows Server
 * 2003's persistent policy, without root.
 *   - the commands work on `<home>/ipsec/persistent-store.json`, the local store untouched;
 *     `show store` names it; what does not map is refused in one line;
 *   - the effective store: the persistent policy's rules first in the local (or domain)
 *     policy, kept when that policy changes; alone when nothing else is assigned or the
 *     local store cannot be read.
 * The agent applying it between two namespaces: test/agent/persistent-store.test.ts.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { after, describe, it } from "node:test";
import { loadEffectiveStore, saveDomainAssigned } from "../../src/policy/effective.js";
import type { PolicyStore } from "../../src/policy/model.js";
import { loadLocalStore, localStorePath, persistentStorePath } from "../../src/policy/store.js";
import { tempHome } from "../helpers/cli.js";
import { ips, ipsJson, refused, run, SERVER_SETUP } from "./helpers.js";

/** A persistent policy protecting everything with 198.51.100.7 (PSK). */
const BOOT_POLICY: string[][] = [
  ["set", "store", "location=persistent"],
  ["add", "filterlist", "name=Admin"],
  ["add", "filter", "filterlist=Admin", "srcaddr=me", "dstaddr=198.51.100.7", "mirrored=yes"],
  ["add", "filteraction", "name=Protect", "action=negotiate", "qmsecmethods=ESP[AES128,SHA256]"],
  ["add", "policy", "name=Boot"],
  [
    "add",
    "rule",
    "name=Admin",
    "policy=Boot",
    "filterlist=Admin",
    "filteraction=Protect",
    "kerberos=no",
    "psk=boot secret",
  ],
  ["set", "policy", "name=Boot", "assign=yes"],
];

describe("netsh ipsec static: the persistent store", () => {
  const t = tempHome("pis-persist");
  after(t.cleanup);

  it("set store location=persistent: commands edit persistent-store.json, show store names it", async () => {
    await run(t.dir, ...BOOT_POLICY);
    assert.equal(fs.existsSync(localStorePath(t.dir)), false, "the local store untouched");
    const onDisk = JSON.parse(fs.readFileSync(persistentStorePath(t.dir), "utf8")) as PolicyStore;
    assert.deepEqual(
      onDisk.policies.map((p) => [p.name, p.assigned, p.rules.map((r) => r.name)]),
      [["Boot", true, ["Admin"]]],
    );
    assert.equal(
      (await ips(t.dir, "show", "store")).out.trim(),
      "The current IPsec policy store is the Persistent Store.",
    );
    assert.deepEqual(await ipsJson(t.dir, "show", "store"), {
      location: "persistent",
      domain: null,
    });
    assert.match(
      (await ips(t.dir, "show", "policy", "Boot", "level=verbose")).out,
      /Persistent Store/,
    );
  });

  it("what does not map is refused in one line, the store and location as they were", async () => {
    const before = fs.readFileSync(persistentStorePath(t.dir));
    await refused(
      t.dir,
      ["set", "store", "location=persistent", "domain=bigfirm.com"],
      /domain= applies to location=domain only/,
      2,
    );
    await refused(
      t.dir,
      ["set", "policy", "name=Boot", "assign=yes", "gponame=Web"],
      /gponame= applies to the domain store only/,
      2,
    );
    await refused(t.dir, ["set", "store", "location=moon"], /local\|domain\|persistent/, 2);
    assert.deepEqual(fs.readFileSync(persistentStorePath(t.dir)), before);
    assert.deepEqual(await ipsJson(t.dir, "show", "store"), {
      location: "persistent",
      domain: null,
    });
  });

  it("the effective store: the persistent policy alone when nothing else is assigned", () => {
    const eff = loadEffectiveStore(t.dir);
    assert.equal(eff.source, "persistent");
    assert.equal(eff.persistent, "Boot");
    assert.deepEqual(
      eff.store.policies.filter((p) => p.assigned).map((p) => p.name),
      ["Boot"],
    );
  });

  it("with a local policy assigned: the persistent rules first, the local policy kept as it is", async () => {
    await run(t.dir, ["set", "store", "location=local"], ...SERVER_SETUP, [
      "set",
      "policy",
      "name=Secure web",
      "assign=yes",
    ]);
    const local = loadLocalStore(t.dir);
    const eff = loadEffectiveStore(t.dir);
    assert.equal(eff.source, "local");
    assert.equal(eff.persistent, "Boot");
    const pol = eff.store.policies.find((p) => p.assigned);
    assert.equal(pol?.name, "Secure web");
    assert.deepEqual(
      pol?.rules.map((r) => [r.id, r.name]),
      [
        [1, "persistent: Admin"],
        [2, "Web"],
      ],
    );
    assert.ok(eff.store.filterLists.some((f) => f.name === "Admin"));
    assert.ok(eff.store.filterActions.some((a) => a.name === "Protect"));
    assert.deepEqual(loadLocalStore(t.dir), local, "the local store itself is unchanged");
    // the local policy changes (another rule gone): the persistent rule stays first
    await run(t.dir, ["delete", "rule", "name=Web", "policy=Secure web"]);
    assert.deepEqual(
      loadEffectiveStore(t.dir)
        .store.policies.find((p) => p.assigned)
        ?.rules.map((r) => r.name),
      ["persistent: Admin"],
    );
  });

  it("a domain-assigned policy: the persistent rules lead it too; an unreadable local store: alone, said why", () => {
    const local = loadLocalStore(t.dir);
    saveDomainAssigned(t.dir, { domain: "bigfirm.com", gpo: "Web", version: 1, store: local });
    const dom = loadEffectiveStore(t.dir);
    assert.equal(dom.source, "domain");
    assert.equal(dom.store.policies.find((p) => p.assigned)?.rules[0]?.name, "persistent: Admin");
    saveDomainAssigned(t.dir, null);
    fs.writeFileSync(path.join(t.dir, "ipsec", "local-store.json"), "{damaged");
    const alone = loadEffectiveStore(t.dir);
    assert.equal(alone.source, "persistent");
    assert.match(alone.note ?? "", /is not valid JSON: .*: the persistent policy applies alone$/);
  });
});
