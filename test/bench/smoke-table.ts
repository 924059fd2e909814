/**
 * Every benchmark in bench/ in smoke mode (issue 18 item 6: benchmarks that cannot rot): the
 * smallest sizes, seconds each, no timing checked, only that the bench runs to its end and
 * prints the line that carries its result. A bench added to bench/ without a row here fails
 * smoke-light.test.ts, so none is forgotten.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { IS_ROOT } from "../helpers/cli.js";

export const BENCH_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../bench");

export interface SmokeRow {
  args: string[];
  /** Needs root (namespaces, nftables, TUN). */
  root?: true;
  /** The line that says the bench got to its result. */
  expect: RegExp;
  /**
   * Which smoke test file runs it: a few files, so the runner can overlap them, and each
   * under the runner's 300 s per file (the Samba and restart benches have one each).
   */
  file: "light" | "net" | "lab" | "lab-ad" | "restart" | "revocation" | "ike-load";
}

export const SMOKE_ROWS: Record<string, SmokeRow> = {
  agent: {
    args: ["--seconds", "1"],
    root: true,
    expect: /ratio postern \/ strongSwan: \d/,
    file: "net",
  },
  dc: {
    args: ["--computers", "50", "--groups", "10"],
    expect: /AS exchange \(TGT with PAC of nested groups\), KDC core\s+[\d.]+ us/,
    file: "light",
  },
  esp: {
    args: ["--seconds", "1"],
    root: true,
    expect: /ratio postern \/ plain veth: \d/,
    file: "net",
  },
  evaluator: { args: ["--smoke"], expect: /cost per lookup grew [\d.]+x indexed/, file: "light" },
  firewall: {
    args: ["--smoke"],
    root: true,
    expect: /ratio addBypassPeer in process \/ plain nft add element: \d/,
    file: "net",
  },
  fuzz: {
    args: ["--target", "all", "--count", "30", "--seed", "1"],
    expect: /^api\s+30\s/m,
    file: "light",
  },
  "packet-loop": {
    args: ["--rounds", "20"],
    expect: /ratio libcrypto \/ node:crypto: [\d.]+ cut\+seal/,
    file: "light",
  },
  ike: { args: ["3"], root: true, expect: /ratio postern\/strongSwan \(median\) +\d/, file: "net" },
  "ike-load": {
    args: ["--smoke"],
    root: true,
    expect: /ratio setups\/s postern Kerberos \/ charon PSK: \d/,
    file: "ike-load",
  },
  join: { args: ["3"], root: true, expect: /ratio postern \/ samba-tool: \d/, file: "lab" },
  metrics: {
    args: ["--seconds", "1", "--rounds", "1"],
    root: true,
    expect: /ratio on\/off: \d/,
    file: "net",
  },
  "kdc-core": {
    args: ["50", "1"],
    expect: /^\| 1 \| \d+ \| \d+ \| \d+ \| \d+ \|$/m,
    file: "light",
  },
  kdc: { args: ["--smoke"], expect: /TGS: rate ours\/MIT = [\d.]+/, file: "light" },
  "kdc-scaling": {
    args: ["--smoke"],
    expect: /^\| [\d-]+ \| [\d-]+ \| \d+ \| TGS \| \d+ \| \d+ \| [\d.]+ \|/m,
    file: "light",
  },
  "krb-crypto": { args: ["100", "0.05"], expect: /^18 aes256-cts-hmac-sha1-96 /m, file: "light" },
  lab: {
    args: ["3"],
    root: true,
    expect: /^page, new TGT \(AS, TGS, PTR, IKE\)\s+[\d.]+/m,
    file: "lab",
  },
  "lab-ad": {
    args: ["3"],
    root: true,
    expect: /^Samba AD 4\.17 \(lab up --dc samba\)\s+[\d.]+/m,
    file: "lab-ad",
  },
  restart: {
    args: ["1"],
    root: true,
    expect: /^old\s+\d+\s/m,
    file: "restart",
  },
  revocation: {
    args: ["3"],
    root: true,
    expect: /purge \/ immediate: [\d.]+/,
    file: "revocation",
  },
  "policy-store": { args: ["--smoke"], expect: /^\|\s+100 \|/m, file: "light" },
};

/** bench/*.ts files that are parts of a bench, not benches (no main of their own). */
const PARTS = /^(fuzz-.*|ike-vici|ike-worker|iperf|strongswan-psk|smoke)\.js$/;

/** The benches in dist/bench: every .js that is not a part. */
export function benchEntries(): string[] {
  return fs
    .readdirSync(BENCH_DIR)
    .filter((f) => f.endsWith(".js") && !PARTS.test(f))
    .map((f) => f.slice(0, -3))
    .sort();
}

/** Runs one bench in smoke mode and checks it ends well and prints its result line. */
export function runSmoke(name: string): void {
  const row = SMOKE_ROWS[name];
  assert.ok(row, `bench/${name}.ts has no smoke row in test/bench/smoke-table.ts`);
  const r = spawnSync(process.execPath, [path.join(BENCH_DIR, `${name}.js`), ...row.args], {
    encoding: "utf8",
    timeout: 280_000,
    maxBuffer: 64 * 1024 * 1024,
  });
  const tail = `${r.stdout.slice(-1500)}\n--- stderr ---\n${r.stderr.slice(-1500)}`;
  assert.equal(r.status, 0, `bench/${name} ${row.args.join(" ")} exited ${r.status}:\n${tail}`);
  assert.match(r.stdout, row.expect, `bench/${name}: no result line:\n${tail}`);
}

/** The smoke tests of one file: each bench whose row names it. */
export function describeSmoke(file: SmokeRow["file"]): void {
  describe(`bench smoke (${file})`, () => {
    for (const [name, row] of Object.entries(SMOKE_ROWS).filter(([, r]) => r.file === file)) {
      it(
        `bench/${name} ${row.args.join(" ")} runs to its result`,
        { skip: row.root && !IS_ROOT ? "skipped: needs root" : false },
        () => runSmoke(name),
      );
    }
  });
}
