import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { dhGenerateFast } from "../../src/crypto/primitives.js";
import { createPskAuth } from "../../src/ike/auth.js";
import { createCertAuth } from "../../src/ike/cert-auth.js";
import { EncrId, IntegId } from "../../src/ike/constants.js";
import { selectorFromCidr, selectorText } from "../../src/ike/selectors.js";
import { transition } from "../../src/ike/state.js";
import { makeTestPki } from "./certs.js";
import { A, B, pair, settle } from "./helpers.js";

function assertMirrored(a: ReturnType<typeof pair>["a"], b: ReturnType<typeof pair>["b"]): void {
  const [ca] = a.children;
  const [cb] = b.children;
  assert.ok(ca && cb, "both sides have a child SA");
  assert.equal(ca.spiOut, cb.spiIn);
  assert.equal(ca.spiIn, cb.spiOut);
  assert.deepEqual(ca.encrKeyOut, cb.encrKeyIn);
  assert.deepEqual(ca.encrKeyIn, cb.encrKeyOut);
  assert.deepEqual(ca.integKeyOut, cb.integKeyIn);
  assert.notDeepEqual(ca.encrKeyOut, ca.encrKeyIn);
}

describe("IKEv2 engine, two in-process peers (RFC 7296)", () => {
  it("RFC 7296 §1.2: IKE_SA_INIT + IKE_AUTH with PSK, AES-GCM-16 and Curve25519 create the first child SA", async () => {
    const { a, b } = pair();
    a.engine.initiate(`to-${B}`);
    await settle();
    assert.deepEqual(a.states, ["established"]);
    assert.deepEqual(b.states, ["established"]);
    assertMirrored(a, b);
    const c = a.children[0]!;
    assert.equal(c.encrId, EncrId.AES_GCM_16);
    assert.equal(c.encrKeyBits, 128);
    assert.equal(c.encrKeyOut.length, 20, "16-byte key + 4-byte salt");
    assert.equal(c.mode, "tunnel");
    assert.equal(c.initiator, true);
    assert.equal(selectorText(c.tsLocal[0]!), `${A}/32`);
    assert.ok(a.logs.some((l) => l.includes("created -> init-sent")));
    assert.ok(a.logs.some((l) => l.includes("auth-sent -> established")));
  });

  it("RFC 7296 §3.3.2: AES-CBC-256 with HMAC-SHA2-256-128 and MODP 2048 for IKE and ESP", async () => {
    const mm = [{ conf: "aes256" as const, hash: "sha256" as const, dhGroup: 14 as const }];
    const qm = [
      {
        esp: { conf: "aes128" as const, auth: "sha256" as const },
        lifetimeKb: 1000,
        lifetimeSec: 600,
      },
    ];
    const { a, b } = pair({ mm, qm }, { mm, qm });
    a.engine.initiate(`to-${B}`);
    await settle();
    assertMirrored(a, b);
    assert.equal(a.children[0]!.encrId, EncrId.AES_CBC);
    assert.equal(a.children[0]!.integId, IntegId.HMAC_SHA2_256_128);
    assert.equal(a.children[0]!.integKeyOut.length, 32);
    assert.equal(b.children[0]!.lifetimeSec, 600);
  });

  it("RFC 7296 §2.15: a wrong PSK gives AUTHENTICATION_FAILED and one clear log line on each side", async () => {
    const { a, b } = pair({}, { auth: createPskAuth("another secret") });
    a.engine.initiate(`to-${B}`);
    await settle();
    assert.equal(a.children.length + b.children.length, 0);
    const bLines = b.logs.filter((l) => l.includes("AUTHENTICATION_FAILED"));
    assert.equal(bLines.length, 1);
    assert.match(
      bLines[0]!,
      /IKE_AUTH from 10\.0\.0\.1: AUTHENTICATION_FAILED: shared-key AUTH from 10\.0\.0\.1 does not verify: the preshared keys differ/,
    );
    assert.equal(a.logs.filter((l) => l.includes("AUTHENTICATION_FAILED")).length, 1);
    assert.deepEqual(a.states, ["closed"]);
    assert.deepEqual(a.engine.sas(), []);
    assert.deepEqual(b.engine.sas(), []);
  });

  it("RFC 7296 §2.7: NO_PROPOSAL_CHOSEN is logged with the offers of both sides", async () => {
    const { a, b } = pair({}, { mm: [{ conf: "aes256", hash: "sha384", dhGroup: 14 }] });
    a.engine.initiate(`to-${B}`);
    await settle();
    const line = b.logs.find((l) => l.includes("NO_PROPOSAL_CHOSEN"));
    assert.match(
      line ?? "",
      /peer offered \[AES_GCM_16_128\/PRF_HMAC_SHA2_256\/CURVE_25519\]; we accept \[AES_CBC_256\/PRF_HMAC_SHA2_384\/HMAC_SHA2_384_192\/MODP_2048\]/,
    );
    assert.ok(
      a.logs.some((l) =>
        /NO_PROPOSAL_CHOSEN: peer accepts none of our offers \[AES_GCM_16_128/.test(l),
      ),
    );
    assert.deepEqual(a.states, ["closed"]);
  });

  it("RFC 7296 §1.2: INVALID_KE_PAYLOAD makes the initiator retry with the responder's group", async () => {
    const { a, b } = pair(
      {
        mm: [
          { conf: "aes128gcm", hash: "sha256", dhGroup: 19 },
          { conf: "aes128gcm", hash: "sha256", dhGroup: 31 },
        ],
      },
      { mm: [{ conf: "aes128gcm", hash: "sha256", dhGroup: 31 }] },
    );
    a.engine.initiate(`to-${B}`);
    await settle();
    assert.ok(
      b.logs.some((l) => l.includes("INVALID_KE_PAYLOAD: KE is group 19, selected group 31")),
    );
    assert.ok(a.logs.some((l) => l.includes("init-sent -> init-sent")));
    assertMirrored(a, b);
  });

  it("RFC 7296 §2.6: above the half-open threshold the responder demands a COOKIE, and the initiator returns it", async () => {
    const { a, b } = pair({}, {}, { b: { cookieThreshold: 0 } });
    a.engine.initiate(`to-${B}`);
    await settle();
    assert.ok(b.logs.some((l) => l.includes("answering with a COOKIE")));
    assert.ok(a.logs.some((l) => l.includes("responder asked for a COOKIE")));
    assertMirrored(a, b);
  });

  it("RFC 7296 §2.23: NAT detection (forced) floats IKE to UDP 4500 and marks the child SA UDP-encapsulated", async () => {
    const { net, a, b } = pair({ forceEncap: true });
    const ports: number[] = [];
    net.setFilter((d) => {
      ports.push(d.remote.port);
      return d;
    });
    a.engine.initiate(`to-${B}`);
    await settle();
    assert.deepEqual(ports.slice(0, 2), [500, 500]);
    assert.ok(ports.slice(2).every((p) => p === 4500));
    assert.equal(a.children[0]!.udpEncap, true);
    assert.equal(b.children[0]!.udpEncap, true);
  });

  it("RFC 7296 §2.1: lost requests are retransmitted with backoff; a silent peer closes the SA after the bounded tries", async () => {
    const { net, clock, a, b } = pair({}, {}, { a: { retransmitBaseMs: 100, retransmitTries: 4 } });
    let lost = 0;
    net.setFilter((d) => (d.remote.address === B && d.data[18] === 35 && lost++ < 2 ? null : d));
    a.engine.initiate(`to-${B}`);
    await settle();
    assert.equal(a.children.length, 0);
    clock.advance(100);
    await settle();
    clock.advance(200);
    await settle();
    assertMirrored(a, b);
    assert.equal(a.logs.filter((l) => l.includes("retransmitting IKE_AUTH")).length, 2);

    net.setFilter(() => null);
    let sent = 0;
    net.setFilter((_d) => {
      sent++;
      return null;
    });
    a.engine.deleteIkeSa(a.engine.sas()[0]!.spis);
    for (let i = 0; i < 10; i++) {
      clock.advance(1000);
      await settle();
    }
    assert.equal(sent, 4, "exactly retransmitTries transmissions");
    assert.deepEqual(a.engine.sas(), []);
    assert.deepEqual(a.deleted, [a.children[0]!.spiIn]);
  });

  it("RFC 7296 §2.9: the responder narrows traffic selectors to its policy", async () => {
    const { a, b } = pair(
      { localTs: [selectorFromCidr("10.0.0.0/24")], remoteTs: [selectorFromCidr("10.1.0.0/16")] },
      {
        localTs: [selectorFromCidr("10.1.2.0/24", 6, 80)],
        remoteTs: [selectorFromCidr("10.0.0.5/32")],
      },
    );
    a.engine.initiate(`to-${B}`);
    await settle();
    assert.deepEqual(a.children[0]!.tsLocal.map(selectorText), ["10.0.0.5/32"]);
    assert.deepEqual(a.children[0]!.tsRemote.map(selectorText), ["10.1.2.0/24[6/80]"]);
    assert.deepEqual(b.children[0]!.tsLocal.map(selectorText), ["10.1.2.0/24[6/80]"]);
  });

  it("RFC 7296 §2.9: disjoint selectors give TS_UNACCEPTABLE, the IKE SA stays up", async () => {
    const { a, b } = pair({ remoteTs: [selectorFromCidr("10.9.0.0/16")] });
    a.engine.initiate(`to-${B}`);
    await settle();
    assert.equal(a.children.length, 0);
    assert.ok(b.logs.some((l) => l.includes("TS_UNACCEPTABLE")));
    assert.ok(a.logs.some((l) => l.includes("child SA refused by peer: TS_UNACCEPTABLE")));
    assert.deepEqual(a.states, ["established"]);
  });

  it("RFC 7296 §1.3.3: transport mode when both sides want it (USE_TRANSPORT_MODE)", async () => {
    const { a, b } = pair({ mode: "transport" }, { mode: "transport" });
    a.engine.initiate(`to-${B}`);
    await settle();
    assert.equal(a.children[0]!.mode, "transport");
    assert.equal(b.children[0]!.mode, "transport");
  });

  it("RFC 7296 §1.3.3 + §2.17: CREATE_CHILD_SA rekeys a child SA with PFS, the old one is deleted on both sides", async () => {
    const { a, b } = pair({ pfs: true }, { pfs: true });
    a.engine.initiate(`to-${B}`);
    await settle();
    const old = a.children[0]!;
    assert.equal(a.engine.rekeyChild(old.spiIn), true);
    await settle();
    assert.equal(a.children.length, 2);
    assert.equal(b.children.length, 2);
    const [na, nb] = [a.children[1]!, b.children[1]!];
    assert.equal(na.spiOut, nb.spiIn);
    assert.deepEqual(na.encrKeyOut, nb.encrKeyIn);
    assert.notDeepEqual(na.encrKeyOut, old.encrKeyOut);
    assert.equal(na.replacesSpiIn, old.spiIn);
    assert.deepEqual(a.deleted, [old.spiIn]);
    assert.deepEqual(b.deleted, [old.spiOut]);
    assert.ok(a.logs.some((l) => l.includes("with PFS group 31")));
  });

  it("RFC 7296 §3.4: a CREATE_CHILD_SA KE of the wrong length gets INVALID_SYNTAX, the SAs stay as they were", async () => {
    let calls = 0;
    // The initiator's second key pair (the rekey's PFS) sends a value one byte short.
    const shortOnRekey: typeof dhGenerateFast = (group) => {
      const k = dhGenerateFast(group);
      return ++calls === 1 ? k : { ...k, publicValue: k.publicValue.subarray(1) };
    };
    const { a, b } = pair({ pfs: true }, { pfs: true }, { dhA: shortOnRekey });
    a.engine.initiate(`to-${B}`);
    await settle();
    assert.equal(a.engine.rekeyChild(a.children[0]!.spiIn), true);
    await settle();
    assert.ok(
      b.logs.some((l) =>
        l.includes("INVALID_SYNTAX: peer's KE: DH group 31 public value is 31 bytes, not 32"),
      ),
      b.logs.join("\n"),
    );
    assert.equal(a.children.length, 1);
    assert.equal(b.children.length, 1);
    assert.deepEqual(b.deleted, []);
    assert.equal(a.engine.sas()[0]?.state, "established");
    assert.equal(b.engine.sas()[0]?.state, "established");
  });

  it("RFC 7296 §3.4: a responder's IKE_SA_INIT KE of the wrong length ends the attempt with one line", async () => {
    const short: typeof dhGenerateFast = (group) => {
      const k = dhGenerateFast(group);
      return { ...k, publicValue: k.publicValue.subarray(1) };
    };
    const { a, b } = pair({}, {}, { dhB: short });
    a.engine.initiate(`to-${B}`);
    await settle();
    assert.ok(
      a.logs.some((l) =>
        l.includes("IKE_SA_INIT: responder's KE: DH group 31 public value is 31 bytes, not 32"),
      ),
      a.logs.join("\n"),
    );
    assert.deepEqual(a.children, []);
    assert.deepEqual(b.children, []);
    assert.ok(!a.engine.sas().some((s) => s.state === "established"));
  });

  it("RFC 7296 §1.4.1: deleting the IKE SA removes it and its child SAs on both sides", async () => {
    const { a, b } = pair();
    a.engine.initiate(`to-${B}`);
    await settle();
    a.engine.deleteIkeSa(a.engine.sas()[0]!.spis);
    await settle();
    assert.deepEqual(a.engine.sas(), []);
    assert.deepEqual(b.engine.sas(), []);
    assert.deepEqual(b.deleted, [b.children[0]!.spiIn]);
    assert.deepEqual(b.states, ["established", "closed"]);
  });

  it("RFC 7296 §1.4: liveness checks close the IKE SA when the peer goes silent", async () => {
    const { net, clock, a } = pair(
      {},
      {},
      { a: { livenessMs: 1000, retransmitBaseMs: 100, retransmitTries: 3 } },
    );
    a.engine.initiate(`to-${B}`);
    await settle();
    clock.advance(1000);
    await settle();
    assert.equal(
      a.engine.sas()[0]!.state,
      "established",
      "an answered liveness check keeps the SA",
    );
    net.setFilter(() => null);
    for (let i = 0; i < 20; i++) {
      clock.advance(500);
      await settle();
    }
    assert.deepEqual(a.engine.sas(), []);
    assert.ok(a.logs.some((l) => l.includes("did not answer INFORMATIONAL")));
  });

  it("bad input: mutated and truncated IKE messages are counted drops, the SA keeps working", async () => {
    const { net, a, b } = pair();
    const captured: Buffer[] = [];
    net.setFilter((d) => {
      captured.push(Buffer.from(d.data));
      return d;
    });
    a.engine.initiate(`to-${B}`);
    await settle();
    const sa = b.engine.sas()[0]!;
    let seed = 7;
    const rnd = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    for (let i = 0; i < 400; i++) {
      const src = Buffer.from(captured[rnd(captured.length)]!);
      const m = rnd(3);
      if (m === 0) for (let k = 0; k < 3; k++) src[rnd(src.length)] = rnd(256);
      const data = m === 1 ? src.subarray(0, rnd(src.length)) : src;
      await b.engine.receive({
        data,
        local: { address: B, port: 500 },
        remote: { address: A, port: 500 },
      });
    }
    const stats = b.engine.stats();
    assert.ok(Object.values(stats).reduce((x, y) => x + y, 0) > 0);
    assert.equal(b.engine.sas().find((s) => s.spis === sa.spis)?.state, "established");
    assert.equal(a.engine.rekeyChild(a.children[0]!.spiIn), true);
    await settle();
    assert.equal(b.children.length, 2, "a rekey still works after the fuzzing");
  });

  it("SA states change only through transition(), which rejects illegal moves", () => {
    const sa = {
      state: "created" as const,
      spiI: Buffer.alloc(8, 1),
      spiR: Buffer.alloc(8),
      remote: { address: A, port: 500 },
    };
    const logs: string[] = [];
    assert.throws(
      () => transition({ ...sa }, "established", (l) => logs.push(l)),
      /illegal transition created -> established/,
    );
    const s = { ...sa } as { state: "created" | "init-sent" } & typeof sa;
    transition(s as never, "init-sent", (l) => logs.push(l));
    assert.match(logs[0]!, /0101010101010101_0000000000000000 10\.0\.0\.1: created -> init-sent/);
  });

  it("RFC 7296 §1.3.2 + §2.18: rekeying the IKE SA moves the child SAs to the new one, the old one is deleted", async () => {
    const { a, b } = pair();
    a.engine.initiate(`to-${B}`);
    await settle();
    const old = a.engine.sas()[0]!;
    assert.equal(a.engine.rekeyIkeSa(old.spis), true);
    await settle();
    const [na] = a.engine.sas();
    const [nb] = b.engine.sas();
    assert.ok(na && nb);
    assert.equal(a.engine.sas().length, 1);
    assert.equal(b.engine.sas().length, 1);
    assert.notEqual(na.spis, old.spis);
    assert.equal(na.spis, nb.spis);
    assert.deepEqual(na.children, [a.children[0]!.spiIn]);
    assert.deepEqual(a.deleted, [], "child SAs survive the IKE SA rekey");
    assert.ok(a.logs.some((l) => l.includes("established -> rekeyed")));
    // the new IKE SA works: rekey the child through it, then delete it from the responder side
    assert.equal(a.engine.rekeyChild(a.children[0]!.spiIn), true);
    await settle();
    assert.equal(b.children.length, 2);
    assert.equal(b.engine.deleteIkeSa(nb.spis), true);
    await settle();
    assert.deepEqual(a.engine.sas(), []);
  });

  it("RFC 7296 §2.8: the creator rekeys a child SA at 90 % of its lifetime, and the IKE SA at 90 % of ikeLifetimeSec", async () => {
    const qm = [
      {
        esp: { conf: "aes128gcm" as const, auth: "none" as const },
        lifetimeKb: 100_000,
        lifetimeSec: 100,
      },
    ];
    const { clock, a, b } = pair({ qm, ikeLifetimeSec: 1000 }, { qm });
    a.engine.initiate(`to-${B}`);
    await settle();
    const first = a.children[0]!;
    clock.advance(89_000);
    await settle();
    assert.equal(a.children.length, 1, "not before 90 %");
    clock.advance(1_000);
    await settle();
    assert.equal(a.children.length, 2);
    assert.equal(b.children.length, 2);
    assert.deepEqual(a.deleted, [first.spiIn]);
    assert.ok(a.logs.some((l) => l.includes("lifetime 100 s nearly over: rekeying")));
    const spis = a.engine.sas()[0]!.spis;
    for (let t = 0; t < 810; t += 10) {
      clock.advance(10_000);
      await settle();
    }
    assert.notEqual(a.engine.sas()[0]!.spis, spis, "the IKE SA was rekeyed");
    assert.ok(a.children.length > 2, "child SAs kept being rekeyed meanwhile");
    assert.equal(a.engine.sas().length, 1);
    assert.equal(b.engine.sas().length, 1);
  });

  describe("certificates (RFC 7296 §3.6-§3.8, RFC 7427 digital signatures)", () => {
    const pki = makeTestPki([A], [B]);
    after(() => pki.cleanup());
    const certAuth = (leaf: { cert: string; key: string }, root = pki.root) =>
      createCertAuth({
        certPem: pki.read(leaf.cert),
        keyPem: pki.read(leaf.key),
        rootsPem: [pki.read(root)],
        now: () => Date.now(),
      });

    it("RFC 7427 §3: an RSA initiator and an ECDSA responder authenticate with certificates from one root", async () => {
      const { a, b } = pair({ auth: certAuth(pki.rsa) }, { auth: certAuth(pki.ecdsa) });
      a.engine.initiate(`to-${B}`);
      await settle();
      assertMirrored(a, b);
      assert.ok(b.logs.some((l) => l.includes("authenticated by certificate")));
    });

    it("RFC 7296 §2.15: a certificate from an untrusted root gives AUTHENTICATION_FAILED naming it", async () => {
      const { a, b } = pair(
        { auth: certAuth(pki.untrusted, pki.otherRoot) },
        { auth: certAuth(pki.ecdsa) },
      );
      a.engine.initiate(`to-${B}`);
      await settle();
      assert.equal(a.children.length, 0);
      assert.ok(
        b.logs.some((l) =>
          /AUTHENTICATION_FAILED: certificate "CN=untrusted" is not issued by a trusted root/.test(
            l,
          ),
        ),
        b.logs.join("\n"),
      );
    });

    it("RFC 7296 §3.5: the identity must be in the certificate's subjectAltName", async () => {
      const { a, b } = pair(
        { auth: certAuth(pki.rsa), localId: "10.0.0.9" },
        { auth: certAuth(pki.ecdsa) },
      );
      a.engine.initiate(`to-${B}`);
      await settle();
      assert.equal(b.children.length, 0);
      assert.ok(b.logs.some((l) => l.includes("certificate does not name the identity 10.0.0.9")));
    });
  });
});
