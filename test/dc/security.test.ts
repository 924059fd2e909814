/**
 * The attacks of issue 14 on the DC's API, against a real DC process on loopback, each now
 * failing to do harm: a replayed or re-bodied admin request, `dump` over the network, a
 * backup outside the allowed directories, `__proto__`/`constructor` as operations, a big
 * body, a flood of failed joins, a fake DC with another certificate.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import * as tls from "node:tls";
import { after, before, describe, it } from "node:test";
import { randomBytes } from "../../src/crypto/primitives.js";
import { callAdminSocket } from "../../src/dc/admin-socket.js";
import { createSelfSigned } from "../../src/dc/api/certificate.js";
import { fingerprintOf } from "../../src/dc/api/channel.js";
import { adminSocketPath } from "../../src/dc/paths.js";
import { apiRequest, type ApiTarget } from "../../src/member/api-client.js";
import { cli, tempHome } from "../helpers/cli.js";
import {
  adminNegotiate,
  apiTarget,
  cliInit,
  type DcProcess,
  kdcPortOf,
  startDcProcess,
} from "./helpers.js";

interface AuditRow {
  actor: string;
  action: string;
  target: string;
  detail: string;
}

describe("the DC's API under attack (issue 14): replay, dump, backup paths, prototype names, big bodies, join floods", () => {
  const dcHome = tempHome("psec-dc");
  let dc: DcProcess | undefined;
  let api: ApiTarget;
  let kdcPort = 0;
  const admin = async (op: string, body: unknown, headerFor: unknown = body) => {
    const req = { method: "POST", path: `/v1/admin/${op}`, body: headerFor };
    const authorization = await adminNegotiate(kdcPort, api, req);
    return apiRequest(api, "POST", req.path, body, undefined, { authorization });
  };
  const audit = async (): Promise<AuditRow[]> =>
    JSON.parse((await cli(dcHome.dir, "--json", "domain", "audit")).out) as AuditRow[];

  before(async () => {
    await cliInit(dcHome.dir);
    dc = await startDcProcess(dcHome.dir);
    api = apiTarget(dcHome.dir, dc.apiPort);
    kdcPort = kdcPortOf(dc);
  });
  after(async () => {
    await dc?.kill9();
    dcHome.cleanup();
  });

  it("dc init made the API certificate: key 0600; the DC serves TLS with it, the pin it printed", async () => {
    assert.equal(fs.statSync(path.join(dcHome.dir, "dc", "api-key.pem")).mode & 0o777, 0o600);
    const r = await apiRequest(api, "GET", "/v1/policy", undefined);
    assert.equal(r.status, 401);
    const wrong = { ...api, fingerprint: new Uint8Array(32) };
    await assert.rejects(apiRequest(wrong, "GET", "/v1/policy", undefined), /not the pinned/);
  });

  it("an admin request's Negotiate header moved onto another body is refused (401), nothing changes; the audit names the refusal", async () => {
    const r = await admin(
      "group.add-member",
      { group: "Domain Admins", member: "Administrator" },
      { group: "Domain Users", member: "Administrator" },
    );
    assert.equal(r.status, 401, JSON.stringify(r.body));
    assert.match(String(r.body.error), /bound to another request/);
    const rows = await audit();
    assert.ok(
      rows.some(
        (a) => a.action === "api.admin" && /^refused: .*bound to another request/.test(a.detail),
      ),
      JSON.stringify(rows.slice(-3)),
    );
  });

  it("the same admin request sent twice: served once, the replay refused (401)", async () => {
    await cli(dcHome.dir, "domain", "group", "add", "replayed");
    const req = { method: "POST", path: "/v1/admin/group.show", body: { name: "replayed" } };
    const authorization = await adminNegotiate(kdcPort, api, req);
    const first = await apiRequest(api, "POST", req.path, req.body, undefined, { authorization });
    assert.equal(first.status, 200, JSON.stringify(first.body));
    assert.equal((first.body.result as { name: string }).name, "replayed");
    const again = await apiRequest(api, "POST", req.path, req.body, undefined, { authorization });
    assert.equal(again.status, 401);
    assert.match(String(again.body.error), /replay/i);
  });

  it("a token captured by a fake server (bound to its certificate) or with no bindings is refused", async () => {
    const fake = { ...api, fingerprint: randomBytes(32) };
    const req = { method: "POST", path: "/v1/admin/computer.list", body: {} };
    const captured = await adminNegotiate(kdcPort, fake, req);
    const r = await apiRequest(api, "POST", req.path, {}, undefined, { authorization: captured });
    assert.equal(r.status, 401);
    assert.match(String(r.body.error), /bound to another request or another server/);
    const unbound = await adminNegotiate(kdcPort, api, req, false);
    const u = await apiRequest(api, "POST", req.path, {}, undefined, { authorization: unbound });
    assert.equal(u.status, 401);
    assert.match(String(u.body.error), /no channel bindings/);
  });

  it("dump over the network is refused (403) and audited; the root-only admin socket still serves it", async () => {
    const r = await admin("dump", {});
    assert.equal(r.status, 403, JSON.stringify(r.body));
    assert.match(String(r.body.error), /only on the DC's local admin socket/);
    assert.doesNotMatch(JSON.stringify(r.body), /krbtgt/i);
    const rows = await audit();
    const row = [...rows].reverse().find((a) => a.action === "api.admin" && a.target === "dump");
    assert.ok(row, "an audit row for the refused dump");
    assert.match(row.actor, /^admin:Administrator \(api 127\.0\.0\.1\)$/);
    assert.match(row.detail, /^refused: /);
    const local = await callAdminSocket(adminSocketPath(dcHome.dir), {
      op: "dump",
      params: {},
      actor: "test",
    });
    assert.match(JSON.stringify(local), /krbtgt/);
    const socketRow = (await audit()).find(
      (a) => a.action === "socket.admin" && a.target === "dump",
    );
    assert.equal(socketRow?.detail, "served");
    assert.equal(socketRow?.actor, "test (admin socket)");
  });

  it("backup over the network: outside the home refused (403, nothing written); under the home written 0600", async () => {
    const outside = path.join(path.dirname(dcHome.dir), `psec-outside-${process.pid}.db`);
    const r = await admin("backup", { file: outside });
    assert.equal(r.status, 403, JSON.stringify(r.body));
    assert.match(String(r.body.error), /backups go under/);
    assert.equal(fs.existsSync(outside), false);
    const dotdot = path.join(dcHome.dir, "..", `psec-escape-${process.pid}.db`);
    assert.equal((await admin("backup", { file: dotdot })).status, 403);
    const inside = path.join(dcHome.dir, "net-backup.db");
    const ok = await admin("backup", { file: inside });
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    assert.equal(fs.statSync(inside).mode & 0o777, 0o600);
    const rows = (await audit()).filter((a) => a.action === "api.admin" && a.target === "backup");
    assert.deepEqual(
      rows.map((a) => a.detail.split(":")[0]),
      ["refused", "refused", "served"],
    );
  });

  it("__proto__, constructor and toString are no operations: 404, nothing of the server's inside shown", async () => {
    for (const op of ["__proto__", "constructor", "toString", "hasOwnProperty"]) {
      const r = await admin(op, {});
      assert.equal(r.status, 404, `${op}: ${JSON.stringify(r.body)}`);
      assert.equal(r.body.error, `no such admin operation: ${op}`);
    }
  });

  it("a body over 64 KiB gets 413 before anything is read into memory or authenticated", async () => {
    const r = await apiRequest(api, "POST", "/v1/join", { pad: "x".repeat(100 * 1024) });
    assert.equal(r.status, 413);
    assert.equal(r.body.code, "dc.too-large");
  });

  it("500 failed joins from one source: at most the burst is tried, the rest get 429 with Retry-After", async () => {
    const statuses = new Map<number, number>();
    const t0 = Date.now();
    for (let i = 0; i < 500; i++) {
      const r = await apiRequest(api, "POST", "/v1/join", {
        name: "xpclient",
        token: `pjt1.${"A".repeat(12)}.${"B".repeat(32)}`,
      });
      statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
      if (i === 499)
        assert.match(String(r.body.error), /too many .* from 127\.0\.0\.1; retry in \d+ s/);
    }
    const tried = statuses.get(403) ?? 0;
    assert.ok(tried <= 20, `token checks: ${tried}`);
    assert.equal(tried + (statuses.get(429) ?? 0), 500, JSON.stringify([...statuses]));
    console.log(
      `# 500 bad joins in ${Date.now() - t0} ms: ${tried} checked (403), ${statuses.get(429)} refused early (429)`,
    );
    const log = dc?.stderr() ?? "";
    assert.ok(!/internal error/.test(log), log.slice(-500));
  });
});

describe("a fake DC (another certificate) learns nothing from a join", () => {
  const member = tempHome("psec-member");
  after(() => member.cleanup());

  it("the member refuses its certificate before sending: the fake server reads 0 bytes of request, no token", async () => {
    const cert = createSelfSigned({
      commonName: "dc1.bigfirm.com",
      dnsNames: ["dc1.bigfirm.com"],
      ips: ["127.0.0.1"],
      now: new Date(),
      serial: randomBytes(16),
    });
    let received = 0;
    const fake = tls.createServer({ cert: cert.certPem, key: cert.keyPem }, (s) => {
      s.on("data", (d) => {
        received += d.length;
      });
      s.on("error", () => {});
    });
    await new Promise<void>((r) => fake.listen(0, "127.0.0.1", r));
    const port = (fake.address() as { port: number }).port;
    const pinned = Buffer.from(randomBytes(32)).toString("base64url");
    const r = await cli(
      member.dir,
      "join",
      "--domain",
      "bigfirm.com",
      "--dc",
      `127.0.0.1:${port}`,
      "--name",
      "xpclient",
      "--token",
      `pjt1.${"A".repeat(12)}.${"S".repeat(32)}.${pinned}`,
    );
    await new Promise((res) => setTimeout(res, 200));
    fake.close();
    assert.equal(r.code, 1);
    assert.match(r.err, /presented certificate SHA-256 .*, not the pinned .*: nothing sent/);
    assert.equal(received, 0);
    assert.equal(fs.existsSync(path.join(member.dir, "agent", "machine.json")), false);
    assert.notEqual(fingerprintOf(cert.der).length, 0);
  });

  it("join without a pin (a token without fingerprint, no --dc-fingerprint) is a usage error, exit 2", async () => {
    const r = await cli(
      member.dir,
      "join",
      "--domain",
      "bigfirm.com",
      "--dc",
      "127.0.0.1:1",
      "--name",
      "xpclient",
      "--token",
      `pjt1.${"A".repeat(12)}.${"S".repeat(32)}`,
    );
    assert.equal(r.code, 2);
    assert.match(r.err, /--dc-fingerprint/);
  });
});
