/**
 * The DC's side of the guard (src/dc/expect.ts) on a directory: a preview writes nothing
 * (not even its audit row), shows the change in its "after" snapshot, and a commit made
 * against a revision the directory has moved past is refused with dc.conflict, unchanged.
 */
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { listAudit } from "../../src/dc/audit.js";
import {
  commitChecked,
  directoryRevision,
  getExpectations,
  previewChange,
  setExpectations,
} from "../../src/dc/expect.js";
import { createGpo, saveFirewallSettings, showGpo } from "../../src/dc/gpo.js";
import { addGroup } from "../../src/dc/groups.js";
import { newDirectory } from "../dc/helpers.js";
import { tempHome } from "../helpers/cli.js";

const home = tempHome("ptest-preview");
const dir = newDirectory(home.dir);
after(() => {
  dir.close();
  home.cleanup();
});

describe("preview and checked commit of a guarded change", () => {
  it("a preview shows the change after, and leaves GPO, audit log and revision as they were", () => {
    createGpo(dir, "t", "G");
    const rev = directoryRevision(dir);
    const audit = listAudit(dir, 1000).length;
    const p = previewChange(dir, () => saveFirewallSettings(dir, "t", "G", { marker: 1 }));
    assert.deepEqual(p.before.matrices, []);
    assert.equal(p.before.revision, rev);
    assert.deepEqual(showGpo(dir, "G").firewall, {}, "nothing written");
    assert.equal(showGpo(dir, "G").version, 1);
    assert.equal(listAudit(dir, 1000).length, audit);
    assert.equal(directoryRevision(dir), rev);
  });

  it("a failing change fails the preview with its own error", () => {
    assert.throws(
      () => previewChange(dir, () => saveFirewallSettings(dir, "t", "G", [1])),
      /firewall settings must be a JSON object/,
    );
  });

  it("a commit at the current revision is made; at a stale one, dc.conflict and nothing", () => {
    const rev = directoryRevision(dir);
    commitChecked(dir, rev, () => saveFirewallSettings(dir, "t", "G", { marker: 2 }));
    assert.deepEqual(showGpo(dir, "G").firewall, { marker: 2 });
    addGroup(dir, "t", "other", "global"); // another administrator's change
    assert.throws(
      () => commitChecked(dir, rev + 1, () => saveFirewallSettings(dir, "t", "G", { marker: 3 })),
      (e: Error & { code?: string }) =>
        e.code === "dc.conflict" &&
        /the directory changed since the policy tests ran/.test(e.message),
    );
    assert.deepEqual(showGpo(dir, "G").firewall, { marker: 2 });
  });

  it("a matrix is stored with its GPO, checked row by row, without raising the GPO's version", () => {
    const v = showGpo(dir, "G").version;
    const rows = [{ who: "trusted", server: "server1", protocol: "tcp", port: 80, must: "reach" }];
    assert.deepEqual(setExpectations(dir, "t", "G", rows), { gpo: "G", rows: 1 });
    assert.deepEqual(getExpectations(dir, "G"), rows);
    assert.equal(showGpo(dir, "G").version, v);
    assert.throws(
      () => setExpectations(dir, "t", "G", [{ ...rows[0], port: 0 }]),
      /the matrix row 1: service 'tcp\/0'/,
    );
    assert.deepEqual(getExpectations(dir, "G"), rows, "a refused matrix leaves the old one");
  });
});
