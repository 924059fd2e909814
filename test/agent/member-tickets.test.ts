/**
 * The member's tickets for IKE against the real DC (directory, KDC, DNS and API on
 * loopback, in one process), xpclient joined:
 *   - with no machine cache (a purge), a ticket asked for as IKE_SA_INIT leaves takes an AS
 *     exchange and a TGS exchange; the cache is written after the ticket is handed over,
 *     and holds both tickets with this boot recorded, as `klist --machine` shows;
 *   - a purge while those exchanges are under way cancels the write: no cache reappears
 *     with the TGT obtained before the purge.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { loadMember, type Member } from "../../src/agent/member.js";
import { addComputer } from "../../src/dc/computers.js";
import type { RunningDc } from "../../src/dc/daemon.js";
import { issueJoinToken } from "../../src/dc/tokens.js";
import { readBootId } from "../../src/member/machine-boot.js";
import { machineCcachePath } from "../../src/member/machine-keys.js";
import { startDcInProcess } from "../dc/helpers.js";
import { cli, tempHome } from "../helpers/cli.js";

const XPCLIENT = "198.18.0.30";

/** Resolves when `check` holds, polling every 20 ms for at most `ms`. */
async function until(check: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (check()) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return check();
}

describe("the member's IKE tickets: written after IKE has them, and a purge wins", () => {
  const root = tempHome("mtickets");
  let dc: RunningDc;
  let home: string;
  let member: Member;
  const log: string[] = [];

  before(async () => {
    const dcHome = path.join(root.dir, "dc1");
    fs.mkdirSync(dcHome);
    dc = await startDcInProcess(dcHome);
    addComputer(dc.dir, "test", "xpclient");
    home = path.join(root.dir, "xpclient");
    fs.mkdirSync(home);
    const { token } = issueJoinToken(dc.dir, "test", "xpclient");
    const j = await cli(
      home,
      ...["join", "--domain", "bigfirm.com", "--dc", `127.0.0.1:${dc.apiPort}`],
      ...["--name", "xpclient", "--token", token, "--dc-fingerprint", dc.apiFingerprint],
      ...["--address", XPCLIENT],
    );
    assert.equal(j.code, 0, j.err);
    // the peer is xpclient itself: its host/ principal exists in the directory
    const dns = { lookupPtr: async () => "xpclient.bigfirm.com" };
    const m = loadMember(home, dns, Date.now, readBootId, (l) => log.push(l));
    assert.ok(m);
    member = m;
  });

  after(async () => {
    await dc?.stop();
    root.cleanup();
  });

  it("after a purge: AS and TGS, then the cache holds both tickets and this boot", async () => {
    fs.rmSync(machineCcachePath(home), { force: true });
    member.forgetTickets();
    member.kerberos.prepare?.(XPCLIENT);
    const written = await until(() => {
      const k = fs.existsSync(machineCcachePath(home))
        ? fs.readFileSync(machineCcachePath(home))
        : null;
      return k?.includes("xpclient.bigfirm.com") === true;
    }, 10_000);
    assert.ok(written, `the cache was written: ${log.join("; ")}`);
    assert.ok(
      log.some((l) =>
        /^kerberos: ticket for host\/xpclient\.bigfirm\.com: AS [\d.]+ ms, TGS [\d.]+ ms$/.test(l),
      ),
      log.join("; "),
    );
    const k = await cli(home, "klist", "--machine");
    assert.equal(k.code, 0, k.err);
    assert.match(k.out, /krbtgt\/BIGFIRM\.COM@BIGFIRM\.COM/);
    assert.match(k.out, /host\/xpclient\.bigfirm\.com@BIGFIRM\.COM/);
    assert.match(k.out, /Boot check: TGT obtained in this boot/);
  });

  it("a purge while the exchanges are under way: the tickets are not written back", async () => {
    fs.rmSync(machineCcachePath(home), { force: true });
    member.forgetTickets();
    const n = log.length;
    member.kerberos.prepare?.(XPCLIENT);
    // the purge (as host-policy's purgeTickets does it) once the AS-REQ is out, before the
    // AS-REP is back (the DC answers in this process: a later turn of the loop)
    await new Promise((r) => setImmediate(r));
    fs.rmSync(machineCcachePath(home), { force: true });
    member.forgetTickets();
    const got = await until(
      () => log.slice(n).some((l) => l.startsWith("kerberos: ticket for")),
      10_000,
    );
    assert.ok(got, log.slice(n).join("; "));
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(fs.existsSync(machineCcachePath(home)), false, "no cache after the purge");
  });
});
