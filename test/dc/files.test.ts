/**
 * Issue 14: the DC's files. Under umask 022, `dc backup` (online through the running DC,
 * and offline) writes 0600 files, the directory and its -wal/-shm are 0600, a restore from
 * a 0644 copy gives a 0600 directory. A stale `dc.pid` naming a live unrelated process no
 * longer keeps the DC down, while a live DC's pid file still refuses a second one.
 * `dc start --limits FILE` takes effect, and a bad file is one line.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { parseDcLimits } from "../../src/dc/limits.js";
import { processStartTime } from "../../src/platform/pidfile.js";
import { cli, tempHome } from "../helpers/cli.js";
import { cliInit, type DcProcess, startDcProcess } from "./helpers.js";

const mode = (f: string) => (fs.statSync(f).mode & 0o777).toString(8);
const pidFile = (home: string) => path.join(home, "dc", "dc.pid");

describe("the DC's files under umask 022: backups and the directory are 0600", () => {
  const home = tempHome("pdk-files");
  let dc: DcProcess | undefined;
  let old = 0;
  before(async () => {
    old = process.umask(0o022);
    await cliInit(home.dir);
  });
  after(async () => {
    await dc?.kill9();
    process.umask(old);
    home.cleanup();
  });

  it("dc init: directory.db is 0600", () => {
    assert.equal(mode(path.join(home.dir, "dc", "directory.db")), "600");
  });

  it("dc backup with the DC stopped: the file is 0600", async () => {
    const file = path.join(home.dir, "offline.db");
    const r = await cli(home.dir, "dc", "backup", file);
    assert.equal(r.code, 0, r.err);
    assert.equal(mode(file), "600");
  });

  it("dc backup through the running DC: 0600; the live -wal and -shm are 0600 too", async () => {
    dc = await startDcProcess(home.dir);
    const r0 = await cli(home.dir, "domain", "group", "add", "g1");
    assert.equal(r0.code, 0, r0.err);
    const file = path.join(home.dir, "online.db");
    const r = await cli(home.dir, "dc", "backup", file);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /online, from the running DC/);
    assert.equal(mode(file), "600");
    for (const f of ["directory.db-wal", "directory.db-shm"]) {
      const p = path.join(home.dir, "dc", f);
      if (fs.existsSync(p)) assert.equal(mode(p), "600", f);
    }
    assert.equal(await dc.stop(), 0);
    dc = undefined;
  });

  it("dc backup never writes over an existing file", async () => {
    const file = path.join(home.dir, "exists.db");
    fs.writeFileSync(file, "keep me", { mode: 0o644 });
    const r = await cli(home.dir, "dc", "backup", file);
    assert.equal(r.code, 1);
    assert.equal(fs.readFileSync(file, "utf8"), "keep me");
  });

  it("dc restore from a 0644 copy: the directory is 0600", async () => {
    const copy = path.join(home.dir, "copy.db");
    fs.copyFileSync(path.join(home.dir, "offline.db"), copy);
    fs.chmodSync(copy, 0o644);
    const r = await cli(home.dir, "dc", "restore", copy);
    assert.equal(r.code, 0, r.err);
    assert.equal(mode(path.join(home.dir, "dc", "directory.db")), "600");
  });
});

describe("dc.pid names a process by pid and start time", () => {
  const home = tempHome("pdk-pid");
  let dc: DcProcess | undefined;
  let other: ChildProcess | undefined;
  before(async () => {
    await cliInit(home.dir);
    other = spawn("sleep", ["60"], { stdio: "ignore" });
  });
  after(async () => {
    await dc?.kill9();
    if (other?.exitCode === null) other.kill("SIGKILL");
    home.cleanup();
  });

  it("a stale dc.pid with a live unrelated pid (old format: the pid alone) does not keep the DC down", async () => {
    fs.writeFileSync(pidFile(home.dir), `${other?.pid}\n`);
    dc = await startDcProcess(home.dir);
    const [pid, start] = fs.readFileSync(pidFile(home.dir), "utf8").trim().split(" ");
    assert.equal(Number(pid), dc.pid);
    assert.equal(start, processStartTime(dc.pid));
    const code = await dc.stop();
    assert.equal(code, 0, `${dc.proc.signalCode}: ${dc.stderr()}`);
    dc = undefined;
    assert.equal(fs.existsSync(pidFile(home.dir)), false);
  });

  it("a dc.pid with a live pid but another start time (the pid reused) does not keep the DC down", async () => {
    const pid = other?.pid as number;
    const start = Number(processStartTime(pid)) + 1;
    fs.writeFileSync(pidFile(home.dir), `${pid} ${start}\n`);
    dc = await startDcProcess(home.dir);
    assert.ok(dc.pid > 0);
  });

  it("a running DC's pid file still refuses a second DC on the home, naming its pid", async () => {
    const r = await cli(home.dir, "dc", "start", "--listen", "127.0.0.1", "--dns-port", "0");
    assert.equal(r.code, 1);
    assert.match(r.err, new RegExp(`already running on this home \\(pid ${dc?.pid}\\)`));
    const code = await dc?.stop();
    assert.equal(code, 0, dc?.stderr());
    dc = undefined;
  });
});

describe("dc start --limits FILE", () => {
  const home = tempHome("pdk-limits");
  let dc: DcProcess | undefined;
  before(async () => {
    await cliInit(home.dir);
  });
  after(async () => {
    await dc?.kill9();
    home.cleanup();
  });

  it("a bad file is one line naming the key, exit 1", async () => {
    for (const [text, want] of [
      ["{", /not JSON/],
      ['{"kdc":{"tcp":{"maxConections":5}}}', /unknown key kdc\.tcp\.maxConections/],
      ['{"dns":{"maxUdpAmplification":0}}', /dns\.maxUdpAmplification must be an integer/],
      ['{"ldap":{}}', /unknown key ldap/],
    ] as const) {
      const f = path.join(home.dir, "bad.json");
      fs.writeFileSync(f, text);
      const r = await cli(home.dir, "dc", "start", "--listen", "127.0.0.1", "--limits", f);
      assert.equal(r.code, 1, r.err);
      assert.match(r.err, want);
      assert.equal(r.err.trim().split("\n").length, 1, r.err);
    }
    assert.deepEqual(parseDcLimits("x", '{"kdc":{"tcp":{"idleTimeoutMs":500}}}'), {
      kdc: { tcp: { idleTimeoutMs: 500 } },
    });
  });

  it("the KDC's idle timeout from the file closes a silent TCP connection in ~0.5 s (default 10 s)", async () => {
    const f = path.join(home.dir, "limits.json");
    fs.writeFileSync(f, JSON.stringify({ kdc: { tcp: { idleTimeoutMs: 500 } } }));
    dc = await startDcProcess(home.dir, 0, 20_000, ["--limits", f]);
    const m = /kdc: realm \S+ on 127\.0\.0\.1:(\d+)/.exec(dc.stderr());
    assert.ok(m, dc.stderr());
    const t0 = Date.now();
    const ms = await new Promise<number>((resolve) => {
      const s = net.connect(Number(m[1]), "127.0.0.1");
      s.on("error", () => undefined);
      s.resume();
      const timer = setTimeout(() => s.destroy(), 5000);
      s.on("close", () => {
        clearTimeout(timer);
        resolve(Date.now() - t0);
      });
    });
    assert.ok(ms >= 400 && ms < 3000, `closed after ${ms} ms`);
  });
});
