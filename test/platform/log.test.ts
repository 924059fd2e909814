/**
 * Daemon logs: levels, the minimum level, JSON lines, and journald priorities. The DC as a
 * process: `--log-format json` gives one JSON object per stderr line with its component;
 * with JOURNAL_STREAM naming its stderr (as systemd sets it) each line carries "<6>", and a
 * fatal error "<3>", which is what `journalctl -p err` filters on.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { after, describe, it } from "node:test";
import {
  createLogger,
  formatLogLine,
  journaldStream,
  parseLogFormat,
  parseLogLevel,
} from "../../src/platform/log.js";
import { cliInit } from "../dc/helpers.js";
import { BIN, tempHome } from "../helpers/cli.js";

const AT = new Date("2026-12-06T12:00:00.000Z");

describe("daemon logs", () => {
  const home = tempHome("plog");
  after(() => home.cleanup());

  it("text keeps today's lines; json has time, level, priority, component; journald prefixes", () => {
    const o = { component: "agent", format: "text" as const, journald: false };
    assert.equal(
      formatLogLine(o, "info", "bypass: 10.0.0.1 admitted", AT),
      "agent: bypass: 10.0.0.1 admitted",
    );
    assert.equal(formatLogLine({ ...o, journald: true }, "error", "x", AT), "<3>agent: x");
    assert.equal(formatLogLine({ ...o, journald: true }, "debug", "x", AT), "<7>agent: x");
    const j = JSON.parse(formatLogLine({ ...o, format: "json" }, "warning", "a\nb", AT));
    assert.deepEqual(j, {
      time: "2026-12-06T12:00:00.000Z",
      level: "warning",
      priority: 4,
      component: "agent",
      msg: "a b",
    });
    const dc = JSON.parse(
      formatLogLine({ ...o, component: "", format: "json" }, "info", "kdc: up", AT),
    );
    assert.equal(dc.component, "kdc");
    assert.equal(dc.msg, "up");
    assert.equal(formatLogLine({ ...o, component: "" }, "info", "kdc: up", AT), "kdc: up");
  });

  it("lines below the minimum level are not written; bad --log-format/--log-level are one line", () => {
    const lines: string[] = [];
    const log = createLogger({
      component: "t",
      format: "text",
      journald: false,
      minLevel: "notice",
      write: (l) => lines.push(l),
    });
    log("info by default");
    log.debug("debug");
    log.notice("notice");
    log("warning", "warning");
    log.error("error");
    assert.deepEqual(lines, ["t: notice", "t: warning", "t: error"]);
    assert.equal(log.enabled("info"), false);
    assert.throws(() => parseLogFormat("xml"), /--log-format needs text or json, not 'xml'/);
    assert.throws(
      () => parseLogLevel("loud", "info"),
      /--log-level needs one of error, warning, notice, info, debug/,
    );
    assert.equal(journaldStream({}), false);
    assert.equal(journaldStream({ JOURNAL_STREAM: "1:2" }), false, "not our stdout's device:inode");
  });

  it("postern dc start --log-format json: one JSON object per stderr line", async () => {
    await cliInit(home.dir);
    const lines = await runDc(home.dir, ["--log-format", "json"], {});
    const parsed = lines.map(
      (l) => JSON.parse(l) as { component: string; level: string; msg: string },
    );
    assert.ok(
      parsed.some((p) => p.component === "kdc" && /^realm BIGFIRM\.COM on/.test(p.msg)),
      lines.join("\n"),
    );
    assert.ok(parsed.some((p) => p.component === "dc" && p.msg === "SIGTERM: shutting down"));
    assert.ok(parsed.every((p) => p.level === "info"));
  });

  it("under journald (JOURNAL_STREAM is stderr): <6> on each line, <3> on a fatal error", async () => {
    const lines = await runDc(home.dir, [], { journald: true });
    assert.ok(lines.length > 3);
    for (const l of lines) assert.match(l, /^<6>[a-z]+: /);
    const empty = tempHome("plog-empty");
    try {
      const failed = await runDc(empty.dir, [], { journald: true, expectFail: true });
      assert.deepEqual(failed, [
        `<3>postern: no domain in ${empty.dir}: run 'postern dc init --domain NAME' first`,
      ]);
    } finally {
      empty.cleanup();
    }
  });
});

/** `postern dc start` with stderr on a file (JOURNAL_STREAM naming it when journald); its lines. */
async function runDc(
  home: string,
  extra: string[],
  o: { journald?: boolean; expectFail?: boolean },
): Promise<string[]> {
  const file = path.join(home, `stderr-${Date.now()}.log`);
  const fd = fs.openSync(file, "w");
  const st = fs.fstatSync(fd);
  const env = { ...process.env, ...(o.journald ? { JOURNAL_STREAM: `${st.dev}:${st.ino}` } : {}) };
  const args = ["--home", home, "dc", "start", "--listen", "127.0.0.1", "--dns-port", "0"];
  args.push("--kdc-port", "0", "--api-port", "0", ...extra);
  const dc = spawn(process.execPath, [BIN, ...args], { stdio: ["ignore", "pipe", fd], env });
  fs.closeSync(fd);
  const exited = new Promise<number | null>((r) => dc.on("exit", (c) => r(c)));
  if (!o.expectFail) {
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error("DC not ready in 20 s")), 20_000);
      dc.stdout?.on("data", (c: Buffer) => {
        if (c.toString().includes("dc: ready")) {
          clearTimeout(t);
          resolve();
        }
      });
    });
    dc.kill("SIGTERM");
    assert.equal(await exited, 0);
  } else {
    assert.notEqual(await exited, 0);
  }
  return fs.readFileSync(file, "utf8").split("\n").filter(Boolean);
}
