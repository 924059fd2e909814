/**
 * The pieces of the DC's API channel without a DC process: the certificate (checked by
 * OpenSSL), fingerprints and tokens, request bindings, the per-source rate limiter, the
 * versioned admin protocol, and the API's TCP limits on a server in this process.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import * as tls from "node:tls";
import { after, before, describe, it } from "node:test";
import { randomBytes } from "../../src/crypto/primitives.js";
import { createSelfSigned } from "../../src/dc/api/certificate.js";
import {
  fingerprintOf,
  formatFingerprint,
  parseFingerprint,
  requestBinding,
  splitJoinToken,
  tokenWithFingerprint,
} from "../../src/dc/api/channel.js";
import { createRateLimiter } from "../../src/dc/api/limits.js";
import { parseAdminReply, parseAdminRequest } from "../../src/dc/api/protocol.js";
import { type ApiServer, startApiServer } from "../../src/dc/api/server.js";
import type { Directory } from "../../src/dc/directory.js";
import { apiRequest } from "../../src/member/api-client.js";
import { tempHome } from "../helpers/cli.js";
import { newDirectory } from "./helpers.js";

const made = createSelfSigned({
  commonName: "dc1.bigfirm.com",
  dnsNames: ["dc1.bigfirm.com"],
  ips: ["127.0.0.1"],
  now: new Date(),
  serial: randomBytes(16),
});

describe("the DC's certificate, fingerprints and join tokens", () => {
  it("OpenSSL reads the self-signed certificate, verifies its signature and prints our fingerprint", () => {
    const home = tempHome("pcert");
    try {
      const file = path.join(home.dir, "c.pem");
      fs.writeFileSync(file, made.certPem);
      const fp = execFileSync(
        "openssl",
        ["x509", "-noout", "-fingerprint", "-sha256", "-in", file],
        {
          encoding: "utf8",
        },
      );
      assert.equal(fp.trim(), `sha256 Fingerprint=${formatFingerprint(fingerprintOf(made.der))}`);
      const text = execFileSync("openssl", ["x509", "-noout", "-text", "-in", file], {
        encoding: "utf8",
      });
      assert.match(text, /Signature Algorithm: ecdsa-with-SHA256/);
      assert.match(text, /DNS:dc1\.bigfirm\.com, IP Address:127\.0\.0\.1/);
      assert.match(text, /Subject: CN ?= ?dc1\.bigfirm\.com/);
      const verify = execFileSync("openssl", ["verify", "-CAfile", file, file], {
        encoding: "utf8",
      });
      assert.match(verify, /: OK/);
    } finally {
      home.cleanup();
    }
  });

  it("a fingerprint is read as OpenSSL prints it, as bare hex, or as the token's base64url", () => {
    const fp = fingerprintOf(made.der);
    const hex = Buffer.from(fp).toString("hex");
    for (const text of [
      formatFingerprint(fp),
      `sha256 Fingerprint=${formatFingerprint(fp)}`,
      hex,
      hex.toUpperCase(),
      Buffer.from(fp).toString("base64url"),
    ])
      assert.deepEqual(parseFingerprint(text), Buffer.from(fp), text);
    for (const bad of ["", "AB:CD", "x".repeat(64), `${hex}00`])
      assert.equal(parseFingerprint(bad), null);
  });

  it("the printed token carries the fingerprint; the DC's part is sent alone", () => {
    const fp = fingerprintOf(made.der);
    const dcToken = `pjt1.${"A".repeat(12)}.${"s".repeat(32)}`;
    const printed = tokenWithFingerprint(dcToken, fp);
    const split = splitJoinToken(printed);
    assert.equal(split.token, dcToken);
    assert.deepEqual(split.fingerprint, Buffer.from(fp));
    assert.deepEqual(splitJoinToken(dcToken), { token: dcToken });
  });

  it("a request binding changes with the certificate, the method, the path and every byte of the body", () => {
    const fp = fingerprintOf(made.der);
    const body = Buffer.from('{"group":"trusted","member":"XPCLIENT$"}');
    const base = requestBinding(fp, "POST", "/v1/admin/group.add-member", body);
    assert.equal(base.length, 16);
    const others = [
      requestBinding(randomBytes(32), "POST", "/v1/admin/group.add-member", body),
      requestBinding(fp, "GET", "/v1/admin/group.add-member", body),
      requestBinding(fp, "POST", "/v1/admin/group.remove-member", body),
      requestBinding(
        fp,
        "POST",
        "/v1/admin/group.add-member",
        Buffer.from(body.toString().replace("trusted", "Domain Admins")),
      ),
    ];
    for (const o of others) assert.notDeepEqual(o, base);
    assert.deepEqual(requestBinding(fp, "post", "/v1/admin/group.add-member", body), base);
  });
});

describe("per-source rate limits (token bucket, injected clock)", () => {
  it("a burst, then one event per refill interval; other sources unaffected", () => {
    let now = 0;
    const l = createRateLimiter({ burst: 3, perMinute: 6 }, () => now);
    for (let i = 0; i < 3; i++) {
      assert.equal(l.retryAfter("a"), 0);
      l.spend("a");
    }
    assert.equal(l.retryAfter("a"), 10);
    assert.equal(l.retryAfter("b"), 0);
    now += 10_000;
    assert.equal(l.retryAfter("a"), 0);
    l.spend("a");
    assert.ok(l.retryAfter("a") > 0);
  });

  it("memory is bounded: 100,000 sources keep at most maxSources buckets", () => {
    const l = createRateLimiter({ burst: 2, perMinute: 1, maxSources: 1000 }, () => 0);
    for (let i = 0; i < 100_000; i++) l.spend(`10.${i >> 16}.${(i >> 8) & 255}.${i & 255}`);
    assert.ok(l.sources <= 1000, String(l.sources));
  });
});

describe("the admin protocol: typed, checked on receipt, versioned", () => {
  it("a request of this version (or of none: the format before versions) is read", () => {
    assert.deepEqual(parseAdminRequest('{"op":"group.list","actor":"root"}'), {
      v: 1,
      op: "group.list",
      params: {},
      actor: "root",
    });
    const r = parseAdminRequest('{"v":1,"op":"group.add","params":{"name":"x"},"actor":"root"}');
    assert.equal(typeof r === "object" && r.params.name, "x");
  });

  it("other versions, prototype names, odd params: one line saying what is wrong", () => {
    assert.match(
      String(parseAdminRequest('{"v":2,"op":"group.list","actor":"r"}')),
      /version 2 is not spoken here \(this postern speaks 1\)/,
    );
    for (const op of ["__proto__", "", "Group.List", "a b", "a".repeat(65)])
      assert.match(String(parseAdminRequest(JSON.stringify({ op, actor: "r" }))), /'op' must name/);
    assert.match(
      String(parseAdminRequest('{"op":"group.add","actor":"r","params":[1]}')),
      /'params' must be a JSON object/,
    );
    assert.match(String(parseAdminRequest("{")), /not JSON/);
    assert.match(String(parseAdminReply('{"ok":false,"code":"x"}')), /neither/);
    assert.deepEqual(parseAdminReply('{"v":1,"ok":true}'), { v: 1, ok: true, result: null });
  });
});

describe("the API's TCP limits (a server in this process)", () => {
  const home = tempHome("plimits");
  let dir: Directory;
  let api: ApiServer;
  const target = () => ({
    host: "127.0.0.1",
    port: api.port(),
    fingerprint: fingerprintOf(made.der),
  });
  before(async () => {
    dir = newDirectory(home.dir);
    api = await startApiServer(
      {
        dir,
        authenticators: [],
        log: () => {},
        tls: made,
        admin: { home: home.dir },
        limits: { maxConnectionsPerSource: 4, idleTimeoutMs: 400, headersTimeoutMs: 1_000 },
      },
      "127.0.0.1",
      0,
    );
  });
  after(async () => {
    await api.close();
    dir.close();
    home.cleanup();
  });

  const open = () =>
    new Promise<{ sock: net.Socket; closedAt: Promise<number> }>((resolve) => {
      const sock = net.connect(api.port(), "127.0.0.1", () => resolve({ sock, closedAt }));
      const t0 = Date.now();
      const closedAt = new Promise<number>((r) => sock.once("close", () => r(Date.now() - t0)));
      sock.on("error", () => {});
    });

  it("a fifth connection from one source is closed at once; silent ones are closed after the idle timeout", async () => {
    const conns = [];
    for (let i = 0; i < 6; i++) conns.push(await open());
    const closed = await Promise.all(conns.map((c) => c.closedAt));
    for (const ms of closed.slice(4)) assert.ok(ms < 300, `refused one closed after ${ms} ms`);
    for (const ms of closed.slice(0, 4))
      assert.ok(ms >= 350 && ms < 3000, `idle one closed after ${ms} ms`);
    const r = await apiRequest(target(), "GET", "/v1/policy", undefined);
    assert.equal(r.status, 401, "served again once they are gone");
  });

  it("a slow-drip client (one header byte every 200 ms, never idle) is cut off after the headers timeout", async () => {
    const t0 = Date.now();
    const sock = tls.connect({
      host: "127.0.0.1",
      port: api.port(),
      rejectUnauthorized: false,
    });
    sock.on("error", () => {});
    await new Promise((r) => sock.once("secureConnect", r));
    sock.write("POST /v1/join HTTP/1.1\r\nHost: dc\r\n");
    const timer = setInterval(() => sock.write("X"), 200);
    const closedAfter = await new Promise<number>((r) =>
      sock.once("close", () => r(Date.now() - t0)),
    );
    clearInterval(timer);
    assert.ok(closedAfter >= 900 && closedAfter < 4_000, `closed after ${closedAfter} ms`);
  });

  it("a chunked body that grows past 64 KiB (no Content-Length) gets 413 and the connection is closed", async () => {
    const sock = tls.connect({ host: "127.0.0.1", port: api.port(), rejectUnauthorized: false });
    sock.on("error", () => {});
    await new Promise((r) => sock.once("secureConnect", r));
    let answer = "";
    sock.on("data", (d) => {
      answer += d.toString();
    });
    const closed = new Promise((r) => sock.once("close", r));
    sock.write("POST /v1/join HTTP/1.1\r\nHost: dc\r\nTransfer-Encoding: chunked\r\n\r\n");
    const chunk = `4000\r\n${"x".repeat(0x4000)}\r\n`;
    for (let i = 0; i < 8 && !sock.destroyed; i++) sock.write(chunk);
    await closed;
    assert.match(answer, /^HTTP\/1\.1 413 /);
    assert.match(answer, /request body larger than 65536 bytes/);
  });
});
