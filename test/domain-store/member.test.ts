/**
 * The domain store with the DC running (admin socket path), and a member applying what it
 * fetches: the article's server script edits the domain store through the socket, the policy
 * is assigned to a GPO linked to the group `trusted`, a member joined with a token runs
 * `postern gpupdate`, and `postern ipsec explain` on the member then gives the decision of the
 * domain policy (overriding its local one). The GPO's firewall settings become the member's
 * settings; loaded only into a namespace the test made (POSTERN_NETNS), never the host's.
 */
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { defaultSettings } from "../../src/firewall/model.js";
import { settingsFile } from "../../src/firewall/store.js";
import { domainAssignedPath } from "../../src/policy/effective.js";
import { cliInit, type DcProcess, freePort, startDcProcess } from "../dc/helpers.js";
import { BIN, cli, needsRoot, runBin, tempHome, uniqueName } from "../helpers/cli.js";
import { ips, ok, okJson, POLICY, refusedOnDc, SERVER_SCRIPT } from "./helpers.js";

const EXPLAIN = [
  "ipsec",
  "explain",
  "--src",
  "198.18.0.30",
  "--dst",
  "198.18.0.20",
  "--proto",
  "tcp",
  "--sport",
  "1234",
  "--dport",
  "80",
  "--me",
  "198.18.0.20",
];

interface Decision {
  action: string;
  policy: string | null;
  rule: string | null;
  filteraction: string | null;
  source: string;
  gpo: string | null;
}

