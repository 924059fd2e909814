import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseMachineAuth, signRequest, verifyMachineAuth } from "../../src/dc/api/machine-auth.js";

const key = new Uint8Array(32).fill(9);
const cred = { sam: "XPCLIENT$", kvno: 2, key };
const now = new Date("2026-01-01T12:00:00Z");
const body = Buffer.from('{"address":"198.18.0.30"}');

function check(
  header: string,
  opts: {
    key?: Uint8Array;
    path?: string;
    body?: Buffer;
    at?: Date;
    seen?: Map<string, number>;
  } = {},
) {
  const p = parseMachineAuth(header);
  assert.ok(p);
  return verifyMachineAuth(
    p,
    opts.key ?? key,
    "POST",
    opts.path ?? "/v1/dns/update",
    opts.body ?? body,
    opts.at ?? now,
    opts.seen ?? new Map(),
  );
}

describe("the join credential (PosternMachine) on the API", () => {
  it("a signed request verifies once; its replay is refused", () => {
    const h = signRequest(cred, "POST", "/v1/dns/update", body, now);
    const seen = new Map<string, number>();
    assert.equal(check(h, { seen }), null);
    assert.equal(check(h, { seen }), "replayed request");
  });

  it("a tampered request (path, body, key) fails with 'bad request signature'", () => {
    const h = signRequest(cred, "POST", "/v1/dns/update", body, now);
    assert.equal(check(h, { path: "/v1/leave" }), "bad request signature");
    assert.equal(
      check(h, { body: Buffer.from('{"address":"203.0.113.9"}') }),
      "bad request signature",
    );
    assert.equal(check(h, { key: new Uint8Array(32).fill(1) }), "bad request signature");
  });

  it("a timestamp more than 5 minutes away is refused (Kerberos' default skew)", () => {
    const h = signRequest(cred, "POST", "/v1/dns/update", body, now);
    assert.equal(
      check(h, { at: new Date(now.getTime() + 301_000) }),
      "timestamp outside the allowed clock skew",
    );
    assert.equal(check(h, { at: new Date(now.getTime() + 299_000) }), null);
  });

  it("other schemes and malformed headers do not parse", () => {
    assert.equal(parseMachineAuth("Negotiate YIIB..."), null);
    assert.equal(parseMachineAuth('PosternMachine name="X$"'), null);
  });
});
