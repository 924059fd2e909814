import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, it } from "node:test";
import { parsePeerFile } from "../../src/ike/config.js";
import { peerFromPolicy } from "../../src/ike/policy.js";
import { EncrId, IntegId, PrfId, TransformType } from "../../src/ike/constants.js";
import { childProposals, ikeProposals, selectProposal } from "../../src/ike/proposals.js";
import { narrow, selectorFromCidr, selectorText } from "../../src/ike/selectors.js";
import { cli, tempHome } from "../helpers/cli.js";

describe("IKE proposals, selectors and peer files", () => {
  it("RFC 7296 §3.3.2: model methods map to transform ids (aes256-sha384-19)", () => {
    const [p] = ikeProposals([{ conf: "aes256", hash: "sha384", dhGroup: 19 }]);
    assert.deepEqual(p!.transforms, [
      { type: TransformType.ENCR, id: EncrId.AES_CBC, keyLength: 256 },
      { type: TransformType.PRF, id: PrfId.HMAC_SHA2_384 },
      { type: TransformType.INTEG, id: IntegId.HMAC_SHA2_384_192 },
      { type: TransformType.DH, id: 19 },
    ]);
  });

  it("decision 7: legacy algorithms are refused with a message naming them", () => {
    assert.throws(
      () => ikeProposals([{ conf: "3des", hash: "sha1", dhGroup: 14 }]),
      /3DES is a legacy algorithm/,
    );
    assert.throws(
      () => ikeProposals([{ conf: "aes128", hash: "md5", dhGroup: 14 }]),
      /MD5 is a legacy algorithm/,
    );
    assert.throws(
      () => ikeProposals([{ conf: "aes128", hash: "sha1", dhGroup: 2 }]),
      /DH group 2 is a legacy algorithm/,
    );
  });

  it("RFC 7296 §2.7: selection keeps the peer's proposal number and SPI, one transform per type", () => {
    const spi = Buffer.from([1, 2, 3, 4]);
    const offered = childProposals(
      [
        { esp: { conf: "aes256", auth: "sha1" }, lifetimeKb: 1, lifetimeSec: 1 },
        { esp: { conf: "aes128gcm", auth: "none" }, lifetimeKb: 1, lifetimeSec: 1 },
      ],
      spi,
      null,
    );
    const ours = childProposals(
      [{ esp: { conf: "aes128gcm", auth: "none" }, lifetimeKb: 1, lifetimeSec: 1 }],
      Buffer.alloc(4),
      null,
    );
    const chosen = selectProposal(offered, ours);
    assert.equal(chosen?.num, 2);
    assert.deepEqual(chosen?.spi, spi);
    assert.deepEqual(chosen?.transforms.map((t) => t.type).sort(), [
      TransformType.ENCR,
      TransformType.ESN,
    ]);
  });

  it("RFC 7296 §2.9: narrowing intersects addresses, protocols and ports", () => {
    const got = narrow(
      [selectorFromCidr("10.0.0.0/8")],
      [selectorFromCidr("10.1.0.0/16", 17, 53), selectorFromCidr("192.168.0.0/16")],
    );
    assert.deepEqual(got.map(selectorText), ["10.1.0.0/16[17/53]"]);
  });

  it("a peer file with a bad method names the file and the method", () => {
    assert.throws(
      () =>
        parsePeerFile(
          JSON.stringify({
            local: "10.0.0.1",
            remote: "10.0.0.2",
            psk: "x",
            ike: ["aes128-sha256"],
          }),
          "p.json",
        ),
      /p\.json: ike method "aes128-sha256" is not conf-hash-group/,
    );
    assert.throws(() => parsePeerFile("{", "p.json"), /p\.json: not JSON/);
    assert.throws(
      () => parsePeerFile(JSON.stringify({ local: "10.0.0.1", remote: "10.0.0.2" }), "p.json"),
      /"psk" must be a non-empty string/,
    );
  });

  it("postern ike: bad input is one clear line with exit 1, usage errors exit 2", async () => {
    const home = tempHome("pik");
    try {
      const usage = await cli(home.dir, "ike", "dance");
      assert.equal(usage.code, 2);
      assert.match(usage.err, /ike: expected initiate or respond, got dance/);
      const missing = await cli(
        home.dir,
        "ike",
        "initiate",
        "--config",
        path.join(home.dir, "nope.json"),
      );
      assert.equal(missing.code, 1);
      assert.match(missing.err, /cannot read .*nope\.json: ENOENT/);
      const file = path.join(home.dir, "peer.json");
      fs.writeFileSync(
        file,
        JSON.stringify({ local: "10.0.0.1", remote: "10.0.0.2", psk: "x", esp: ["des-md5"] }),
      );
      const legacy = await cli(home.dir, "ike", "respond", "--config", file);
      assert.equal(legacy.code, 1);
      assert.equal(legacy.err.trim().split("\n").length, 1);
      assert.match(legacy.err, /DES is a legacy algorithm/);
    } finally {
      home.cleanup();
    }
  });

  it("a peer from the policy model: methods, PFS, mode, lifetime and the first usable auth method", () => {
    const now = "2026-01-01T00:00:00Z";
    const qm = [
      {
        esp: { conf: "aes256gcm" as const, auth: "none" as const },
        lifetimeKb: 1000,
        lifetimeSec: 900,
      },
    ];
    const action = {
      guid: "a",
      name: "Require",
      description: "",
      action: "negotiate" as const,
      qmPfs: true,
      inpass: false,
      soft: false,
      qmSecMethods: qm,
      lastModified: now,
    };
    const rule = {
      id: 1,
      guid: "r",
      name: "Web",
      description: "",
      filterList: "f",
      filterAction: "a",
      tunnel: null,
      connType: "all" as const,
      active: true,
      auth: [{ kind: "kerberos" as const }, { kind: "psk" as const, key: "k" }],
      lastModified: now,
    };
    const policy = {
      guid: "p",
      name: "P",
      description: "",
      mmPfs: false,
      qmPerMm: 0,
      mmLifetimeMin: 480,
      activateDefaultRule: false,
      pollingIntervalMin: 180,
      assigned: true,
      mmSecMethods: [{ conf: "aes128gcm" as const, hash: "sha256" as const, dhGroup: 19 as const }],
      rules: [rule],
      defaultRule: { active: false, qmPfs: false, qmSecMethods: [], auth: [] },
      lastModified: now,
    };
    const ts = [selectorFromCidr("10.0.0.1/32")];
    const peer = peerFromPolicy({
      name: "x",
      policy,
      rule,
      action,
      localAddress: "10.0.0.1",
      remoteAddress: "10.0.0.2",
      localTs: ts,
      remoteTs: ts,
    });
    assert.equal(
      peer.auth.name,
      "psk",
      "kerberos has no provider here, so the preshared key is used",
    );
    assert.equal(peer.mode, "transport");
    assert.equal(peer.pfs, true);
    assert.equal(peer.ikeLifetimeSec, 480 * 60);
    assert.deepEqual(peer.qm, qm);
    assert.throws(
      () =>
        peerFromPolicy({
          name: "x",
          policy,
          rule: { ...rule, auth: [{ kind: "kerberos" }] },
          action,
          localAddress: "10.0.0.1",
          remoteAddress: "10.0.0.2",
          localTs: ts,
          remoteTs: ts,
        }),
      /rule 1 \(Web\): no usable authentication method among \[kerberos\]/,
    );
    assert.throws(
      () =>
        peerFromPolicy({
          name: "x",
          policy,
          rule,
          action: { ...action, action: "permit" },
          localAddress: "10.0.0.1",
          remoteAddress: "10.0.0.2",
          localTs: ts,
          remoteTs: ts,
        }),
      /is permit, not negotiate/,
    );
  });
});
