/**
 * A join as a passive attacker on the wire sees it (issue 14: "tcpdump -A port <api> during a
 * join shows the token and the keys"): the DC runs in namespace B, the member joins from A,
 * tcpdump writes every frame on B's veth. The capture must hold the TLS exchange and not one
 * of: the token (id or secret), any key the member received (raw or base64), the join
 * answer's JSON. The member's Kerberos AS exchange after the join is in the same capture in
 * clear (its client name shows), which proves the capture sees application bytes.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { keytabWriter } from "../../src/member/machine-keys.js";
import { BIN, cli, needsRoot } from "../helpers/cli.js";
import {
  ADDR_A,
  ADDR_B,
  captureOnB,
  createHostPair,
  type HostPair,
  stopChild,
  waitOutput,
} from "../helpers/host-pair.js";
import { PASSWORD } from "./helpers.js";

const API_PORT = 9389;

describe("a join captured on the wire (namespaces, tcpdump)", needsRoot(), () => {
  let pair: HostPair | undefined;
  let pcap = "";
  let token = "";
  let memberHome = "";
  let joined = { code: -1, out: "", err: "" };

  before(async () => {
    pair = createHostPair("pjc");
    const dcHome = path.join(pair.dir, "dc1");
    memberHome = path.join(pair.dir, "xp");
    fs.mkdirSync(dcHome, { recursive: true });
    const pw = path.join(pair.dir, "pw.txt");
    fs.writeFileSync(pw, `${PASSWORD}\n`, { mode: 0o600 });
    const init = await cli(
      dcHome,
      "dc",
      "init",
      "--domain",
      "bigfirm.com",
      "--admin-password-file",
      pw,
      "--dc-name",
      "dc1",
      "--dc-address",
      ADDR_B,
    );
    assert.equal(init.code, 0, init.err);
    const dc = pair.spawnIn(pair.nsB, [
      process.execPath,
      BIN,
      "--home",
      dcHome,
      "dc",
      "start",
      "--listen",
      ADDR_B,
      "--api-port",
      String(API_PORT),
      "--dns-port",
      "0",
      "--kdc-port",
      "0",
    ]);
    assert.ok(await waitOutput(dc, "dc: ready", 20_000), "the DC started");
    const add = await cli(
      dcHome,
      "--json",
      "domain",
      "computer",
      "add",
      "xpclient",
      "--join-token",
    );
    assert.equal(add.code, 0, add.err);
    token = (JSON.parse(add.out) as { token: string }).token;
    pcap = path.join(pair.dir, "join.pcap");
    const dump = captureOnB(pair, pcap, ["--immediate-mode"]); // no 1 s buffer lost at SIGINT
    assert.ok(await waitOutput(dump, "listening on", 10_000), "tcpdump started");
    joined = pair.exec(pair.nsA, [
      process.execPath,
      BIN,
      "--home",
      memberHome,
      "join",
      "--domain",
      "bigfirm.com",
      "--dc",
      `${ADDR_B}:${API_PORT}`,
      "--name",
      "xpclient",
      "--token",
      token,
      "--address",
      ADDR_A,
    ]);
    await new Promise((r) => setTimeout(r, 300));
    await stopChild(dump);
  });
  after(() => pair?.destroy());

  it("the join succeeds over TLS, pinned by the token alone; machine.json keeps the pin", () => {
    assert.equal(joined.code, 0, joined.err);
    assert.match(joined.out, /joined bigfirm\.com as XPCLIENT\$/);
    const id = keytabWriter.read(memberHome);
    assert.ok(id);
    assert.match(id.dc.fingerprint ?? "", /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    assert.equal(
      Buffer.from(token.split(".")[3] as string, "base64url")
        .toString("hex")
        .toUpperCase(),
      id.dc.fingerprint?.replace(/:/g, ""),
      "the pin is the token's",
    );
  });

  it("the capture holds the TLS exchange and neither the token nor any key nor the join's JSON", () => {
    const wire = fs.readFileSync(pcap);
    const id = keytabWriter.read(memberHome);
    assert.ok(id);
    const [, tokenId, secret] = token.split(".") as [string, string, string];
    assert.ok(wire.length > 2000, `capture of ${wire.length} bytes`);
    assert.ok(wire.includes(Buffer.from([0x16, 0x03])), "a TLS handshake record");
    const portBytes = Buffer.from([API_PORT >> 8, API_PORT & 0xff]);
    assert.ok(wire.includes(portBytes), "traffic on the API port");
    for (const [what, needle] of [
      ["token id", tokenId],
      ["token secret", secret],
      ["pjt1", "pjt1"],
      ['"keys"', '"keys"'],
      ["domainSid", "domainSid"],
    ] as const)
      assert.equal(wire.includes(Buffer.from(needle)), false, `${what} on the wire`);
    assert.ok(id.keys.length >= 2, "AES-SHA1 keys, 17 and 18 (AD's default enctypes)");
    for (const k of id.keys) {
      assert.equal(wire.includes(Buffer.from(k.key)), false, `key etype ${k.etype} raw`);
      const b64 = Buffer.from(k.key).toString("base64");
      assert.equal(wire.includes(Buffer.from(b64)), false, `key etype ${k.etype} base64`);
    }
    assert.ok(wire.includes(Buffer.from("XPCLIENT$")), "the AS-REQ's client name, in clear");
  });
});
