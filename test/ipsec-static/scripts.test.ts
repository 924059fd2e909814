import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { after, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import type { Policy, PolicyStore } from "../../src/policy/model.js";
import { cli, runBin, tempHome } from "../helpers/cli.js";
import { ipsJson, storeBytes } from "./helpers.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
const EXAMPLES = path.join(ROOT, "examples");

function assigned(s: PolicyStore): Policy {
  const p = s.policies.find((x) => x.assigned);
  assert.ok(p, "an assigned policy");
  return p;
}

describe("the article's policies as netsh scripts (examples/)", () => {
  const server = tempHome("pis-ex-srv");
  const client = tempHome("pis-ex-cli");
  after(() => {
    server.cleanup();
    client.cleanup();
  });

  it("article-server.netsh: any -> me TCP 80 mirrored, sign with AH[SHA1] as the article, Kerberos, assigned", async () => {
    const r = await cli(server.dir, "netsh", "-f", path.join(EXAMPLES, "article-server.netsh"));
    assert.equal(r.code, 0, r.err);
    assert.match(r.err, /warning: .*SHA1 is legacy/);
    const s = (await ipsJson(server.dir, "show", "all")) as PolicyStore;
    const p = assigned(s);
    assert.equal(p.rules.length, 1);
    const rule = p.rules[0];
    assert.deepEqual(rule?.auth, [{ kind: "kerberos" }]);
    const fl = s.filterLists.find((f) => f.guid === rule?.filterList);
    assert.deepEqual(
      fl?.filters.map((f) => [f.src, f.dst, f.protocol, f.srcPort, f.dstPort, f.mirrored]),
      [[{ kind: "any" }, { kind: "me" }, 6, 0, 80, true]],
    );
    const fa = s.filterActions.find((f) => f.guid === rule?.filterAction);
    assert.equal(fa?.action, "negotiate");
    assert.deepEqual(
      fa?.qmSecMethods.map((m) => [m.ah, m.esp]),
      [[{ hash: "sha1" }, undefined]],
    );
  });

  it("article-client.netsh: me -> 198.18.0.20 TCP 80 mirrored, same action, Kerberos, assigned", async () => {
    const r = runBin([
      "--home",
      client.dir,
      "netsh",
      "-f",
      path.join(EXAMPLES, "article-client.netsh"),
    ]);
    assert.equal(r.code, 0, r.err);
    const s = (await ipsJson(client.dir, "show", "all")) as PolicyStore;
    const rule = assigned(s).rules[0];
    const fl = s.filterLists.find((f) => f.guid === rule?.filterList);
    assert.deepEqual(fl?.filters[0]?.src, { kind: "me" });
    assert.deepEqual(fl?.filters[0]?.dst, {
      kind: "subnet",
      address: "198.18.0.20",
      prefix: 32,
      family: 4,
    });
    assert.equal(fl?.filters[0]?.dstPort, 80);
    assert.equal(fl?.filters[0]?.mirrored, true);
    assert.equal(s.filterActions.find((f) => f.guid === rule?.filterAction)?.name, "sign");
  });
});

describe("netsh scripts with ipsec static", () => {
  const t = tempHome("pis-script");
  after(t.cleanup);

  it("stops at the first bad line, naming its number; earlier lines stay applied", async () => {
    const file = path.join(t.dir, "bad.netsh");
    fs.writeFileSync(
      file,
      [
        "# a comment",
        "pushd ipsec static",
        "add filterlist name=One",
        "",
        'add filter filterlist=One srcaddr=any dstaddr=me srcmask="255.0.255.0"',
        "add filterlist name=Two",
        "popd",
      ].join("\n"),
    );
    const r = await cli(t.dir, "netsh", "-f", file);
    assert.equal(r.code, 2);
    assert.equal(r.err.trim().split("\n").length, 1);
    assert.match(r.err, /bad\.netsh:5: add filter: srcmask: bad mask '255\.0\.255\.0'/);
    const s = (await ipsJson(t.dir, "show", "all")) as PolicyStore;
    assert.deepEqual(
      s.filterLists.map((f) => f.name),
      ["One"],
    );
  });

  it("runs full lines without pushd, and reports unknown objects with the line number", async () => {
    const file = path.join(t.dir, "full.netsh");
    fs.writeFileSync(
      file,
      "netsh ipsec static add filterlist name=Three\nipsec static add frob x\n",
    );
    const r = await cli(t.dir, "netsh", "-f", file);
    assert.equal(r.code, 2);
    assert.match(r.err, /full\.netsh:2: ipsec static: unknown add object 'frob'/);
  });
});

describe("the postern binary on bad input", () => {
  const t = tempHome("pis-bin");
  after(t.cleanup);

  const cases: [string[], number, RegExp][] = [
    [
      ["add", "filter", "filterlist=L", "srcaddr=1.2.3.4-fe80::1", "dstaddr=me"],
      2,
      /mixes IPv4 and IPv6/,
    ],
    [
      ["add", "filter", "filterlist=L", "srcaddr=DNS", "dstaddr=any"],
      2,
      /server type DNS needs dstaddr=me/,
    ],
    [
      ["add", "filter", "filterlist=L", "srcaddr=1.2.3.4", "dstaddr=me", "srcmask=33"],
      2,
      /srcmask: bad mask/,
    ],
    [["add", "filter", "filterlist=L", "srca=me", "dst=any"], 2, /ambiguous tag 'dst'/],
    [
      ["add", "rule", "name=R", "policy=P", "filterlist=Nope", "filteraction=A"],
      1,
      /policy 'P' does not exist/,
    ],
    [["add", "filteraction", "name=A", "qmsec=ESP[DES,MD5]"], 2, /DES is refused/],
    [["add", "policy", "name=P", "mmsec=AES256-SHA256-1"], 2, /DH group 1/],
    [["add", "filterlist"], 2, /missing required tag 'name='/],
    [["show", "policy", "name=Nope"], 1, /does not exist/],
    [["importpolicy", "file=/nonexistent/x.json"], 1, /cannot read/],
  ];

  it("prints one line, exits 1 or 2, no stack trace, store unchanged", () => {
    const first = runBin([
      "--home",
      t.dir,
      "netsh",
      "ipsec",
      "static",
      "add",
      "filterlist",
      "name=L",
    ]);
    assert.equal(first.code, 0, first.err);
    const bytes = storeBytes(t.dir);
    for (const [args, code, re] of cases) {
      const r = runBin(["--home", t.dir, "netsh", "ipsec", "static", ...args]);
      assert.equal(r.code, code, `${args.join(" ")}: ${r.err}`);
      assert.equal(r.err.trim().split("\n").length, 1, r.err);
      assert.match(r.err, re);
      assert.doesNotMatch(r.err, /\n\s+at |internal error/);
      assert.ok(bytes?.equals(storeBytes(t.dir) as Buffer), `store changed by ${args.join(" ")}`);
    }
  });

  it("a hand-edited store gives one line naming the field, and is left as it was", () => {
    const file = path.join(t.dir, "ipsec", "local-store.json");
    const doc = JSON.parse(fs.readFileSync(file, "utf8"));
    doc.filterLists[0].filters = [
      {
        description: "",
        src: { kind: "server", server: "dns" },
        dst: { kind: "any" },
        protocol: 6,
        srcPort: 0,
        dstPort: 80,
        mirrored: true,
      },
    ];
    fs.writeFileSync(file, JSON.stringify(doc));
    const bytes = fs.readFileSync(file);
    const r = runBin(["--home", t.dir, "netsh", "ipsec", "static", "show", "all"]);
    assert.equal(r.code, 1);
    assert.equal(r.err.trim().split("\n").length, 1, r.err);
    assert.match(
      r.err,
      /local-store\.json: filterLists\[0\]\.filters\[0\]: .*server type DNS needs dstaddr=me/,
    );
    const w = runBin(["--home", t.dir, "netsh", "ipsec", "static", "add", "filterlist", "name=M"]);
    assert.equal(w.code, 1);
    assert.ok(bytes.equals(fs.readFileSync(file)));
  });
});
