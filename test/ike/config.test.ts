import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, it } from "node:test";
import { parsePeerFile } from "../../src/ike/config.js";
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
});
