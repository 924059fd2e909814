import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { PosternError } from "../../src/errors.js";
import { loadLocalStore, localStorePath } from "../../src/policy/store.js";
import { validateStore } from "../../src/policy/validate.js";
import { tempHome } from "../helpers/cli.js";
import { run, SERVER_SETUP } from "./helpers.js";

// biome-ignore lint/suspicious/noExplicitAny: tests edit arbitrary fields of a parsed store file
type Doc = Record<string, any>;

describe("policy store validation (loadLocalStore)", () => {
  const t = tempHome("pis-valid");
  let good: Doc;
  before(async () => {
    await run(
      t.dir,
      ...SERVER_SETUP,
      ["set", "policy", "name=Secure web", "assign=yes"],
      ["add", "policy", "name=Other"],
    );
    good = JSON.parse(fs.readFileSync(localStorePath(t.dir), "utf8"));
  });
  after(t.cleanup);

  function check(edit: (d: Doc) => void, re: RegExp): void {
    const d = structuredClone(good);
    edit(d);
    fs.writeFileSync(localStorePath(t.dir), JSON.stringify(d));
    assert.throws(
      () => loadLocalStore(t.dir),
      (e: unknown) =>
        e instanceof PosternError &&
        e.code === "store-invalid" &&
        re.test(e.message) &&
        !e.message.includes("\n"),
      re.source,
    );
  }

  it("a store written by the commands validates", () => {
    fs.writeFileSync(localStorePath(t.dir), JSON.stringify(good));
    assert.equal(loadLocalStore(t.dir).policies.length, 2);
  });

  it("names the field of every kind of damage", () => {
    check((d) => (d.version = 2), /version: expected 1/);
    check((d) => (d.policies[0].assignd = true), /policies\[0\]\.assignd: unknown field/);
    check((d) => delete d.policies[0].mmLifetimeMin, /policies\[0\]\.mmLifetimeMin: missing/);
    check(
      (d) => (d.policies[0].pollingIntervalMin = "180"),
      /policies\[0\]\.pollingIntervalMin: expected an integer/,
    );
    check(
      (d) => (d.policies[0].rules[0].auth[0].kind = "ntlm"),
      /policies\[0\]\.rules\[0\]\.auth\[0\]\.kind: expected one of kerberos\|psk\|rootca/,
    );
    check(
      (d) => (d.policies[0].rules[0].auth = []),
      /policies\[0\]\.rules\[0\]\.auth: needs at least one/,
    );
    check(
      (d) => (d.policies[0].rules[0].filterList = "00000000-0000-4000-8000-000000000000"),
      /rules\[0\]\.filterList: no filter list with GUID/,
    );
    check((d) => (d.policies[0].rules[0].id = 7), /rules\[0\]\.id: expected 1/);
    check((d) => (d.policies[1].assigned = true), /2 policies assigned/);
    check((d) => (d.policies[1].name = "SECURE WEB"), /policies\[1\]: duplicate name/);
    check((d) => (d.policies[1].guid = d.policies[0].guid), /duplicate GUID/);
    check((d) => (d.policies[0].guid = "{ABC}"), /policies\[0\]\.guid: not a lower-case GUID/);
    check(
      (d) => (d.policies[0].mmSecMethods[0].dhGroup = 1),
      /policies\[0\]\.mmSecMethods\[0\]: .*DH group 1/,
    );
    check(
      (d) =>
        (d.filterActions[0].qmSecMethods[0] = {
          ah: { hash: "md5" },
          lifetimeKb: 100000,
          lifetimeSec: 3600,
        }),
      /filterActions\[0\]\.qmSecMethods\[0\]: .*MD5 is refused/,
    );
    check(
      (d) => (d.filterActions[0].qmSecMethods[0].lifetimeSec = 5),
      /filterActions\[0\]\.qmSecMethods\[0\]: .*out of range/,
    );
    check(
      (d) => (d.filterActions[0].action = "encrypt"),
      /filterActions\[0\]\.action: expected one of permit\|block\|negotiate/,
    );
    check(
      (d) =>
        (d.filterLists[0].filters[0].dst = {
          kind: "subnet",
          address: "10.0.0.1",
          prefix: 8,
          family: 4,
        }),
      /filterLists\[0\]\.filters\[0\]\.dst: .*bits outside/,
    );
    check(
      (d) =>
        (d.filterLists[0].filters[0].src = {
          kind: "range",
          from: "10.0.0.9",
          to: "10.0.0.1",
          family: 4,
        }),
      /filters\[0\]\.src: .*ends before it starts/,
    );
    check(
      (d) =>
        (d.filterLists[0].filters[0].src = {
          kind: "subnet",
          address: "10.0.0.1",
          prefix: 32,
          family: 6,
        }),
      /filters\[0\]\.src: address: '10.0.0.1' is not IPv6/,
    );
    check(
      (d) => (d.filterLists[0].filters[0].protocol = 1),
      /filterLists\[0\]\.filters\[0\]: ports need protocol TCP/,
    );
    check(
      (d) => (d.filterLists[0].filters[0].dstPort = 70000),
      /filters\[0\]\.dstPort: expected an integer 0-65535/,
    );
    check(
      (d) => (d.policies[0].rules[0].tunnel = "not a host!"),
      /rules\[0\]\.tunnel: not an IP address or DNS name/,
    );
    check(
      (d) => (d.filterLists[0].lastModified = "yesterday"),
      /filterLists\[0\]\.lastModified: not a date/,
    );
  });

  it("a file that is not JSON gives one line", () => {
    fs.writeFileSync(localStorePath(t.dir), "{");
    assert.throws(() => loadLocalStore(t.dir), /is not valid JSON/);
  });

  it("validateStore accepts the empty store and refuses non-objects", () => {
    assert.doesNotThrow(() =>
      validateStore({ version: 1, filterLists: [], filterActions: [], policies: [] }, "x"),
    );
    assert.throws(() => validateStore([], "x"), /x: store: expected an object/);
    assert.throws(() => validateStore(null, "x"), /expected an object/);
  });

  it("the store file path is <home>/ipsec/local-store.json", () => {
    assert.equal(localStorePath(t.dir), path.join(t.dir, "ipsec", "local-store.json"));
  });
});
