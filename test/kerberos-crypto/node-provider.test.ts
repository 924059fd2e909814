/**
 * The RFC test vectors and the enctype and PAC signing suites again with POSTERN_CRYPTO=node:
 * without libcrypto's keyed contexts (src/crypto/libcrypto.ts) node:crypto does the work,
 * and every vector must come out the same. (The suites themselves run with libcrypto.)
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const suites = [
  "rfc3961.test.js",
  "rfc3962.test.js",
  "rfc8009.test.js",
  "enctypes.test.js",
  "pac-sign.test.js",
];

/** This environment with POSTERN_CRYPTO=node, minus the runner's marker (the child then prints TAP). */
function childEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, POSTERN_CRYPTO: "node" };
  delete env.NODE_TEST_CONTEXT;
  return env;
}

describe("Kerberos crypto without libcrypto (POSTERN_CRYPTO=node)", () => {
  it("RFC 3961, 3962 and 8009 vectors, the enctype and PAC signing suites pass", () => {
    const r = spawnSync(
      process.execPath,
      ["--test", "--test-reporter=tap", ...suites.map((s) => path.join(here, s))],
      { env: childEnv(), encoding: "utf8", timeout: 120_000 },
    );
    const failed = /^# fail (\d+)/m.exec(r.stdout)?.[1];
    const passed = Number(/^# pass (\d+)/m.exec(r.stdout)?.[1] ?? 0);
    assert.equal(r.status, 0, `exit ${r.status}: ${r.stdout.slice(-2000)}${r.stderr}`);
    assert.equal(failed, "0");
    assert.ok(passed > 50, `only ${passed} tests ran`);
  });
});
