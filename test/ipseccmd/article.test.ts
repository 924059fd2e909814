/**
 * The article's policies typed as ipseccmd transcripts make the same store as the netsh
 * scripts in examples/, compared field by field (names of the filter list and filter action
 * and descriptions aside: ipseccmd names them after the policy and rule). Then what a user
 * sees: netsh shows the ipseccmd policy, -x/-y/-o, refusals in one line with their exit code.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { after, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import type { Policy, PolicyStore } from "../../src/policy/model.js";
import { dynamicStorePath } from "../../src/policy/store.js";
import { cli, runBin, tempHome } from "../helpers/cli.js";
import { ipsJson, storeBytes } from "../ipsec-static/helpers.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
const EXAMPLES = path.join(ROOT, "examples");

/** Every field a host acts on, for the store's one assigned policy. */
function effective(s: PolicyStore) {
  const p = s.policies.find((x) => x.assigned) as Policy;
  assert.ok(p, "an assigned policy");
  const { guid, description, lastModified, rules, ...policy } = p;
  return {
    policy,
    rules: rules.map((r) => {
      const fl = s.filterLists.find((x) => x.guid === r.filterList);
      const fa = s.filterActions.find((x) => x.guid === r.filterAction);
      assert.ok(fl && fa, `rule ${r.name}: its filter list and action exist`);
      const { guid: _g, description: _d, lastModified: _l, filterList, filterAction, ...rule } = r;
      return {
        rule,
        filters: fl.filters.map(({ description: _fd, ...f }) => f),
        action: (({ guid: _ag, name: _an, description: _ad, lastModified: _al, ...a }) => a)(fa),
      };
    }),
  };
}

const ARTICLE = [
  {
    host: "server1",
    script: "article-server.netsh",
    ipseccmd: [
      "-w",
      "REG",
      "-p",
      "Secure website (server1)",
      "-r",
      "Secure web",
      "-f",
      "*+0:80:TCP",
      "-n",
      "AH[SHA]",
      "-a",
      "K",
      "-x",
    ],
  },
  {
    host: "xpclient",
    script: "article-client.netsh",
    ipseccmd: [
      "-w",
      "REG",
      "-p",
      "Secure website (xpclient)",
      "-r",
      "Secure web",
      "-f",
      "0+198.18.0.20:80:TCP",
      "-n",
      "AH[SHA]",
      "-a",
      "K",
      "-x",
    ],
  },
];

