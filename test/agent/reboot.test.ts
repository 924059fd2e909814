/**
 * The reboot rule against the real DC (directory, KDC, DNS and API on loopback, in one
 * process): xpclient joined, in `trusted`, its machine TGT cached; then xpclient leaves
 * `trusted` in the directory.
 *   - the agent's policy source started again in the same boot (an agent restart): the old
 *     TGT is kept, and a service ticket from it still says `trusted`;
 *   - started in another boot: the TGT is discarded with one log line, the next use gets a
 *     new one, and its PAC no longer lists `trusted`.
 * The groups are read as a server would: a service ticket for host/xpclient, accepted with
 * the member's keytab, its verified PAC.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { createHostPolicySource } from "../../src/agent/host-policy.js";
import type { CliEnv } from "../../src/cmdline/env.js";
import { randomBytes } from "../../src/crypto/primitives.js";
import { addComputer } from "../../src/dc/computers.js";
import type { RunningDc } from "../../src/dc/daemon.js";
import { addGroup, addMember, removeMember } from "../../src/dc/groups.js";
import { issueJoinToken } from "../../src/dc/tokens.js";
import { acceptApReq, createReplayCache } from "../../src/kerberos/acceptor/index.js";
import { buildApReq } from "../../src/kerberos/client/index.js";
import { readKeytabFile } from "../../src/kerberos/files/keytab.js";
import { decodeTicket } from "../../src/kerberos/messages/index.js";
import { type BootIdReader, readBootId } from "../../src/member/machine-boot.js";
import {
  keytabWriter,
  machineCcachePath,
  machineKeytabPath,
  machinePrincipal,
} from "../../src/member/machine-keys.js";
import { machineClient, machineTgt } from "../../src/member/machine-tgt.js";
import { startDcInProcess } from "../dc/helpers.js";
import { cli, tempHome } from "../helpers/cli.js";

const XPCLIENT = "198.18.0.30";

describe("reboot semantics of the machine TGT, against the real DC", () => {
  const root = tempHome("reboot");
  let dc: RunningDc;
  let home: string;
  let trustedSid: string;
  const thisBoot = readBootId();
  const otherBoot = "5e1f0c2a-0000-4000-8000-00000000b007";

  /** The agent started: its policy source created with the boot `bootId`; its log. */
  function startSource(bootId: BootIdReader): string[] {
    const log: string[] = [];
    const say = (l: string) => log.push(l);
    const env: CliEnv = {
      home,
      json: false,
      out: say,
      err: say,
      vars: {},
      isRoot: false,
      cwd: "/",
    };
    createHostPolicySource({
      env,
      ours: [XPCLIENT],
      local: XPCLIENT,
      dns: [`127.0.0.1:${dc.dnsPort}`],
      cert: null,
      key: null,
      gpRefreshMs: 0,
      log: say,
      bootId,
    });
    return log;
  }

  /** The group SIDs a server reads from xpclient's ticket (TGT as the member uses it). */
  async function groupsInTicket(bootId: BootIdReader): Promise<string[]> {
    const id = keytabWriter.read(home);
    assert.ok(id);
    const service = machinePrincipal("host/xpclient.bigfirm.com", "BIGFIRM.COM");
    const tgt = await machineTgt(home, id, false, bootId);
    const t = await machineClient(id).getServiceTicket(tgt, service);
    const ap = buildApReq({
      ticket: decodeTicket(t.ticket),
      sessionKey: { keytype: t.key.keytype, keyvalue: t.key.keyvalue },
      client: machinePrincipal("XPCLIENT$", "BIGFIRM.COM"),
      nowMs: Date.now(),
      randomBytes,
    });
    const ctx = acceptApReq(
      {
        keytab: readKeytabFile(`FILE:${machineKeytabPath(home)}`),
        now: Date.now,
        replayCache: createReplayCache({ now: Date.now }),
        service,
      },
      ap.bytes,
    );
    return ctx.pac?.identity?.groupSids ?? [];
  }

  before(async () => {
    assert.ok(thisBoot, "this host has a boot_id");
    const dcHome = path.join(root.dir, "dc1");
    fs.mkdirSync(dcHome);
    dc = await startDcInProcess(dcHome);
    trustedSid = addGroup(dc.dir, "test", "trusted").sid;
    addComputer(dc.dir, "test", "xpclient");
    addMember(dc.dir, "test", "trusted", "xpclient$");
    home = path.join(root.dir, "xpclient");
    fs.mkdirSync(home);
    const { token } = issueJoinToken(dc.dir, "test", "xpclient");
    const j = await cli(
      home,
      "join",
      "--domain",
      "bigfirm.com",
      "--dc",
      `127.0.0.1:${dc.apiPort}`,
      "--name",
      "xpclient",
      "--token",
      token,
      "--dc-fingerprint",
      dc.apiFingerprint,
      "--address",
      XPCLIENT,
    );
    assert.equal(j.code, 0, j.err);
  });

  after(async () => {
    await dc?.stop();
    root.cleanup();
  });

  it("the join's TGT is recorded with this boot, and klist --machine says so", async () => {
    assert.ok((await groupsInTicket(readBootId)).includes(trustedSid));
    const k = await cli(home, "klist", "--machine");
    assert.equal(k.code, 0, k.err);
    assert.match(k.out, /krbtgt\/BIGFIRM\.COM@BIGFIRM\.COM/);
    assert.ok(
      k.out.includes(`Boot check: TGT obtained in this boot (boot_id ${thisBoot}); kept`),
      k.out,
    );
    const json = JSON.parse((await cli(home, "--json", "klist", "--machine")).out);
    assert.deepEqual(json.boot, { state: "this-boot", recorded: thisBoot, current: thisBoot });
  });

  it("xpclient leaves trusted; the agent restarts in the same boot: the old TGT (old groups) is kept", async () => {
    removeMember(dc.dir, "test", "trusted", "xpclient$");
    const before = fs.readFileSync(machineCcachePath(home));
    const log = startSource(() => thisBoot);
    assert.doesNotMatch(log.join("\n"), /earlier boot/);
    assert.ok(
      fs.readFileSync(machineCcachePath(home)).subarray(0, 200).equals(before.subarray(0, 200)),
    );
    const groups = await groupsInTicket(() => thisBoot);
    assert.ok(groups.includes(trustedSid), `trusted still in the old ticket: ${groups}`);
  });

  it("the agent starts in another boot: the TGT is discarded, and the new one's PAC has no trusted", async () => {
    const log = startSource(() => otherBoot);
    assert.ok(
      log.includes(
        `machine TGT from an earlier boot (boot_id ${thisBoot}): discarded, a new one is requested`,
      ),
      log.join("\n"),
    );
    assert.equal(fs.existsSync(machineCcachePath(home)), false);
    const groups = await groupsInTicket(() => otherBoot);
    assert.ok(groups.length > 0, "the new ticket has a PAC with groups");
    assert.equal(groups.includes(trustedSid), false, `trusted gone: ${groups}`);
    // Seen from this (real) boot, the new TGT was recorded in "another" one.
    const k = await cli(home, "klist", "--machine");
    assert.ok(k.out.includes(`earlier boot (boot_id ${otherBoot}, now ${thisBoot})`), k.out);
  });
});
