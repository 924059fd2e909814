/**
 * packaging/*.service: each unit parses (our parser; `systemd-analyze verify` too when it is
 * installed), runs `postern --home /var/lib/postern <command>` for a command the built CLI
 * knows (`<command> --help` exits 0 and lists the subcommand), and keeps the promises of
 * docs/operations.md: SIGTERM, Restart=on-failure, the capabilities each daemon needs, and
 * no ExecStop that would open the firewall.
 */
import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { posternArgv, shebangNodeOptions } from "../../src/lab/run.js";
import { runBin } from "../helpers/cli.js";
import { parseUnit, type UnitFile, value } from "./unit-file.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
const DIR = path.join(ROOT, "packaging");
const PREFIX = "/usr/bin/postern --home /var/lib/postern ";

function load(file: string): { text: string; unit: UnitFile } {
  const text = fs.readFileSync(path.join(DIR, file), "utf8");
  return { text, unit: parseUnit(text, file) };
}

const files = fs.readdirSync(DIR).filter((f) => f.endsWith(".service"));
const hasAnalyze = spawnSync("systemd-analyze", ["--version"]).status === 0;

describe("packaging: systemd units", () => {
  it("ships the DC, agent, firewall and firewall-log units", () => {
    for (const f of ["postern-dc.service", "postern-agent.service", "postern-firewall.service"])
      assert.ok(files.includes(f), `${f} missing from packaging/`);
  });

  it("postern's #! line gives node the daemons' options; the lab starts postern with the same", () => {
    const main = path.join(ROOT, "dist/src/cli/main.js");
    const first = fs.readFileSync(main, "utf8").split("\n", 1)[0] ?? "";
    // As the kernel runs "#!/usr/bin/env -S node ...": the interpreter, one argument, the file.
    const m = /^#!(\S+) (.+)$/.exec(first);
    assert.ok(m?.[1] && m[2], `main.js's first line is ${first}`);
    const help = spawnSync(m[1], [m[2], main, "--help"], { encoding: "utf8" });
    assert.equal(help.status, 0, help.stderr);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "postern-shebang-"));
    try {
      const probe = path.join(dir, "probe.cjs");
      fs.writeFileSync(probe, `${first}\nconsole.log(process.execArgv.join(" "));\n`);
      const r = spawnSync(m[1], [m[2], probe], { encoding: "utf8" });
      assert.equal(r.stdout.trim(), "--max-semi-space-size=32", r.stderr);
      fs.writeFileSync(probe, "#!/usr/bin/env node\n");
      assert.deepEqual(shebangNodeOptions(probe), []);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
    assert.deepEqual(shebangNodeOptions(main), ["--max-semi-space-size=32"]);
    assert.deepEqual(posternArgv(), [process.execPath, "--max-semi-space-size=32", main]);
  });

  it("the parser rejects a line that is neither a header nor Key=Value", () => {
    assert.throws(() => parseUnit("[Unit]\nDescription=x\nnonsense\n", "bad"), /bad:3: not a/);
    assert.throws(() => parseUnit("Description=x\n", "bad"), /before any \[Section\]/);
  });

  for (const file of files) {
    describe(file, () => {
      const { unit } = load(file);

      it("parses, with Description, ExecStart and an [Install] target", () => {
        assert.ok(value(unit, "Unit", "Description"), "no Description=");
        assert.ok(value(unit, "Service", "ExecStart"), "no ExecStart=");
        assert.equal(value(unit, "Install", "WantedBy"), "multi-user.target");
        assert.equal(value(unit, "Service", "User"), "root");
      });

      it("ExecStart runs a postern command that exists (<cmd> --help exits 0)", () => {
        const exec = value(unit, "Service", "ExecStart") ?? "";
        assert.ok(exec.startsWith(PREFIX), `ExecStart=${exec} does not start with ${PREFIX}`);
        const [command, sub] = exec.slice(PREFIX.length).split(/\s+/);
        assert.ok(command);
        const r = runBin([command, "--help"]);
        assert.equal(r.code, 0, `postern ${command} --help: ${r.err}`);
        if (sub) assert.match(r.out, new RegExp(`\\b${sub}\\b`), `${command} --help lacks ${sub}`);
      });

      it("never opens the firewall on stop (no ExecStop, no firewall remove)", () => {
        assert.equal(value(unit, "Service", "ExecStop"), undefined);
        assert.doesNotMatch(load(file).text.replace(/^#.*$/gm, ""), /firewall remove|opmode/);
      });

      it("verifies with systemd-analyze verify", {
        skip: !hasAnalyze && "no systemd-analyze",
      }, () => {
        const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "pkgunit-"));
        try {
          // verify wants an executable ExecStart: point it at node, keep everything else.
          const text = load(file).text.replaceAll("/usr/bin/postern", process.execPath);
          fs.writeFileSync(path.join(tmp, file), text);
          const r = spawnSync("systemd-analyze", ["verify", path.join(tmp, file)], {
            encoding: "utf8",
            timeout: 30_000,
          });
          assert.equal(r.status, 0, r.stderr);
          assert.equal(r.stderr.trim(), "", `warnings: ${r.stderr}`);
        } finally {
          fs.rmSync(tmp, { recursive: true, force: true });
        }
      });
    });
  }

  it("daemons stop with SIGTERM and restart on failure", () => {
    for (const f of [
      "postern-dc.service",
      "postern-agent.service",
      "postern-firewall-log.service",
    ]) {
      const { unit } = load(f);
      assert.equal(value(unit, "Service", "KillSignal"), "SIGTERM", f);
      assert.equal(value(unit, "Service", "Restart"), "on-failure", f);
    }
  });

  it("the DC and the agent are Type=notify: started only once they serve (sd_notify READY=1)", () => {
    for (const f of ["postern-dc.service", "postern-agent.service"]) {
      const { unit } = load(f);
      assert.equal(value(unit, "Service", "Type"), "notify", f);
      assert.equal(value(unit, "Service", "NotifyAccess"), "main", f);
    }
  });

  it("the DC may bind 53 and 88; the agent gets CAP_NET_ADMIN and /dev/net/tun", () => {
    const dc = load("postern-dc.service").unit;
    assert.equal(value(dc, "Service", "CapabilityBoundingSet"), "CAP_NET_BIND_SERVICE");
    const agent = load("postern-agent.service").unit;
    const caps = (value(agent, "Service", "CapabilityBoundingSet") ?? "").split(/\s+/);
    for (const c of ["CAP_NET_ADMIN", "CAP_NET_BIND_SERVICE"]) assert.ok(caps.includes(c), c);
    assert.equal(value(agent, "Service", "DeviceAllow"), "/dev/net/tun rw");
    assert.notEqual(value(agent, "Service", "PrivateDevices"), "yes");
    assert.match(value(agent, "Service", "RestrictAddressFamilies") ?? "", /AF_NETLINK/);
  });
});
