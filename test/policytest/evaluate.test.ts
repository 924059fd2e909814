/**
 * Policy tests' core (src/policytest/evaluate.ts): the article's domain made with
 * postern's commands on a directory (no DC process), its snapshot taken once, then each
 * case changes a copy of the snapshot and evaluates the matrix: who reaches server1:80,
 * decided by which layer, with which flip. The matrix format's parser and its errors.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { openDirectory } from "../../src/dc/directory.js";
import { type ExpectSnapshot, expectSnapshot } from "../../src/dc/expect.js";
import { formatMatrix, parseMatrix } from "../../src/dc/expect-matrix.js";
import { dbPath } from "../../src/dc/paths.js";
import {
  type Cell,
  cellLine,
  evaluateMatrix,
  newlyBroken,
  testSnapshot,
} from "../../src/policytest/evaluate.js";
import { cliInit } from "../dc/helpers.js";
import { tempHome } from "../helpers/cli.js";
import { type ArticleDomain, articleDomain, MATRIX } from "./fixture.js";

const home = tempHome("ptest-core");
let base: ExpectSnapshot;
let domain: ArticleDomain;

const copy = () => structuredClone(base);
const computer = (s: ExpectSnapshot, sam: string) => {
  const c = s.computers.find((x) => x.sam === sam);
  assert.ok(c, `${sam} in the snapshot`);
  return c;
};
const cells = (s: ExpectSnapshot, text: string): Cell[] =>
  evaluateMatrix(s, "T", parseMatrix(text, "test"));
const one = (s: ExpectSnapshot, text: string): Cell => {
  const cs = cells(s, text);
  assert.equal(cs.length, 1, JSON.stringify(cs));
  return cs[0] as Cell;
};

before(async () => {
  await cliInit(home.dir);
  const scratch = path.join(home.dir, "scratch");
  fs.mkdirSync(scratch);
  domain = await articleDomain(home.dir, scratch);
  const dir = openDirectory(dbPath(home.dir));
  try {
    base = expectSnapshot(dir);
  } finally {
    dir.close();
  }
});
after(() => home.cleanup());

describe("policy test: the article's matrix", () => {
  it("holds as set up: xpclient reaches server1:80, client2 and the outsider do not", () => {
    const r = testSnapshot(base, null);
    assert.equal(r.cells, 3);
    assert.deepEqual(r.differing, []);
    const all = evaluateMatrix(base, "Web servers", parseMatrix(MATRIX, "m"));
    assert.deepEqual(
      all.map((c) => [c.client, c.got, c.layer]),
      [
        ["XPCLIENT$", "reach", "firewall"],
        ["CLIENT2$", "not-reach", "firewall"],
        ["198.18.0.40", "not-reach", "guard"],
      ],
    );
    assert.match(all[1]?.flip ?? "", /add CLIENT2\$ to BIGFIRM\\trusted, then purge its tickets/);
    assert.match(all[0]?.flip ?? "", /remove XPCLIENT\$ from BIGFIRM\\trusted/);
  });

  it("xpclient out of trusted: its cell differs, decided by the firewall, flip = add it back", () => {
    const s = copy();
    const x = computer(s, "XPCLIENT$");
    x.groups = x.groups.filter((g) => g.sid !== domain.trustedSid);
    const [c] = testSnapshot(s, "Web servers").differing;
    assert.ok(c);
    assert.deepEqual(
      [c.client, c.expected, c.got, c.layer],
      ["XPCLIENT$", "reach", "not-reach", "firewall"],
    );
    assert.match(c.why, /no exception for TCP 80 from 198\.18\.0\.30/);
    assert.equal(c.flip, "add XPCLIENT$ to BIGFIRM\\trusted, then purge its tickets");
    assert.match(
      cellLine(c),
      /^XPCLIENT\$ -> server1 tcp\/80: expected reach, got not-reach \(firewall: /,
    );
  });

  it("a nested group admits: client2 in a group inside trusted reaches (its PAC carries both)", () => {
    const s = copy();
    computer(s, "CLIENT2$").groups.push(
      { sid: `${s.domain.sid}-4242`, name: "inner" },
      { sid: domain.trustedSid, name: "trusted" },
    );
    const c = one(s, "CLIENT2$ server1 tcp/80 reach");
    assert.deepEqual([c.got, c.layer], ["reach", "firewall"]);
  });

  it("a disabled computer gets no ticket: xpclient disabled cannot reach (ike)", () => {
    const s = copy();
    computer(s, "XPCLIENT$").enabled = false;
    const c = one(s, "XPCLIENT$ server1 tcp/80 reach");
    assert.deepEqual([c.got, c.layer], ["not-reach", "ike"]);
    assert.match(c.why, /XPCLIENT\$ is disabled/);
    assert.equal(c.flip, "enable XPCLIENT$");
  });

  it("a member without the client policy sends cleartext: the guard drops it", () => {
    const s = copy();
    const x = computer(s, "XPCLIENT$");
    x.ipsec = null;
    const c = one(s, "XPCLIENT$ server1 tcp/80 reach");
    assert.deepEqual([c.got, c.layer], ["not-reach", "guard"]);
  });

  it("a port opening lets client2 in (firewall), and the outsider still meets the guard", () => {
    const s = copy();
    const fw = computer(s, "SERVER1$").firewall as {
      profiles: { standard: { portOpenings: unknown[] } };
    };
    fw.profiles.standard.portOpenings.push({
      name: "web",
      protocol: "tcp",
      port: 80,
      scope: "all",
      addresses: [],
      enabled: true,
    });
    const r = testSnapshot(s, null);
    assert.deepEqual(
      r.differing.map((c) => [c.client, c.got, c.layer]),
      [["CLIENT2$", "reach", "firewall"]],
    );
    assert.match(r.differing[0]?.flip ?? "", /delete the port opening TCP 80 "web"/);
  });

  it("a group row expands to its computers; an empty group or an unknown name is 'unknown'", () => {
    const s = copy();
    const cs = cells(s, "webclients server1 tcp/80 reach");
    assert.deepEqual(
      cs.map((c) => [c.client, c.got]),
      [
        ["CLIENT2$", "not-reach"],
        ["XPCLIENT$", "reach"],
      ],
    );
    s.groups.push({ name: "empty", sid: `${s.domain.sid}-4343`, computers: [] });
    assert.match(one(s, "empty server1 tcp/80 reach").why, /group empty holds no computer/);
    const u = one(s, "nobody server1 tcp/80 reach");
    assert.deepEqual([u.got, u.layer], ["unknown", "directory"]);
    assert.equal(one(s, "XPCLIENT$ server9 tcp/80 reach").got, "unknown");
  });

  it("newlyBroken names only the cells a change breaks, not those already broken", () => {
    const brokenBefore = copy();
    computer(brokenBefore, "CLIENT2$").groups.push({ sid: domain.trustedSid, name: "trusted" });
    const worse = structuredClone(brokenBefore);
    const x = computer(worse, "XPCLIENT$");
    x.groups = x.groups.filter((g) => g.sid !== domain.trustedSid);
    assert.deepEqual(
      newlyBroken(brokenBefore, worse).map((c) => c.client),
      ["XPCLIENT$"],
    );
    assert.deepEqual(newlyBroken(base, base), []);
  });
});

describe("the matrix format", () => {
  it("parses rows, ignores comments, prints them back aligned", () => {
    const rows = parseMatrix(MATRIX, "m");
    assert.equal(rows.length, 3);
    assert.deepEqual(rows[0], {
      who: "XPCLIENT$",
      server: "server1",
      protocol: "tcp",
      port: 80,
      must: "reach",
    });
    assert.deepEqual(parseMatrix(formatMatrix(rows), "again"), rows);
  });

  for (const [text, want] of [
    ["a server1 tcp/80", /m line 1: expected WHO SERVER SERVICE MUST \(4 words\), got 3/],
    ["a server1 tcp/0 reach", /m line 1: service 'tcp\/0' is not tcp\/PORT/],
    ["a server1 sctp/9 reach", /service 'sctp\/9'/],
    ["\n\na server1 icmp maybe", /m line 3: must is 'maybe', not reach or not-reach/],
  ] as const)
    it(`refuses ${JSON.stringify(text)} naming the line`, () => {
      assert.throws(() => parseMatrix(text, "m"), want);
    });
});