describe("ipseccmd: the article's policies as ipseccmd transcripts", () => {
  const homes: { cleanup: () => void }[] = [];
  after(() => {
    for (const h of homes) h.cleanup();
  });
  const home = (tag: string) => {
    const h = tempHome(tag);
    homes.push(h);
    return h.dir;
  };

  for (const a of ARTICLE) {
    it(`${a.host}: ipseccmd makes the store examples/${a.script} makes, field by field`, async () => {
      const viaNetsh = home("icmd-netsh");
      const viaIpseccmd = home("icmd-ipc");
      const n = await cli(viaNetsh, "netsh", "-f", path.join(EXAMPLES, a.script));
      assert.equal(n.code, 0, n.err);
      const r = await cli(viaIpseccmd, "ipseccmd", ...a.ipseccmd);
      assert.equal(r.code, 0, r.err);
      assert.match(r.err, /warning: -n .*SHA1 is legacy/);
      const want = effective((await ipsJson(viaNetsh, "show", "all")) as PolicyStore);
      const got = effective((await ipsJson(viaIpseccmd, "show", "all")) as PolicyStore);
      assert.deepEqual(got, want);
      assert.equal(want.rules[0]?.filters.length, 1, "the comparison saw the article's filter");
    });
  }

  it("netsh ipsec static shows the ipseccmd policy; -y unassigns, -x assigns, -o deletes it", async () => {
    const h = home("icmd-life");
    const first = ARTICLE[0]?.ipseccmd as string[];
    assert.equal((await cli(h, "ipseccmd", ...first)).code, 0);
    const shown = await cli(
      h,
      "netsh",
      "ipsec",
      "static",
      "show",
      "policy",
      "name=Secure website (server1)",
    );
    assert.equal(shown.code, 0, shown.err);
    assert.match(shown.out, /Assigned\s+: YES/);
    const rules = await cli(
      h,
      "netsh",
      "ipsec",
      "static",
      "show",
      "rule",
      "all",
      "policy=Secure website (server1)",
    );
    assert.match(rules.out, /Secure web/);

    const policyOf = async () =>
      ((await ipsJson(h, "show", "all")) as PolicyStore).policies.find(
        (p) => p.name === "Secure website (server1)",
      );
    assert.equal(
      (await cli(h, "ipseccmd", "-w", "REG", "-p", "Secure website (server1)", "-y")).code,
      0,
    );
    assert.equal((await policyOf())?.assigned, false);
    assert.equal(
      (await cli(h, "ipseccmd", "-w", "REG", "-p", "Secure website (server1)", "-x")).code,
      0,
    );
    assert.equal((await policyOf())?.assigned, true);

    // the same rule again replaces its filters instead of adding a rule
    const again = await cli(
      h,
      "ipseccmd",
      "-w",
      "REG",
      "-p",
      "Secure website (server1)",
      "-r",
      "Secure web",
      "-f",
      "*+0:443:TCP",
    );
    assert.equal(again.code, 0, again.err);
    const s = (await ipsJson(h, "show", "all")) as PolicyStore;
    const p = s.policies[0] as Policy;
    assert.equal(p.rules.length, 1);
    const fl = s.filterLists.find((x) => x.guid === p.rules[0]?.filterList);
    assert.deepEqual(
      fl?.filters.map((f) => f.dstPort),
      [443],
    );

    assert.equal(
      (await cli(h, "ipseccmd", "-w", "REG", "-p", "Secure website (server1)", "-o")).code,
      0,
    );
    const empty = (await ipsJson(h, "show", "all")) as PolicyStore;
    assert.deepEqual(
      [empty.policies.length, empty.filterLists.length, empty.filterActions.length],
      [0, 0, 0],
    );
  });

  it("pass-through and blocking filters become permit and block actions", async () => {
    const h = home("icmd-pass");
    const r = await cli(
      h,
      "ipseccmd",
      "-w",
      "REG",
      "-p",
      "Exempt",
      "-r",
      "ICMP",
      "-f",
      "(0+*::ICMP)",
    );
    assert.equal(r.code, 0, r.err);
    const b = await cli(
      h,
      "ipseccmd",
      "-w",
      "REG",
      "-p",
      "Exempt",
      "-r",
      "SMB",
      "-f",
      "[*=0:445:TCP]",
    );
    assert.equal(b.code, 0, b.err);
    const s = (await ipsJson(h, "show", "all")) as PolicyStore;
    const actions = (s.policies[0] as Policy).rules.map(
      (rule) => s.filterActions.find((x) => x.guid === rule.filterAction)?.action,
    );
    assert.deepEqual(actions, ["permit", "block"]);
    const mixed = await cli(h, "ipseccmd", "-w", "REG", "-p", "Exempt", "-f", "0+*", "(0+*::ICMP)");
    assert.equal(mixed.code, 2);
    assert.match(mixed.err, /^postern: -f: one rule has one filter action/);
  });

  it("refusals: one line, no stack, the store untouched", () => {
    const h = home("icmd-bin");
    const cases: [string[], number, RegExp][] = [
      [
        ["-w", "REG", "-p", "x", "-f", "0+*:80"],
        2,
        /^postern: -f: filter '0\+\*:80': a port needs protocol TCP or UDP/,
      ],
      [["-w", "DS", "-p", "x", "-f", "0+*"], 1, /^postern: this host is not a domain controller/],
      [
        ["-f", "0+*", "-n", "ESP[AES128,SHA256]"],
        1,
        /^postern: no IPsec agent is running: dynamic mode needs one \(use -w REG/,
      ],
      [["-w", "REG", "-p", "nosuch", "-o"], 1, /^postern: -p: no policy named 'nosuch'/],
      [["show", "sas"], 1, /^postern: no IPsec agent is running/],
      [
        ["show", "filters", "policies", "auth", "stats", "all"],
        1,
        /^postern: no IPsec agent is running/,
      ],
      [["-w", "REG", "-p", "x", "-f", "0+*", "-z"], 2, /^postern: unknown switch -z/],
    ];
    for (const [args, code, pattern] of cases) {
      const r = runBin(["--home", h, "ipseccmd", ...args]);
      assert.equal(r.code, code, `${args.join(" ")}: ${r.err}`);
      assert.match(r.err, pattern);
      assert.equal(r.err.trim().split("\n").length, 1, r.err);
      assert.equal(r.out, "");
    }
    assert.equal(storeBytes(h), null, "nothing was written");
    assert.equal(fs.existsSync(dynamicStorePath(h)), false, "no dynamic store either");
    const help = runBin(["ipseccmd", "--help"]);
    assert.equal(help.code, 0);
    assert.match(help.out, /-w REG\|DS -p "POLICY\[:POLL\]"/);
  });
});
