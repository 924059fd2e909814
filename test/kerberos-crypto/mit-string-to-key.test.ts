/**
 * Interop: MIT Kerberos's own string-to-key (ktutil addent -password, read back with
 * klist -ekK) gives the same keys as ours for all four enctypes, with the default salt
 * (realm | principal components) and with an explicit salt.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, describe, it } from "node:test";
import { getEnctype, SUPPORTED_ENCTYPES } from "../../src/kerberos/crypto/index.js";
import { toHex } from "./load-vectors.js";

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "krbc-mit-"));
const conf = path.join(dir, "krb5.conf");
fs.writeFileSync(conf, "[libdefaults]\n  default_realm = EXAMPLE.TEST\n");

function mitKeys(password: string, salt?: string): Map<number, string> {
  const keytab = path.join(dir, `k-${Math.random().toString(36).slice(2)}.keytab`);
  const lines: string[] = [];
  for (const etype of SUPPORTED_ENCTYPES) {
    const s = salt === undefined ? "" : ` -s ${salt}`;
    lines.push(
      `addent -password -p host/node1.example.test@EXAMPLE.TEST -k 2 -e ${getEnctype(etype).name}${s}`,
      password,
    );
  }
  lines.push(`wkt ${keytab}`, "quit", "");
  const env = { ...process.env, KRB5_CONFIG: conf };
  const kt = spawnSync("ktutil", [], {
    input: lines.join("\n"),
    env,
    encoding: "utf8",
    timeout: 20000,
  });
  assert.equal(kt.status, 0, kt.stderr);
  const kl = spawnSync("klist", ["-ekK", keytab], { env, encoding: "utf8", timeout: 20000 });
  assert.equal(kl.status, 0, kl.stderr);
  const keys = new Map<number, string>();
  for (const line of kl.stdout.split("\n")) {
    const m = /\(([a-z0-9-]+)\)\s+\(0x([0-9a-f]+)\)/.exec(line);
    if (!m) continue;
    const etype = SUPPORTED_ENCTYPES.find((e) => getEnctype(e).name === m[1]);
    if (etype !== undefined) keys.set(etype, m[2]!);
  }
  return keys;
}

describe("string-to-key agrees with MIT Kerberos (ktutil, klist -ekK)", () => {
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("default salt EXAMPLE.TESThostnode1.example.test, all four enctypes", () => {
    const keys = mitKeys("Tr0ub4dor&3");
    assert.equal(keys.size, 4);
    for (const etype of SUPPORTED_ENCTYPES) {
      const ours = getEnctype(etype).stringToKey(
        "Tr0ub4dor&3",
        "EXAMPLE.TESThostnode1.example.test",
      );
      assert.equal(toHex(ours), keys.get(etype), getEnctype(etype).name);
    }
  });

  it("explicit salt (as an AD machine account's salt), all four enctypes", () => {
    const salt = "EXAMPLE.TESThostws01.example.test";
    const keys = mitKeys("correct horse battery staple", salt);
    for (const etype of SUPPORTED_ENCTYPES) {
      const ours = getEnctype(etype).stringToKey("correct horse battery staple", salt);
      assert.equal(toHex(ours), keys.get(etype), getEnctype(etype).name);
    }
  });
});
