/**
 * Domain controller directory: what the directory adds to each ticket the KDC issues, and
 * how long a join takes, with 10,000 computers and 1,000 nested groups.
 *
 *   node dist/bench/dc.js [--computers N] [--groups N]
 *
 * Setup: 1,000 global groups in a tree of fan-out 10 (depth 3), each computer a direct
 * member of 3 random groups, so each computer's expanded group list holds ~8-12 SIDs.
 * Measured, per principal: effectiveGroupRids (one recursive SQL query), PrincipalDatabase.lookup
 * by `NAME$` and by `host/fqdn` (keys + SIDs with the cached group closure of expand.ts:
 * the KDC's database cost per ticket); per join:
 * token issue + claim in the directory (two fsync'd transactions), and the whole join over
 * the API (TLS, pinned certificate) on loopback. The peer: MIT krb5kdc's ~150-180 us CPU per AS exchange, as
 * measured in /work/shared/reference/interop-notes.md; the ratio says how much of such an
 * exchange the directory lookup would take.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { randomBytes } from "../src/crypto/primitives.js";
import { createSelfSigned } from "../src/dc/api/certificate.js";
import { fingerprintOf } from "../src/dc/api/channel.js";
import { startApiServer } from "../src/dc/api/server.js";
import { addComputer } from "../src/dc/computers.js";
import { initDirectory } from "../src/dc/directory.js";
import { addGroup, addMember, effectiveGroupRids, effectiveGroups } from "../src/dc/groups.js";
import { createPrincipalDatabase } from "../src/dc/principals.js";
import { issueJoinToken, joinWithToken } from "../src/dc/tokens.js";
import { apiRequest } from "../src/member/api-client.js";
import { createKdc } from "../src/kerberos/kdc/kdc.js";
import { decodeKrbError } from "../src/kerberos/messages/index.js";
import { buildAsReq, principal } from "../test/kerberos-kdc/client.js";

const MIT_AS_EXCHANGE_US = 165;

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
}

/** Mean microseconds per call over n calls, after one untimed pass over the same n (JIT, page cache). */
function time<T>(n: number, fn: (i: number) => T, warmUp = true): number {
  if (warmUp) for (let i = 0; i < n; i++) fn(i);
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) fn(i);
  return Number(process.hrtime.bigint() - t0) / 1000 / n;
}

