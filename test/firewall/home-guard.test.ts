/**
 * The --home guard (issue 19): as root, a settings command under a home that is not the
 * host's (/var/lib/postern) and without POSTERN_NETNS saves the settings and loads nothing,
 * as `gpupdate` does; `postern firewall apply|remove|peer` refuse such a home unless
 * `--host` says the host's kernel is meant. Run inside a namespace the test made, so even
 * a broken guard could only touch that namespace's rules.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { after, before, describe, it } from "node:test";
import { BIN, needsRoot, tempHome, uniqueName } from "../helpers/cli.js";
import { sh } from "./netns.js";

describe("--home guard: a temporary home never loads rules by accident", needsRoot(), () => {
  let ns: string;
  let home: { dir: string; cleanup: () => void };
  const env = { ...process.env };
  delete env.POSTERN_NETNS;
  delete env.POSTERN_HOME;
  /** `postern --home HOME ARGS` as root inside the namespace, POSTERN_NETNS unset. */
  const bin = (...args: string[]) => {
    const r = spawnSync(
      "ip",
      ["netns", "exec", ns, process.execPath, BIN, "--home", home.dir, ...args],
      { encoding: "utf8", env, timeout: 60_000 },
    );
    return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
  };
  const tables = () => sh(["ip", "netns", "exec", ns, "nft", "list", "tables"]);
  before(() => {
    ns = uniqueName("phg");
    sh(["ip", "netns", "add", ns]);
    home = tempHome("phg");
  });
  after(() => {
    if (ns) sh(["ip", "netns", "del", ns]);
    home?.cleanup();
  });

  it("netsh firewall set under a temporary home saves, says why nothing was loaded", () => {
    const r = bin("netsh", "firewall", "add", "portopening", "TCP", "80", "Web");
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /saved but not loaded: .* is not the host's home \(\/var\/lib\/postern\)/);
    assert.match(r.out, /POSTERN_NETNS=NS/);
    assert.doesNotMatch(tables(), /postern/);
  });

  it("firewall apply refuses such a home in one line (exit 1); --host loads it", () => {
    const r = bin("firewall", "apply");
    assert.equal(r.code, 1);
    assert.match(r.err, /firewall apply: .* is not the host's home: .*add --host/);
    assert.equal(r.err.trim().split("\n").length, 1, r.err);
    assert.doesNotMatch(tables(), /postern/);
    const forced = bin("firewall", "apply", "--host");
    assert.equal(forced.code, 0, forced.err);
    assert.match(tables(), /table inet postern/);
    assert.equal(bin("firewall", "peer", "add", "192.0.2.9").code, 1);
    assert.equal(bin("firewall", "peer", "add", "192.0.2.9", "--host").code, 0);
    assert.equal(bin("firewall", "remove").code, 1);
    assert.equal(bin("firewall", "remove", "--host").code, 0);
    assert.doesNotMatch(tables(), /postern/);
  });
});
