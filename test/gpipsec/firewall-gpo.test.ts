/**
 * The pure parts of `netsh firewall ... store=domain gponame=G` and of SYSVOL's GPT.INI:
 * store=/gponame= taken off a command, a command's effect on the GPO's settings (what it
 * names becomes configured, the rest stays as the GPO had it), the rewrite of Registry.pol
 * keeping other settings' records, and GPT.INI's Version.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { CliEnv } from "../../src/cmdline/env.js";
import type { PrincipalResolver } from "../../src/firewall/principals.js";
import { type FirewallPolicy, polFromFirewallPolicy } from "../../src/gpipsec/firewall-pol.js";
import { bumpMachineVersion } from "../../src/gpipsec/gpo.js";
import { dwordData, REG } from "../../src/gpipsec/registrypol.js";
import { gpoFolder, gptVersion, withGptVersion } from "../../src/gpipsec/sysvol.js";
import {
  domainTarget,
  editFirewallPolicy,
  withFirewallPolicy,
} from "../../src/netsh/firewall/domain.js";

const env = { home: "/nonexistent", cwd: "/", vars: {} } as unknown as CliEnv;
const SID = "S-1-5-21-1-2-3-515";
const resolver = (): PrincipalResolver => ({
  toSid: async (n) => (n === "Domain Computers" ? SID : n),
  toName: async () => undefined,
});
const edit = (p: FirewallPolicy, ...tokens: string[]) =>
  editFirewallPolicy(p, tokens[0] as string, tokens[1] as string, tokens.slice(2), env, resolver);

describe("netsh firewall store=domain: the GPO's settings", () => {
  it("takes store= and gponame= off the tokens; store=domain needs gponame=", () => {
    assert.deepEqual(domainTarget(["mode=enable", "store=domain", "gponame=Lab GPO"]), {
      gpo: "Lab GPO",
      rest: ["mode=enable"],
    });
    assert.deepEqual(domainTarget(["mode=enable", "STORE=local"]), {
      gpo: null,
      rest: ["mode=enable"],
    });
    assert.throws(() => domainTarget(["store=domain"]), /store=domain needs gponame=/);
    assert.throws(() => domainTarget(["gponame=X"]), /gponame= needs store=domain/);
    assert.throws(() => domainTarget(["store=elsewhere"]), /store: expected LOCAL or DOMAIN/);
  });

  it("configures what the command names, even a default value, and keeps what the GPO had", async () => {
    let p: FirewallPolicy = { profiles: { standard: { enabled: false } } };
    p = await edit(p, "set", "opmode", "mode=enable");
    // unnamed profile: the domain profile; enabled=true equals the default but is configured
    assert.deepEqual(p.profiles.domain, { enabled: true });
    assert.deepEqual(p.profiles.standard, { enabled: false });
    p = await edit(p, "set", "opmode", "mode=enable", "exceptions=disable", "profile=all");
    assert.deepEqual(p.profiles.standard, { enabled: true, exceptions: false });
    p = await edit(p, "add", "portopening", "protocol=TCP", "port=445", "name=SMB");
    p = await edit(p, "add", "portopening", "protocol=UDP", "port=500", "name=IKE");
    p = await edit(p, "delete", "portopening", "protocol=TCP", "port=445");
    assert.deepEqual(
      p.profiles.domain?.portOpenings?.map((o) => `${o.protocol}/${o.port}`),
      ["udp/500"],
    );
    assert.equal(p.profiles.standard?.portOpenings, undefined);
    p = await edit(p, "set", "icmpsetting", "type=8");
    assert.deepEqual(p.profiles.domain?.icmp, { 8: true });
    p = await edit(p, "set", "logging", "droppedpackets=enable", "filesize=1024");
    assert.deepEqual(p.logging, { droppedPackets: true, maxSizeKb: 1024 });
    p = await edit(p, "add", "bypass", "name=Domain Computers");
    assert.deepEqual(p.bypass, [SID]);
    p = await edit(p, "delete", "bypass", "name=Domain Computers");
    assert.deepEqual(p.bypass, []);
  });

  it("refuses what Registry.pol does not carry here, and bad input, with one line", async () => {
    const p: FirewallPolicy = { profiles: {} };
    for (const cmd of [
      ["set", "service", "type=fileandprint"],
      ["add", "allowedprogram", "program=/bin/sh", "name=sh"],
      ["reset", ""],
      ["set", "currentprofile", "profile=domain"],
    ])
      await assert.rejects(edit(p, ...cmd), /not a Registry\.pol setting postern writes/);
    await assert.rejects(
      edit(p, "add", "portopening", "protocol=ALL", "port=53", "name=DNS"),
      /names TCP or UDP/,
    );
    await assert.rejects(
      edit(p, "delete", "portopening", "protocol=TCP", "port=1"),
      /no port opening/,
    );
    await assert.rejects(edit(p, "set", "opmode", "mode=maybe"), /ENABLE or DISABLE/);
  });

  it("rewrites the firewall records and keeps other settings' records in place", () => {
    const other = {
      key: "Software\\Policies\\Microsoft\\Windows\\System",
      value: "DisableCMD",
      type: REG.DWORD,
      data: dwordData(1),
    };
    const old = polFromFirewallPolicy({
      profiles: { domain: { enabled: false, portOpenings: [] } },
    });
    const next: FirewallPolicy = { profiles: { domain: { enabled: true } } };
    const out = withFirewallPolicy([other, ...old], next);
    assert.deepEqual(out, [other, ...polFromFirewallPolicy(next)]);
  });
});

describe("GPT.INI", () => {
  it("reads and sets Version, keeping the other lines and the line ends", () => {
    const samba = "[General]\r\nVersion=0\r\n";
    assert.equal(gptVersion(samba), 0);
    assert.equal(withGptVersion(samba, 3), "[General]\r\nVersion=3\r\n");
    const gpmc = "[General]\r\nVersion=65538\r\ndisplayName=New Group Policy Object\r\n";
    assert.equal(gptVersion(gpmc), 65538);
    assert.equal(
      withGptVersion(gpmc, bumpMachineVersion(65538)),
      "[General]\r\nVersion=65539\r\ndisplayName=New Group Policy Object\r\n",
    );
    assert.equal(withGptVersion("[General]\n", 1), "[General]\nVersion=1\n");
    assert.equal(withGptVersion("", 1), "[General]\nVersion=1\n");
  });

  it("finds the GPO's folder below the sysvol share from gPCFileSysPath", () => {
    assert.equal(
      gpoFolder(
        "\\\\ad.example\\SysVol\\ad.example\\Policies\\{31B2F340-016D-11D2-945F-00C04FB984F9}",
      ),
      "ad.example\\Policies\\{31B2F340-016D-11D2-945F-00C04FB984F9}",
    );
    assert.throws(() => gpoFolder(""), /is not \\\\DOMAIN\\SysVol/);
  });
});
