/**
 * The firewall's two layers on an AD member (firewall/gpo-layer.ts), pure and on disk: the
 * GPOs' settings merged in order (the later GPO wins a value both set, openings accumulate
 * by port), the effective settings computed at load from the local ones and the layer, and a
 * value the GPOs stop configuring back at its local value; the setting names gpresult shows.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, it } from "node:test";
import {
  type FirewallPolicy,
  loadEffectiveIfAny,
  loadEffectiveSettings,
  mergeFirewall,
  overlayPolicy,
  policySettings,
  saveGpoLayer,
  settingsAsPolicy,
  watchedEffectiveSettings,
} from "../../src/firewall/gpo-layer.js";
import { defaultSettings, type PortOpening } from "../../src/firewall/model.js";
import { loadSettings, saveSettings, settingsFile } from "../../src/firewall/store.js";

const port = (n: number, name: string): PortOpening => ({
  protocol: "tcp",
  port: n,
  name,
  enabled: true,
  scope: "all",
  addresses: [],
});

describe("firewall layers: local settings and the GPOs' layer", () => {
  it("overlays GPOs in order: the later one wins each value both set, the rest accumulates", () => {
    const a: FirewallPolicy = {
      profiles: {
        domain: { enabled: false, portOpenings: [port(445, "A smb"), port(80, "A web")] },
      },
      logging: { droppedPackets: true, maxSizeKb: 1024 },
      bypass: ["S-1-5-21-1-2-3-515"],
    };
    const b: FirewallPolicy = {
      profiles: {
        domain: { enabled: true, portOpenings: [port(445, "B smb")], icmp: { 8: true } },
      },
      logging: { maxSizeKb: 2048 },
    };
    const m = overlayPolicy(a, b);
    assert.equal(m.profiles.domain?.enabled, true);
    assert.deepEqual(
      m.profiles.domain?.portOpenings?.map((o) => `${o.port} ${o.name}`),
      ["80 A web", "445 B smb"],
    );
    assert.deepEqual(m.profiles.domain?.icmp, { 8: true });
    assert.deepEqual(m.logging, { droppedPackets: true, maxSizeKb: 2048 });
    assert.deepEqual(m.bypass, ["S-1-5-21-1-2-3-515"], "b leaves the bypass alone");
    assert.equal(a.profiles.domain?.enabled, false, "inputs unchanged");
  });

  it("names each configured value once, in a fixed order (gpresult's rows)", () => {
    const p: FirewallPolicy = {
      profiles: {
        standard: { exceptions: false },
        domain: { enabled: true, portOpenings: [port(445, "SMB")], icmp: { 13: false, 8: true } },
      },
      logging: { connections: true },
      bypass: [],
    };
    assert.deepEqual(
      policySettings(p).map((s) => s.setting),
      [
        "domain.enabled",
        "domain.portopening.tcp/445",
        "domain.icmp.8",
        "domain.icmp.13",
        "standard.exceptions",
        "logging.connections",
        "bypass",
      ],
    );
    // full settings name the same things: a GPO's value and the effective one line up
    const names = new Set(
      policySettings(settingsAsPolicy(mergeFirewall(defaultSettings(), p))).map((s) => s.setting),
    );
    for (const s of policySettings(p)) assert.ok(names.has(s.setting), s.setting);
  });

  it("computes the effective settings at load; a value the GPOs stop setting returns to the local one", () => {
    const home = fs.mkdtempSync(path.join(os.tmpdir(), "gpo-layer-"));
    try {
      assert.equal(loadEffectiveIfAny(home), null, "nothing written: nothing to load");
      const local = defaultSettings();
      local.profiles.domain.enabled = false;
      local.profiles.domain.portOpenings = [port(22, "ssh")];
      saveSettings(home, local);

      saveGpoLayer(home, {
        profiles: { domain: { enabled: true, portOpenings: [port(445, "GPO SMB")] } },
        bypass: ["S-1-5-21-1-2-3-515"],
      });
      let eff = loadEffectiveSettings(home);
      assert.equal(eff.profiles.domain.enabled, true, "the GPO's value wins");
      assert.deepEqual(
        eff.profiles.domain.portOpenings.map((o) => o.port),
        [22, 445],
      );
      assert.deepEqual(eff.bypass, [{ sid: "S-1-5-21-1-2-3-515" }]);
      // the local layer is untouched by the GPO (nothing baked in)
      assert.equal(loadSettings(home).profiles.domain.enabled, false);
      assert.deepEqual(JSON.parse(fs.readFileSync(settingsFile(home), "utf8")), local);

      // the GPOs stop configuring EnableFirewall and the bypass: local values come back
      saveGpoLayer(home, { profiles: { domain: { portOpenings: [port(445, "GPO SMB")] } } });
      eff = loadEffectiveSettings(home);
      assert.equal(eff.profiles.domain.enabled, false);
      assert.deepEqual(eff.bypass, []);

      // no GPO configures anything: the local settings alone
      saveGpoLayer(home, null);
      assert.deepEqual(loadEffectiveSettings(home), local);
    } finally {
      fs.rmSync(home, { recursive: true, force: true });
    }
  });

  it("a layer that makes the settings invalid is refused with one line naming the file", () => {
    const home = fs.mkdtempSync(path.join(os.tmpdir(), "gpo-layer-"));
    try {
      saveGpoLayer(home, { profiles: { domain: { portOpenings: [port(70000, "bad")] } } });
      assert.throws(
        () => loadEffectiveSettings(home),
        (e: Error) =>
          /gpo\.json over the local settings/.test(e.message) && !e.message.includes("\n"),
      );
    } finally {
      fs.rmSync(home, { recursive: true, force: true });
    }
  });

  it("the agent's watched settings: read once, read again when a layer changes or is removed", () => {
    const home = fs.mkdtempSync(path.join(os.tmpdir(), "gpo-layer-"));
    try {
      const settings = watchedEffectiveSettings(home);
      assert.equal(settings(), null, "nothing written: nothing to load");
      const local = defaultSettings();
      local.profiles.domain.portOpenings = [port(22, "ssh")];
      saveSettings(home, local);
      const first = settings();
      assert.deepEqual(
        first?.profiles.domain.portOpenings.map((o) => o.port),
        [22],
      );
      assert.equal(settings(), first, "no file changed: the same object, not read again");
      saveGpoLayer(home, { profiles: {}, bypass: ["S-1-5-21-1-2-3-515"] });
      assert.deepEqual(settings()?.bypass, [{ sid: "S-1-5-21-1-2-3-515" }], "a GPO layer written");
      local.profiles.domain.portOpenings = [port(22, "ssh"), port(80, "web")];
      saveSettings(home, local);
      assert.deepEqual(
        settings()?.profiles.domain.portOpenings.map((o) => o.port),
        [22, 80],
        "the local settings changed",
      );
      saveGpoLayer(home, { profiles: { domain: { portOpenings: [port(70000, "bad")] } } });
      assert.throws(() => settings(), /gpo\.json over the local settings/);
      assert.throws(() => settings(), /gpo\.json/, "a failed load keeps nothing: read again");
      saveGpoLayer(home, null);
      assert.deepEqual(settings()?.bypass, [], "the layer removed: the local settings alone");
    } finally {
      fs.rmSync(home, { recursive: true, force: true });
    }
  });
});