async function main(): Promise<void> {
  const computers = arg("computers", 10_000);
  const groups = arg("groups", 1_000);
  const home = fs.mkdtempSync(path.join(os.tmpdir(), "postern-bench-dc-"));
  try {
    const dir = initDirectory(path.join(home, "directory.db"), {
      dnsName: "bigfirm.com",
      adminPassword: "bench-password",
      dcName: "dc1",
      dcAddress: "127.0.0.1",
      actor: "bench",
    });
    let seed = 42;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const t0 = Date.now();
    dir.db.transaction(() => {
      for (let g = 0; g < groups; g++) {
        addGroup(dir, "bench", `g${g}`);
        if (g > 0) addMember(dir, "bench", `g${Math.floor((g - 1) / 10)}`, `g${g}`);
      }
      for (let c = 0; c < computers; c++) {
        addComputer(dir, "bench", `pc${c}`);
        const picked = new Set([rand(groups), rand(groups), rand(groups)]);
        for (const g of picked) addMember(dir, "bench", `g${g}`, `pc${c}$`);
      }
    })();
    const setupS = (Date.now() - t0) / 1000;
    const db = createPrincipalDatabase(dir);
    const sample = 2000;
    const names = Array.from({ length: sample }, () => `pc${rand(computers)}`);
    const avgGroups = names.reduce((s, n) => s + effectiveGroups(dir, `${n}$`).length, 0) / sample;
    const rids = names.map(
      (n) =>
        (dir.stmt("SELECT rid FROM objects WHERE sam = ?").get(`${n}$`) as { rid: number }).rid,
    );
    const effUs = time(sample, (i) => effectiveGroupRids(dir, rids[i] as number, 515));
    const samUs = time(sample, (i) => db.lookup(`${names[i]}$`, "BIGFIRM.COM"));
    const spnUs = time(sample, (i) => db.lookup(`host/${names[i]}.bigfirm.com`, "BIGFIRM.COM"));
    // Whole AS exchanges through our KDC core over this directory: each reply is a TGT whose
    // PAC carries the computer's expanded (nested) groups. Each request has its own second.
    const kdcClock = { now: Date.UTC(2026, 10, 27, 12) };
    const kdc = createKdc({
      database: db,
      realm: "BIGFIRM.COM",
      dnsDomain: "bigfirm.com",
      netbiosDomain: "BIGFIRM",
      now: () => kdcClock.now,
    });
    const asReqs = names.map((n, i) => {
      const k = db.lookup(`${n}$`, "BIGFIRM.COM")?.keys.find((x) => x.etype === 18);
      if (!k) throw new Error(`no aes256 key for ${n}$`);
      return buildAsReq({
        realm: "BIGFIRM.COM",
        cname: principal(`${n}$`),
        etypes: [18],
        key: { etype: 18, key: k.key },
        nowMs: kdcClock.now + i * 1000,
      });
    });
    const t0Kdc = Date.UTC(2026, 10, 27, 12);
    const asUs = time(sample, (i) => {
      kdcClock.now = t0Kdc + i * 1000;
      const r = kdc.handle(asReqs[i] as Uint8Array, "tcp"); // with its PAC the AS-REP exceeds UDP, as on AD
      if (!r.reply || r.reply[0] === 0x7e)
        throw new Error(
          `AS exchange ${i} failed: ${r.reply ? JSON.stringify(decodeKrbError(r.reply).errorCode) + " " + (decodeKrbError(r.reply).eText ?? "") : "dropped"}`,
        );
    });
    // Joins use computers pc0.. and the HTTP joins the next ones: both fit any --computers.
    const joins = Math.min(100, Math.floor(computers / 2));
    const joinUs = time(
      joins,
      (i) => {
        const { token } = issueJoinToken(dir, "bench", `pc${i}`);
        joinWithToken(dir, { name: `pc${i}`, token, address: "198.18.1.1" });
      },
      false,
    );
    const cert = createSelfSigned({
      commonName: "dc1.bigfirm.com",
      dnsNames: ["dc1.bigfirm.com"],
      ips: ["127.0.0.1"],
      now: new Date(),
      serial: randomBytes(16),
    });
    const api = await startApiServer(
      {
        dir,
        authenticators: [],
        log: () => {},
        tls: cert,
        admin: { home: os.tmpdir() },
        limits: { joins: { burst: 1000, perMinute: 60_000 } },
      },
      "127.0.0.1",
      0,
    );
    const target = { host: "127.0.0.1", port: api.port(), fingerprint: fingerprintOf(cert.der) };
    const httpJoins = Math.min(50, computers - joins);
    const tokens = Array.from(
      { length: httpJoins },
      (_, i) => issueJoinToken(dir, "bench", `pc${joins + i}`).token,
    );
    const h0 = process.hrtime.bigint();
    for (let i = 0; i < httpJoins; i++) {
      const r = await apiRequest(target, "POST", "/v1/join", {
        name: `pc${joins + i}`,
        token: tokens[i],
        address: "198.18.1.2",
      });
      if (r.status !== 200) throw new Error(`join failed: ${JSON.stringify(r.body)}`);
    }
    const httpUs = Number(process.hrtime.bigint() - h0) / 1000 / httpJoins;
    await api.close();
    dir.close();
    const rows: [string, string, string][] = [
      [
        "effectiveGroupRids (recursive SQL)",
        `${effUs.toFixed(1)} us`,
        `${(effUs / MIT_AS_EXCHANGE_US).toFixed(2)}`,
      ],
      [
        "PrincipalDatabase.lookup NAME$",
        `${samUs.toFixed(1)} us`,
        `${(samUs / MIT_AS_EXCHANGE_US).toFixed(2)}`,
      ],
      [
        "PrincipalDatabase.lookup host/fqdn",
        `${spnUs.toFixed(1)} us`,
        `${(spnUs / MIT_AS_EXCHANGE_US).toFixed(2)}`,
      ],
      [
        "AS exchange (TGT with PAC of nested groups), KDC core",
        `${asUs.toFixed(1)} us`,
        `${(asUs / MIT_AS_EXCHANGE_US).toFixed(2)}`,
      ],
      ["join in the directory (token + claim)", `${(joinUs / 1000).toFixed(2)} ms`, "-"],
      ["join over the API (TLS, loopback)", `${(httpUs / 1000).toFixed(2)} ms`, "-"],
    ];
    console.log(
      `directory: ${computers} computers, ${groups} nested groups, ${avgGroups.toFixed(1)} group SIDs per computer on average; setup ${setupS.toFixed(1)} s`,
    );
    console.log(
      `peer: MIT krb5kdc ~${MIT_AS_EXCHANGE_US} us CPU per AS exchange (reference/interop-notes.md)\n`,
    );
    const w = Math.max(...rows.map((r) => r[0].length));
    console.log(`${"operation".padEnd(w)}  ${"per op".padStart(10)}  ratio to MIT AS exchange`);
    for (const [a, b, c] of rows) console.log(`${a.padEnd(w)}  ${b.padStart(10)}  ${c}`);
  } finally {
    fs.rmSync(home, { recursive: true, force: true });
  }
}

await main();