describe("domain store through the running DC's admin socket; a member applies its GPO", () => {
  const dcHome = tempHome("pds-dc");
  const member = tempHome("pds-member");
  let dc: DcProcess | undefined;
  let token = "";
  const fwFile = path.join(dcHome.dir, "fw.json");
  before(async () => {
    await cliInit(dcHome.dir);
    dc = await startDcProcess(dcHome.dir, await freePort());
    const r = await ok(
      dcHome.dir,
      "--json",
      "domain",
      "computer",
      "add",
      "server1",
      "--join-token",
    );
    token = JSON.parse(r.out).token;
    await ok(dcHome.dir, "net", "group", "trusted", "/add", "/domain");
    await ok(dcHome.dir, "net", "group", "trusted", "server1$", "/add", "/domain");
    await ok(dcHome.dir, "domain", "gpo", "create", "Secure web servers");
    await ok(dcHome.dir, "domain", "gpo", "link", "Secure web servers", "trusted");
  });
  after(async () => {
    await dc?.kill9();
    dcHome.cleanup();
    member.cleanup();
  });

  it("the article's server script and the GPO assignment go through the admin socket", async () => {
    await ok(dcHome.dir, "netsh", "ipsec", "static", "set", "store", "location=domain");
    const r = await cli(dcHome.dir, "netsh", "-f", SERVER_SCRIPT);
    assert.equal(r.code, 0, r.err);
    await ok(
      dcHome.dir,
      "netsh",
      "ipsec",
      "static",
      "set",
      "policy",
      `name=${POLICY}`,
      "assign=yes",
      "gponame=Secure web servers",
    );
    const audit = (await okJson(dcHome.dir, "domain", "audit")) as {
      actor: string;
      action: string;
    }[];
    const ipsec = audit.filter((a) => a.action === "ipsec.set-domain");
    assert.equal(ipsec.length, 7);
    assert.ok(ipsec.every((a) => a.actor.endsWith("(admin socket)")));
    const g = (await okJson(dcHome.dir, "domain", "gpo", "show", "Secure web servers")) as {
      assigned: string;
      links: string[];
    };
    assert.deepEqual([g.assigned, g.links], [POLICY, ["trusted"]]);
  });

  it("bad input through the socket: one line, nothing changed", async () => {
    await refusedOnDc(
      dcHome.dir,
      ["set", "policy", `name=${POLICY}`, "assign=yes", "gponame=Nope"],
      /no policy object named 'Nope'/,
    );
    await refusedOnDc(
      dcHome.dir,
      ["delete", "policy", `name=${POLICY}`],
      /is assigned to policy object 'Secure web servers'/,
    );
    await refusedOnDc(dcHome.dir, ["add", "filterlist", "Secure web (server)"], /already exists/);
  });

  it("six netsh processes at once through the socket: all succeed, no change lost", async () => {
    const names = Array.from({ length: 6 }, (_, i) => `parallel-${i}`);
    const runs = names.map(
      (n) =>
        new Promise<number | null>((resolve) => {
          const p = spawn(
            process.execPath,
            [BIN, "--home", dcHome.dir, "netsh", "ipsec", "static", "add", "filterlist", n],
            {
              stdio: "ignore",
            },
          );
          p.on("exit", (code) => resolve(code));
        }),
    );
    assert.deepEqual(
      await Promise.all(runs),
      names.map(() => 0),
    );
    const s = (await okJson(dcHome.dir, "netsh", "ipsec", "static", "show", "all")) as {
      filterLists: { name: string }[];
    };
    for (const n of names)
      assert.ok(
        s.filterLists.some((f) => f.name === n),
        n,
      );
    for (const n of names)
      await ok(dcHome.dir, "netsh", "ipsec", "static", "delete", "filterlist", n);
  });

  it("a member joined with a token: before gpupdate its local policy decides", async () => {
    await ok(
      member.dir,
      "join",
      "--domain",
      "bigfirm.com",
      "--dc",
      `127.0.0.1:${dc?.apiPort}`,
      "--name",
      "server1",
      "--token",
      token,
      "--address",
      "198.18.0.20",
    );
    for (const line of [
      ["add", "filterlist", "web"],
      [
        "add",
        "filter",
        "filterlist=web",
        "srcaddr=any",
        "dstaddr=me",
        "protocol=tcp",
        "dstport=80",
      ],
      ["add", "filteraction", "allow", "action=permit"],
      ["add", "policy", "Local permit"],
      ["add", "rule", "name=r", "policy=Local permit", "filterlist=web", "filteraction=allow"],
      ["set", "policy", "name=Local permit", "assign=yes"],
    ]) {
      const r = await ips(member.dir, ...line);
      assert.equal(r.code, 0, `${line.join(" ")}: ${r.err}`);
    }
    const d = (await okJson(member.dir, ...EXPLAIN)) as Decision;
    assert.deepEqual([d.action, d.policy, d.source], ["permit", "Local permit", "local"]);
  });

  it("after gpupdate, ipsec explain on the member gives the domain policy's decision", async () => {
    const g = (await okJson(member.dir, "gpupdate")) as { ipsec: string; firewall: string };
    assert.deepEqual([g.ipsec, g.firewall], ["Secure web servers", "none"]);
    const d = (await okJson(member.dir, ...EXPLAIN)) as Decision;
    assert.deepEqual(
      [d.action, d.policy, d.rule, d.filteraction, d.source, d.gpo],
      ["negotiate", POLICY, "Secure web", "sign", "domain", "Secure web servers"],
    );
    const text = await ok(member.dir, ...EXPLAIN);
    assert.match(
      text.out,
      /^Store: +domain \(Group Policy "Secure web servers", overrides the local store\)$/m,
    );
    const shown = await ips(member.dir, "show", "gpoassignedpolicy");
    assert.match(shown.out, /^Assigned Policy +: Local permit$/m);
    assert.match(
      shown.out,
      /Group Policy +: Secure website \(server1\) \(GPO Secure web servers, domain bigfirm\.com; overrides the local policy\)/,
    );
  });

  it("a change on the DC reaches the member at the next gpupdate; unassigning gives the local policy back", async () => {
    await ok(
      dcHome.dir,
      "netsh",
      "ipsec",
      "static",
      "set",
      "filteraction",
      "name=sign",
      "action=block",
    );
    await ok(member.dir, "gpupdate");
    assert.equal(((await okJson(member.dir, ...EXPLAIN)) as Decision).action, "block");
    await ok(
      dcHome.dir,
      "netsh",
      "ipsec",
      "static",
      "set",
      "policy",
      `name=${POLICY}`,
      "assign=no",
      "gponame=Secure web servers",
    );
    await ok(member.dir, "gpupdate");
    assert.equal(fs.existsSync(domainAssignedPath(member.dir)), false);
    const d = (await okJson(member.dir, ...EXPLAIN)) as Decision;
    assert.deepEqual([d.action, d.source], ["permit", "local"]);
    await ok(
      dcHome.dir,
      "netsh",
      "ipsec",
      "static",
      "set",
      "policy",
      `name=${POLICY}`,
      "assign=yes",
      "gponame=Secure web servers",
    );
  });

  it("firewall settings from the GPO become the member's; bad settings change nothing", async () => {
    const fw = defaultSettings();
    fw.currentProfile = "domain";
    fw.profiles.domain.portOpenings.push({
      protocol: "tcp",
      port: 80,
      name: "Web",
      enabled: true,
      scope: "all",
      addresses: [],
    });
    fs.writeFileSync(fwFile, JSON.stringify(fw));
    await ok(dcHome.dir, "domain", "gpo", "set", "Secure web servers", "--firewall-file", fwFile);
    const r = await cli(member.dir, "--json", "gpupdate");
    assert.equal(r.code, 0, r.err);
    assert.equal(JSON.parse(r.out).firewall, "saved");
    assert.match(r.err, /firewall settings saved, not loaded/);
    assert.deepEqual(JSON.parse(fs.readFileSync(settingsFile(member.dir), "utf8")), fw);

    const before = fs.readFileSync(settingsFile(member.dir));
    const assigned = fs.readFileSync(domainAssignedPath(member.dir));
    fs.writeFileSync(fwFile, JSON.stringify({ version: 1, currentProfile: "moon" }));
    await ok(dcHome.dir, "domain", "gpo", "set", "Secure web servers", "--firewall-file", fwFile);
    const bad = await cli(member.dir, "gpupdate");
    assert.equal(bad.code, 1);
    assert.equal(bad.err.trim().split("\n").length, 1, bad.err);
    assert.match(
      bad.err.trim(),
      /^postern: gpupdate: .*firewall settings from GPO 'Secure web servers'.*; nothing applied$/,
    );
    assert.ok(fs.readFileSync(settingsFile(member.dir)).equals(before));
    assert.ok(fs.readFileSync(domainAssignedPath(member.dir)).equals(assigned));
    fs.writeFileSync(fwFile, JSON.stringify(fw));
    await ok(dcHome.dir, "domain", "gpo", "set", "Secure web servers", "--firewall-file", fwFile);
  });

  describe("as root, into a namespace the test made (POSTERN_NETNS)", needsRoot(), () => {
    const ns = uniqueName("pdsns");
    before(() => {
      const r = spawnSync("ip", ["netns", "add", ns], { encoding: "utf8" });
      assert.equal(r.status, 0, r.stderr);
    });
    after(() => {
      spawnSync("ip", ["netns", "del", ns]);
    });

    it("gpupdate loads the GPO's firewall settings into that namespace's nftables, not the host's", () => {
      const hostTables = () => spawnSync("nft", ["list", "tables"], { encoding: "utf8" }).stdout;
      const hostBefore = hostTables();
      const r = runBin(["--home", member.dir, "--json", "gpupdate", "--force"], {
        env: { POSTERN_NETNS: ns },
      });
      assert.equal(r.code, 0, r.err);
      assert.equal(JSON.parse(r.out).firewall, "applied");
      const listed = spawnSync(
        "ip",
        ["netns", "exec", ns, "nft", "list", "table", "inet", "postern"],
        {
          encoding: "utf8",
        },
      );
      assert.equal(listed.status, 0, listed.stderr);
      assert.match(listed.stdout, /comment "postern firewall [0-9a-f]+"/);
      assert.match(listed.stdout, /tcp dport 80/);
      assert.equal(hostTables(), hostBefore);
    });
  });
});
