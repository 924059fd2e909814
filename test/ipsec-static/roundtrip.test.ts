import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import type { PolicyStore } from "../../src/policy/model.js";
import { cli, tempHome } from "../helpers/cli.js";
import { ips, ipsJson, refused, run, SERVER_SETUP, storeBytes } from "./helpers.js";

const SHOWS: string[][] = [
  ["show", "all"],
  ["show", "all", "level=verbose"],
  ["show", "all", "format=table", "level=verbose"],
  ["show", "rule", "all", "policy=Secure web", "level=verbose"],
];

async function snapshot(home: string): Promise<string[]> {
  const out: string[] = [];
  for (const s of SHOWS) {
    const r = await ips(home, ...s);
    assert.equal(r.code, 0, r.err);
    out.push(r.out);
    const j = await cli(home, "--json", "netsh", "ipsec", "static", ...s);
    assert.equal(j.code, 0, j.err);
    out.push(j.out);
  }
  return out;
}

describe("exportpolicy / importpolicy", () => {
  const t = tempHome("pis-export");
  const file = path.join(t.dir, "backup.json");
  before(async () => {
    await run(
      t.dir,
      ...SERVER_SETUP,
      [
        "add",
        "filter",
        "filterlist=Web",
        "srcaddr=2001:db8::",
        "srcmask=48",
        "dstaddr=me",
        "protocol=TCP",
        "dstport=80",
        "mirrored=no",
      ],
      [
        "add",
        "filter",
        "filterlist=Infra",
        "srcaddr=me",
        "dstaddr=DNS",
        "protocol=UDP",
        "dstport=53",
      ],
      [
        "add",
        "filter",
        "filterlist=Infra",
        "srcaddr=198.18.0.1-198.18.0.9",
        "dstaddr=dc1.bigfirm.com",
      ],
      ["add", "filteraction", "name=Permit", "action=permit", "description=let it be"],
      [
        "add",
        "rule",
        "name=Infra",
        "policy=Secure web",
        "filterlist=Infra",
        "filteraction=Permit",
        "psk=secret",
        "rootca=CN=Root certmap:yes excludecaname:yes",
        "conntype=lan",
      ],
      ["set", "defaultrule", "policy=Secure web", "qmpfs=yes"],
      ["add", "policy", "name=Spare", "mmpfs=yes"],
      ["set", "policy", "name=Secure web", "assign=yes"],
    );
  });
  after(t.cleanup);

  it("export -> delete all -> import gives identical show all output (text and --json)", async () => {
    const beforeShows = await snapshot(t.dir);
    const beforeBytes = storeBytes(t.dir);
    await run(t.dir, ["exportpolicy", `file=${file}`]);
    const doc = JSON.parse(fs.readFileSync(file, "utf8"));
    assert.equal(doc.format, "postern-ipsec-policy");
    assert.equal(doc.version, 1);
    await run(t.dir, ["delete", "all"]);
    assert.match((await ips(t.dir, "show", "all")).out, /No policies/);
    await run(t.dir, ["importpolicy", file]);
    assert.deepEqual(await snapshot(t.dir), beforeShows);
    assert.ok(beforeBytes?.equals(storeBytes(t.dir) as Buffer), "store file identical");
  });

  it("importing again merges by GUID (idempotent) and keeps objects not in the file", async () => {
    await run(t.dir, ["add", "filterlist", "name=Local only"]);
    const s1 = (await ipsJson(t.dir, "show", "all")) as PolicyStore;
    await run(t.dir, ["importpolicy", `file=${file}`]);
    const s2 = (await ipsJson(t.dir, "show", "all")) as PolicyStore;
    assert.deepEqual(s2, s1);
  });

  it("an imported object replaces the store's object with the same GUID", async () => {
    await run(t.dir, ["set", "filteraction", "name=Permit", "description=changed"]);
    await run(t.dir, ["importpolicy", `file=${file}`]);
    const s = (await ipsJson(t.dir, "show", "filteraction", "name=Permit")) as {
      filterActions: { description: string }[];
    };
    assert.equal(s.filterActions[0]?.description, "let it be");
  });

  it("an assigned policy in the file becomes the only assigned one", async () => {
    await run(t.dir, ["set", "policy", "name=Spare", "assign=yes"]);
    await run(t.dir, ["importpolicy", `file=${file}`]);
    const s = (await ipsJson(t.dir, "show", "all")) as PolicyStore;
    assert.deepEqual(
      s.policies.filter((p) => p.assigned).map((p) => p.name),
      ["Secure web"],
    );
  });

  it("refuses a name taken by another object, a corrupt file, a missing file; store unchanged", async () => {
    const other = tempHome("pis-export2");
    try {
      await run(other.dir, ["add", "filterlist", "name=Web"]);
      await refused(
        other.dir,
        ["importpolicy", `file=${file}`],
        /filter list "Web" already exists in the store with another GUID/,
        1,
      );
      const bad = path.join(other.dir, "bad.json");
      fs.writeFileSync(bad, "{ not json");
      await refused(other.dir, ["importpolicy", `file=${bad}`], /not valid JSON/, 1);
      fs.writeFileSync(bad, JSON.stringify({ format: "something else" }));
      await refused(
        other.dir,
        ["importpolicy", `file=${bad}`],
        /format: not a postern policy export/,
        1,
      );
      const doc = JSON.parse(fs.readFileSync(file, "utf8"));
      doc.filterActions[0].qmSecMethods[0] = {
        esp: { conf: "des", auth: "sha1" },
        lifetimeKb: 100000,
        lifetimeSec: 3600,
      };
      fs.writeFileSync(bad, JSON.stringify(doc));
      await refused(
        other.dir,
        ["importpolicy", `file=${bad}`],
        /filterActions\[0\]\.qmSecMethods\[0\]: .*DES is refused/,
        1,
      );
      await refused(
        other.dir,
        ["importpolicy", `file=${path.join(other.dir, "missing.json")}`],
        /cannot read/,
        1,
      );
      await refused(other.dir, ["exportpolicy", `file=${other.dir}`], /cannot write/, 1);
    } finally {
      other.cleanup();
    }
  });
});
