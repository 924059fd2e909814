/**
 * Registry.pol ([MS-GPREG] 2.2.1) and the Windows Firewall settings in it: the byte layout
 * of a record, a round trip of every XP SP2 firewall setting and the IPsec bypass SDDL,
 * Windows' merge rule (the GPO's value wins, what it leaves alone stays local), one-line
 * refusals and a bounded mutation fuzz.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { defaultSettings } from "../../src/firewall/model.js";
import {
  BYPASS_KEY,
  FIREWALL_KEY,
  type FirewallPolicy,
  firewallPolicyFromPol,
  mergeFirewall,
  parsePortEntry,
  polFromFirewallPolicy,
} from "../../src/gpipsec/firewall-pol.js";
import {
  dwordData,
  formatRegistryPol,
  parseRegistryPol,
  REG,
  RegistryPolError,
} from "../../src/gpipsec/registrypol.js";

const SID = "S-1-5-21-1004336348-1177238915-682003330-1105";

describe("Registry.pol: [MS-GPREG] records and the Windows Firewall settings", () => {
  it("lays a record out as PReg, version 1, then [key;value;type;size;data] in UTF-16LE", () => {
    const b = formatRegistryPol([{ key: "K", value: "V", type: REG.DWORD, data: dwordData(1) }]);
    assert.equal(
      b.toString("hex"),
      // PReg, 1, '[' K NUL ';' V NUL ';' 4 ';' 4 ';' 01000000 ']'
      "5052656701000000" +
        "5b00" +
        "4b000000" +
        "3b00" +
        "56000000" +
        "3b00" +
        "04000000" +
        "3b00" +
        "04000000" +
        "3b00" +
        "01000000" +
        "5d00",
    );
    assert.deepEqual(parseRegistryPol(b), [{ key: "K", value: "V", type: 4, data: dwordData(1) }]);
  });

  it("every firewall setting and the bypass SDDL survive Registry.pol and back", () => {
    const p: FirewallPolicy = {
      profiles: {
        domain: {
          enabled: true,
          exceptions: false,
          portOpenings: [
            {
              protocol: "tcp",
              port: 445,
              name: "SMB",
              enabled: true,
              scope: "subnet",
              addresses: [],
            },
            {
              protocol: "udp",
              port: 500,
              name: "IKE: lab",
              enabled: false,
              scope: "custom",
              addresses: ["10.0.0.0/255.0.0.0", "LocalSubnet"],
            },
          ],
          icmp: { "8": true, "3": false },
        },
        standard: { enabled: false },
      },
      logging: {
        droppedPackets: true,
        connections: false,
        maxSizeKb: 1024,
        file: "/var/log/pfw.log",
      },
      bypass: [SID],
    };
    const recs = polFromFirewallPolicy(p);
    const names = recs.map((r) => `${r.key}\\${r.value}`);
    assert.ok(names.includes(`${FIREWALL_KEY}\\DomainProfile\\EnableFirewall`));
    assert.ok(names.includes(`${FIREWALL_KEY}\\DomainProfile\\GloballyOpenPorts\\List\\445:TCP`));
    assert.ok(
      names.includes(`${FIREWALL_KEY}\\DomainProfile\\IcmpSettings\\AllowInboundEchoRequest`),
    );
    assert.ok(names.includes(`${BYPASS_KEY}\\BypassFirewall`));
    const back = firewallPolicyFromPol(parseRegistryPol(formatRegistryPol(recs)));
    assert.deepEqual(back.profiles, p.profiles);
    assert.deepEqual(back.bypass, [SID]);
    assert.deepEqual(back.logging, p.logging);
  });

  it("merges as Windows does: the GPO's values win, the ones it leaves alone stay local", () => {
    const local = defaultSettings();
    local.profiles.domain.exceptions = true;
    local.profiles.domain.icmp = { "8": false, "13": true };
    local.profiles.domain.portOpenings = [
      {
        protocol: "tcp",
        port: 445,
        name: "local SMB",
        enabled: false,
        scope: "all",
        addresses: [],
      },
      { protocol: "tcp", port: 22, name: "ssh", enabled: true, scope: "all", addresses: [] },
    ];
    const gp = firewallPolicyFromPol([
      {
        key: `${FIREWALL_KEY}\\DomainProfile`,
        value: "DoNotAllowExceptions",
        type: REG.DWORD,
        data: dwordData(0),
      },
      {
        key: `${FIREWALL_KEY}\\DomainProfile\\IcmpSettings`,
        value: "AllowInboundEchoRequest",
        type: REG.DWORD,
        data: dwordData(1),
      },
      {
        key: `${FIREWALL_KEY}\\DomainProfile\\GloballyOpenPorts\\List`,
        value: "445:TCP",
        type: REG.SZ,
        data: Buffer.from("445:TCP:*:enabled:GPO SMB\0", "utf16le"),
      },
      {
        key: `${FIREWALL_KEY}\\DomainProfile`,
        value: "**del.EnableFirewall",
        type: REG.SZ,
        data: Buffer.from(" \0", "utf16le"),
      },
    ]);
    const m = mergeFirewall(local, gp);
    assert.equal(m.profiles.domain.enabled, true, "not configured by the GPO: local value");
    assert.equal(m.profiles.domain.exceptions, true);
    assert.deepEqual(m.profiles.domain.icmp, { "8": true, "13": true });
    assert.deepEqual(
      m.profiles.domain.portOpenings.map((o) => `${o.port}/${o.protocol} ${o.name}`),
      ["22/tcp ssh", "445/tcp GPO SMB"],
    );
    assert.deepEqual(m.profiles.standard, local.profiles.standard);
  });

  it("refuses bad input with one line: signature, version, unclosed record, oversize data, bad port entry", () => {
    const good = formatRegistryPol([{ key: "K", value: "V", type: REG.DWORD, data: dwordData(1) }]);
    const cases: [Buffer | (() => unknown), RegExp][] = [
      [Buffer.from("PRex\x01\0\0\0"), /no PReg signature/],
      [Buffer.concat([Buffer.from("PReg"), Buffer.from([2, 0, 0, 0])]), /version 2 is not 1/],
      [good.subarray(0, good.length - 2), /expected '\]' closing record 1/],
      [Buffer.from(good).fill(0x7f, 28, 30), /runs past the end/],
      [() => parsePortEntry("70000:TCP:*:enabled:x"), /is not port:TCP\|UDP/],
    ];
    for (const [input, re] of cases)
      assert.throws(
        () => (typeof input === "function" ? input() : parseRegistryPol(input)),
        (e: unknown) =>
          e instanceof RegistryPolError && re.test(e.message) && !e.message.includes("\n"),
      );
  });

  it("fuzz: 2,000 mutated files each parse or throw a RegistryPolError, nothing else", () => {
    const base = formatRegistryPol(
      polFromFirewallPolicy({
        profiles: {
          domain: { enabled: true, portOpenings: [parsePortEntry("445:TCP:*:enabled:SMB")] },
        },
        bypass: [SID],
      }),
    );
    let seed = 0xbeef;
    const rnd = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    for (let i = 0; i < 2000; i++) {
      const b = Buffer.from(base);
      for (let k = 0; k <= rnd(3); k++) b[rnd(b.length)] = rnd(256);
      const m = i % 2 ? b.subarray(0, rnd(b.length)) : b;
      try {
        firewallPolicyFromPol(parseRegistryPol(m));
      } catch (e) {
        assert.ok(
          e instanceof RegistryPolError || (e as { code?: string }).code !== undefined,
          `mutation ${i}: ${(e as Error).stack}`,
        );
      }
    }
  });
});
