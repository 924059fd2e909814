/**
 * `postern ipsec explain` on the article's policies (server1 198.18.0.20: any -> me TCP 80
 * mirrored, negotiate; xpclient 198.18.0.30: me -> 198.18.0.20 TCP 80 mirrored, negotiate),
 * stored in a real local store, through the CLI as a user runs it.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import { after, before, describe, it } from "node:test";
import { localStorePath, saveLocalStore } from "../../src/policy/store.js";
import { cli, runBin, tempHome } from "../helpers/cli.js";
import { any, articleClientStore, articleServerStore, filter, makeStore, me } from "./fixtures.js";

const SERVER = "198.18.0.20";
const CLIENT = "198.18.0.30";
const OUTSIDER = "198.18.0.40";

interface Explained {
  action: string;
  policy: string | null;
  rule: string | null;
  filterlist: string | null;
  filteraction: string | null;
  filter: { direction: string; filterIndex: number } | null;
  weight: number | null;
  reason: string;
  matches: { weight: number; direction: string }[];
}

async function explainJson(home: string, ...args: string[]): Promise<Explained> {
  const r = await cli(home, "--json", "ipsec", "explain", ...args);
  assert.equal(r.code, 0, r.err);
  return JSON.parse(r.out) as Explained;
}

function tcp(src: string, sport: number, dst: string, dport: number): string[] {
  return [
    "--src",
    src,
    "--dst",
    dst,
    "--proto",
    "tcp",
    "--sport",
    String(sport),
    "--dport",
    String(dport),
  ];
}

describe("ipsec explain: the article's server1 policy", () => {
  const home = tempHome("explain-srv");
  before(() => saveLocalStore(home.dir, articleServerStore()));
  after(() => home.cleanup());

  it("a client's request to port 80 negotiates (the filter as written)", async () => {
    const e = await explainJson(home.dir, ...tcp(CLIENT, 1025, SERVER, 80), "--me", SERVER);
    assert.equal(e.action, "negotiate");
    assert.equal(e.policy, "Secure web server");
    assert.equal(e.rule, "Web traffic");
    assert.equal(e.filterlist, "Web from anyone");
    assert.equal(e.filteraction, "Sign with SHA1");
    assert.equal(e.filter?.direction, "as-written");
    assert.equal(e.weight, 517);
  });

  it("server1's reply from port 80 negotiates too (the mirror)", async () => {
    const e = await explainJson(home.dir, ...tcp(SERVER, 80, CLIENT, 1025), "--me", SERVER);
    assert.equal(e.action, "negotiate");
    assert.equal(e.filter?.direction, "mirrored");
    assert.equal(e.matches.length, 1);
    const text = await cli(
      home.dir,
      "ipsec",
      "explain",
      ...tcp(SERVER, 80, CLIENT, 1025),
      "--me",
      SERVER,
    );
    assert.match(text.out, /filter 1 \(its mirror: source and destination swapped\)/);
    assert.match(text.out, /198\.18\.0\.20 port 80 -> any port any, protocol tcp => negotiate/);
  });

  it("any host, even one outside the domain, meets the same filter", async () => {
    const e = await explainJson(home.dir, ...tcp(OUTSIDER, 40000, SERVER, 80), "--me", SERVER);
    assert.equal(e.action, "negotiate");
  });

  it("other traffic is none: another port, UDP, ICMP, traffic not to me", async () => {
    for (const args of [
      tcp(CLIENT, 1025, SERVER, 22),
      ["--src", CLIENT, "--dst", SERVER, "--proto", "udp", "--dport", "53"],
      ["--src", CLIENT, "--dst", SERVER, "--proto", "icmp"],
      tcp(CLIENT, 1025, OUTSIDER, 80),
    ]) {
      const e = await explainJson(home.dir, ...args, "--me", SERVER);
      assert.equal(e.action, "none", args.join(" "));
      assert.equal(e.filter, null);
      assert.match(e.reason, /no filter of policy "Secure web server" matches/);
    }
  });

  it("the text output lists the matching filter, its weight, the winner and the decision", async () => {
    const r = await cli(
      home.dir,
      "ipsec",
      "explain",
      ...tcp(CLIENT, 1025, SERVER, 80),
      "--me",
      SERVER,
    );
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /Policy: +"Secure web server"/);
    assert.match(
      r.out,
      /\* weight 517 +rule "Web traffic": filter list "Web from anyone" filter 1 \(as written, mirrored=yes\)/,
    );
    assert.match(r.out, /any port any -> 198\.18\.0\.20 port 80, protocol tcp => negotiate/);
    assert.match(r.out, /Why: +the only matching filter: weight 517/);
    assert.match(
      r.out,
      /Decision: negotiate \(rule "Web traffic", filter action "Sign with SHA1"\)/,
    );
  });

  it("reading the store leaves it unchanged", async () => {
    const before = fs.readFileSync(localStorePath(home.dir));
    await cli(home.dir, "ipsec", "explain", ...tcp(CLIENT, 1, SERVER, 80), "--me", SERVER);
    assert.deepEqual(fs.readFileSync(localStorePath(home.dir)), before);
  });
});

describe("ipsec explain: the article's xpclient policy", () => {
  const home = tempHome("explain-cli");
  before(() => saveLocalStore(home.dir, articleClientStore()));
  after(() => home.cleanup());

  it("web traffic to server1 negotiates both ways", async () => {
    const out = await explainJson(home.dir, ...tcp(CLIENT, 1025, SERVER, 80), "--me", CLIENT);
    assert.equal(out.action, "negotiate");
    assert.equal(out.filter?.direction, "as-written");
    assert.equal(out.weight, 16 * 64 + 4 + 1);
    const back = await explainJson(home.dir, ...tcp(SERVER, 80, CLIENT, 1025), "--me", CLIENT);
    assert.equal(back.action, "negotiate");
    assert.equal(back.filter?.direction, "mirrored");
  });

  it("web traffic to another host, or from another address of the client, is none", async () => {
    assert.equal(
      (await explainJson(home.dir, ...tcp(CLIENT, 1025, OUTSIDER, 80), "--me", CLIENT)).action,
      "none",
    );
    assert.equal(
      (await explainJson(home.dir, ...tcp("198.18.0.31", 1025, SERVER, 80), "--me", CLIENT)).action,
      "none",
    );
    assert.equal(
      (await explainJson(home.dir, ...tcp(CLIENT, 1025, SERVER, 443), "--me", CLIENT)).action,
      "none",
    );
  });

  it("--me is repeatable: every address of the host is me", async () => {
    const e = await explainJson(
      home.dir,
      ...tcp("198.18.0.31", 1025, SERVER, 80),
      "--me",
      CLIENT,
      "--me",
      "198.18.0.31",
    );
    assert.equal(e.action, "negotiate");
  });
});

describe("ipsec explain: policy choice, DNS names", () => {
  const home = tempHome("explain-pol");
  before(() =>
    saveLocalStore(
      home.dir,
      makeStore([
        {
          name: "Idle",
          rules: [{ name: "block all", action: "block", filters: [filter(any, any)] }],
        },
        {
          name: "Names",
          rules: [
            {
              name: "to localhost",
              action: "permit",
              filters: [
                filter(me, { kind: "dns", name: "localhost" }, { protocol: 6, dstPort: 8080 }),
              ],
            },
          ],
        },
      ]),
    ),
  );
  after(() => home.cleanup());

  it("no assigned policy: action none, with the reason", async () => {
    const e = await explainJson(home.dir, ...tcp(CLIENT, 1, SERVER, 80), "--me", CLIENT);
    assert.equal(e.action, "none");
    assert.equal(e.policy, null);
    assert.match(e.reason, /no IPsec policy is assigned/);
    const text = await cli(home.dir, "ipsec", "explain", ...tcp(CLIENT, 1, SERVER, 80));
    assert.match(text.out, /Decision: none \(no IPsec policy is assigned on this host\)/);
  });

  it("--policy evaluates a policy that is not assigned", async () => {
    const e = await explainJson(
      home.dir,
      ...tcp(CLIENT, 1, SERVER, 80),
      "--me",
      CLIENT,
      "--policy",
      "Idle",
    );
    assert.equal(e.action, "block");
    assert.equal(e.policy, "Idle");
  });

  it("a DNS name is resolved when the policy is applied (localhost via node:dns)", async () => {
    const e = await explainJson(
      home.dir,
      ...tcp(CLIENT, 1, "127.0.0.1", 8080),
      "--me",
      CLIENT,
      "--policy",
      "Names",
    );
    assert.equal(e.action, "permit");
    assert.equal(e.weight, 16 * 64 + 4 + 1);
  });

  it("an unknown --policy is one line and exit 1", async () => {
    const r = await cli(
      home.dir,
      "ipsec",
      "explain",
      ...tcp(CLIENT, 1, SERVER, 80),
      "--policy",
      "Nope",
    );
    assert.equal(r.code, 1);
    assert.equal(r.err, 'postern: no policy named "Nope" in the store\n');
  });
});

describe("ipsec explain: several matching filters", () => {
  const home = tempHome("explain-many");
  before(() =>
    saveLocalStore(
      home.dir,
      makeStore([
        {
          name: "Layered",
          assigned: true,
          rules: [
            { name: "Block all", action: "block", filters: [filter(any, any, { mirrored: true })] },
            {
              name: "Web",
              action: "negotiate",
              filters: [filter(any, me, { protocol: 6, dstPort: 80, mirrored: true })],
            },
          ],
        },
      ]),
    ),
  );
  after(() => home.cleanup());

  it("lists every match by weight and says why the most specific won", async () => {
    const r = await cli(
      home.dir,
      "ipsec",
      "explain",
      ...tcp(CLIENT, 1025, SERVER, 80),
      "--me",
      SERVER,
    );
    assert.equal(r.code, 0, r.err);
    const lines = r.out.split("\n");
    const marks = lines.filter((l) => /^ {2}[* ] weight/.test(l));
    assert.deepEqual(
      marks.map((l) => l.trim().slice(0, 20)),
      ['* weight 517  rule "', 'weight 0  rule "Bloc', 'weight 0  rule "Bloc'],
    );
    assert.match(r.out, /Why: +most specific: weight 517 .* beats 0 of rule "Block all" filter 1/);
    assert.match(r.out, /Decision: negotiate/);
    const ssh = await explainJson(home.dir, ...tcp(CLIENT, 1025, SERVER, 22), "--me", SERVER);
    assert.equal(ssh.action, "block");
    assert.equal(ssh.matches.length, 2, "as written and mirrored both match any <-> any");
    assert.equal(ssh.filter?.direction, "as-written");
  });
});

describe("ipsec explain: a damaged store", () => {
  const home = tempHome("explain-dmg");
  after(() => home.cleanup());

  it("is one line, exit 1, and the file is left as it was", async () => {
    saveLocalStore(home.dir, articleServerStore());
    fs.writeFileSync(localStorePath(home.dir), "{ not json");
    const r = await cli(home.dir, "ipsec", "explain", ...tcp(CLIENT, 1, SERVER, 80));
    assert.equal(r.code, 1);
    assert.match(r.err, /^postern: policy store .* is not valid JSON/);
    assert.equal(r.err.trim().split("\n").length, 1);
    assert.equal(fs.readFileSync(localStorePath(home.dir), "utf8"), "{ not json");
  });
});

describe("ipsec explain: bad input is one line and exit 2", () => {
  const home = tempHome("explain-bad");
  after(() => home.cleanup());
  const cases: [string[], RegExp][] = [
    [["--dst", SERVER, "--proto", "tcp"], /--src ADDRESS is required/],
    [["--src", CLIENT, "--proto", "tcp"], /--dst ADDRESS is required/],
    [["--src", CLIENT, "--dst", SERVER], /--proto is required/],
    [
      ["--src", "198.18.0", "--dst", SERVER, "--proto", "tcp"],
      /--src: "198.18.0" is not an IPv4 or IPv6 address/,
    ],
    [["--src", CLIENT, "--dst", "2001:db8::1", "--proto", "tcp"], /must both be IPv4 or both IPv6/],
    [["--src", CLIENT, "--dst", SERVER, "--proto", "300"], /--proto: "300"/],
    [["--src", CLIENT, "--dst", SERVER, "--proto", "icmp", "--dport", "80"], /tcp and udp only/],
    [
      ["--src", CLIENT, "--dst", SERVER, "--proto", "tcp", "--dport", "65536"],
      /--dport: "65536" is not a port/,
    ],
    [["--src", CLIENT, "--dst", SERVER, "--proto", "tcp", "--me", "host1"], /--me: "host1"/],
    [["--src", CLIENT, "--src", SERVER, "--dst", SERVER, "--proto", "tcp"], /--src given twice/],
    [
      ["--src", CLIENT, "--dst", SERVER, "--proto", "tcp", "--bogus", "1"],
      /ipsec explain: unknown option --bogus/,
    ],
    [["--src", CLIENT, "--dst", SERVER, "--proto"], /--proto needs a value/],
  ];
  for (const [args, message] of cases) {
    it(`explain ${args.join(" ")}`, async () => {
      const r = await cli(home.dir, "ipsec", "explain", ...args);
      assert.equal(r.code, 2);
      assert.match(r.err, message);
      assert.equal(r.err.trim().split("\n").length, 1);
      assert.equal(r.out, "");
    });
  }

  it("an unknown or missing subcommand", async () => {
    assert.equal((await cli(home.dir, "ipsec", "show")).code, 2);
    assert.equal((await cli(home.dir, "ipsec")).code, 2);
  });

  it("the real binary prints one line and no stack trace", () => {
    const r = runBin([
      "--home",
      home.dir,
      "ipsec",
      "explain",
      "--src",
      "x",
      "--dst",
      SERVER,
      "--proto",
      "tcp",
    ]);
    assert.equal(r.code, 2);
    assert.equal(r.err, 'postern: --src: "x" is not an IPv4 or IPv6 address\n');
  });
});
