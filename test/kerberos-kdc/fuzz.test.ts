/**
 * Malformed and mutated requests (issue 4 item 9, KDC side): real MIT messages (the codec's
 * fixtures) and our own valid AS-REQ/TGS-REQ, mutated (bit flips, byte sets, truncations,
 * insertions, deletions), go through the KDC core. Each gets a KRB-ERROR (or, valid after
 * all, a reply) or a counted drop; the core never throws and never fails internally.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { KeyUsage } from "../../src/kerberos/crypto/index.js";
import { decodeKrbMessage, KRB_ERROR_CODE as E } from "../../src/kerberos/messages/index.js";
import { fixtureBytes, loadFixtures } from "../kerberos-codec/fixtures.js";
import {
  buildAsReq,
  buildTgsReq,
  expectCreds,
  expectError,
  principal,
  readReply,
} from "./client.js";
import { mutate, rng } from "./mutate.js";
import { createTestRealm, REALM, T0 } from "./realm.js";

describe("malformed requests (RFC 4120 §5.10, issue 4 item 9)", () => {
  const realm = createTestRealm();
  const aliceKey = { etype: 18, key: realm.key("alice", "alice-pw", 18) };
  const asReq = buildAsReq({
    realm: REALM,
    cname: principal("alice"),
    etypes: [18],
    key: aliceKey,
    nowMs: T0,
  });
  const tgt = expectCreds(
    readReply(realm.kdc.handle(asReq, "tcp").reply!, aliceKey, KeyUsage.AS_REP_ENC_PART),
  );
  const tgsReq = buildTgsReq({
    realm: REALM,
    tgt,
    cname: principal("alice"),
    sname: principal("host", "server1.pkd.test"),
    etypes: [18],
    nowMs: T0,
  });
  const seeds = [asReq, tgsReq, ...loadFixtures().map(fixtureBytes)];

  it("garbage is dropped and counted; a truncated AS-REQ is KRB_ERR_GENERIC; an AP-REQ is KRB_AP_ERR_MSG_TYPE", () => {
    const r = createTestRealm();
    assert.equal(r.kdc.handle(Uint8Array.of(1, 2, 3), "udp").drop, "not-kerberos");
    assert.equal(r.kdc.handle(new Uint8Array(0), "udp").drop, "not-kerberos");
    assert.equal(
      expectError(r.kdc.handle(asReq.subarray(0, 40), "udp").reply!).errorCode,
      E.KRB_ERR_GENERIC,
    );
    const apReq = loadFixtures().find((f) => f.type === "AP-REQ");
    if (apReq)
      assert.equal(
        expectError(r.kdc.handle(fixtureBytes(apReq), "udp").reply!).errorCode,
        E.KRB_AP_ERR_MSG_TYPE,
      );
    const c = r.kdc.counters();
    assert.equal(c.drops["not-kerberos"], 2);
    assert.equal(c.errors.KRB_ERR_GENERIC, 1);
  });

  it("6,000 mutations of real MIT messages and our own requests: a KRB message or a counted drop, never a throw", () => {
    const r = rng(0x5eed);
    let replies = 0;
    let drops = 0;
    for (let i = 0; i < 6000; i++) {
      const input = mutate(seeds[i % seeds.length]!, r);
      const out = realm.kdc.handle(input, i % 2 ? "udp" : "tcp");
      if (out.reply) {
        const m = decodeKrbMessage(out.reply);
        assert.ok(["KRB-ERROR", "AS-REP", "TGS-REP"].includes(m.type), m.type);
        replies++;
      } else {
        assert.ok(out.drop);
        drops++;
      }
    }
    const c = realm.kdc.counters();
    assert.equal(c.drops.internal ?? 0, 0, "no internal failure");
    assert.ok(replies > 1000 && drops > 0, `replies ${replies} drops ${drops}`);
  });
});
