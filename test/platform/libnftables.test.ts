/**
 * nftables in process (platform/libnftables.ts, issue 18 item 1) against the kernel: the
 * same compiled scripts loaded through libnftables in one namespace and through the `nft`
 * program in another give the same ruleset (`nft -j list ruleset`, handles aside); a
 * transaction the kernel refuses changes nothing and surfaces as one nft-failed line.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { after, before, describe, it } from "node:test";
import { compileRuleset } from "../../src/firewall/compile.js";
import { commandText } from "../../src/platform/libnftables.js";
import { flushBypassScript, TABLE } from "../../src/platform/nftables.js";
import { needsRoot, uniqueName } from "../helpers/cli.js";
import { CASES, LOCAL_SUBNETS, settingsFor } from "../firewall/cases.js";

const CHILD = path.join(path.dirname(fileURLToPath(import.meta.url)), "nft-child.js");

function sh(cmd: string, args: string[], input?: string) {
  const r = spawnSync(cmd, args, { encoding: "utf8", input, timeout: 30_000 });
  return { ok: r.status === 0, out: r.stdout ?? "", err: r.stderr ?? "" };
}

/** The ruleset of a namespace as JSON objects, without handles and the metainfo line. */
function ruleset(ns: string): unknown[] {
  const r = sh("ip", ["netns", "exec", ns, "nft", "-j", "list", "ruleset"]);
  assert.ok(r.ok, r.err);
  const items = (JSON.parse(r.out) as { nftables: Record<string, Record<string, unknown>>[] })
    .nftables;
  return items
    .filter((o) => !("metainfo" in o))
    .map((o) => {
      const [kind, body] = Object.entries(o)[0] as [string, Record<string, unknown>];
      const { handle: _h, ...rest } = body;
      return { [kind]: rest };
    });
}

describe("commandText: nft ARGS as libnftables text", () => {
  it("maps -f -, -j and plain words, and leaves unknown options to the program", () => {
    assert.deepEqual(commandText(["-f", "-"], "flush ruleset\n"), {
      text: "flush ruleset\n",
      json: false,
    });
    assert.deepEqual(commandText(["-j", "list", "set", "inet", "postern", "bypass4"], undefined), {
      text: "list set inet postern bypass4",
      json: true,
    });
    assert.equal(commandText(["-a", "list", "ruleset"], undefined), null);
    assert.equal(commandText(["-j"], undefined), null);
  });
});

describe("libnftables in process against the kernel", needsRoot(), () => {
  const lib = uniqueName("nfl");
  const prog = uniqueName("nfp");
  let dir = "";

  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "postern-libnft-"));
    for (const ns of [lib, prog]) assert.ok(sh("ip", ["netns", "add", ns]).ok);
  });
  after(() => {
    for (const ns of [lib, prog]) sh("ip", ["netns", "del", ns]);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const loadLib = (script: string) => {
    const file = path.join(dir, "script.nft");
    fs.writeFileSync(file, script);
    return sh("ip", ["netns", "exec", lib, process.execPath, CHILD, file]);
  };
  const loadProgram = (script: string) =>
    sh("ip", ["netns", "exec", prog, "nft", "-f", "-"], script);

  it("every shared firewall case's compiled ruleset is the same through both paths", () => {
    let compared = 0;
    for (const c of CASES) {
      const { script } = compileRuleset({ settings: settingsFor(c), localSubnets: LOCAL_SUBNETS });
      const viaLib = loadLib(script);
      assert.equal(viaLib.out.trim(), "ok", `${c.name}: ${viaLib.out}${viaLib.err}`);
      const viaProgram = loadProgram(script);
      assert.ok(viaProgram.ok, `${c.name}: ${viaProgram.err}`);
      assert.deepEqual(ruleset(lib), ruleset(prog), c.name);
      compared++;
    }
    assert.ok(compared >= 10, `only ${compared} cases`);
    // The bypass sets fill and flush the same way.
    const elements = `add element inet ${TABLE} bypass4 { 10.31.1.2 timeout 1h }\nadd element inet ${TABLE} bypass6 { fd00:31:1::2 }\n`;
    assert.equal(loadLib(elements).out.trim(), "ok");
    assert.ok(loadProgram(elements).ok);
    const strip = (rs: unknown[]) => JSON.stringify(rs).replace(/"expires":\d+,?/g, "");
    assert.equal(strip(ruleset(lib)), strip(ruleset(prog)));
    assert.match(JSON.stringify(ruleset(lib)), /10\.31\.1\.2/);
    assert.equal(loadLib(flushBypassScript()).out.trim(), "ok");
    assert.doesNotMatch(JSON.stringify(ruleset(lib)), /10\.31\.1\.2/);
  });

  it("a kept context sees what another program changed, and a failure does not leak into the next call", () => {
    const r = sh("ip", ["netns", "exec", lib, process.execPath, CHILD, "--reuse"]);
    assert.ok(r.ok, r.out + r.err);
    const o = JSON.parse(r.out) as Record<string, string>;
    assert.doesNotMatch(o.first ?? "", /behind_our_back/);
    assert.match(o.second ?? "", /table inet behind_our_back/, "async call on a kept context");
    assert.match(o.third ?? "", /table inet behind_our_back/, "blocking call on a kept context");
    assert.match(o.failed ?? "", /No such file or directory|no_such_table/);
    assert.match(o.after ?? "", /table inet behind_our_back/);
    assert.doesNotMatch(o.after ?? "", /Error|no_such_table/);
    sh("ip", ["netns", "exec", lib, "nft", "delete", "table", "inet", "behind_our_back"]);
  });

  it("a transaction the kernel refuses changes nothing and fails with one line", () => {
    const before = ruleset(lib);
    // The chain would be new; the element exists, and `create` refuses it (EEXIST in the
    // kernel, after the chain was already in the batch).
    assert.equal(loadLib(`add element inet ${TABLE} bypass4 { 10.31.1.9 }\n`).out.trim(), "ok");
    const withNine = ruleset(lib);
    const r = loadLib(
      `add chain inet ${TABLE} extra_chain\ncreate element inet ${TABLE} bypass4 { 10.31.1.9 }\n`,
    );
    assert.notEqual(r.out.trim(), "ok");
    assert.match(r.out, /^error nft-failed: nft -f -: Error: .*File exists/);
    assert.equal(r.out.trim().split("\n").length, 1);
    assert.deepEqual(ruleset(lib), withNine);
    assert.doesNotMatch(JSON.stringify(ruleset(lib)), /extra_chain/);
    assert.notDeepEqual(before, withNine);
  });
});
