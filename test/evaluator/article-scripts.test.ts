/**
 * The article's policies as an administrator writes them (examples/*.netsh, run through
 * `postern netsh -f`), then `postern ipsec explain` on both sides: the web traffic between
 * xpclient and server1 is negotiated in both directions, everything else is not governed.
 */
import assert from "node:assert/strict";
import * as path from "node:path";
import { after, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { cli, tempHome } from "../helpers/cli.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
const SERVER = "198.18.0.20";
const XPCLIENT = "198.18.0.30";
const OUTSIDER = "198.18.0.40";

async function explain(
  home: string,
  me: string,
  src: string,
  dst: string,
  proto: string,
  sport: string,
  dport: string,
) {
  const r = await cli(
    home,
    "--json",
    "ipsec",
    "explain",
    "--me",
    me,
    "--src",
    src,
    "--dst",
    dst,
    "--proto",
    proto,
    "--sport",
    sport,
    "--dport",
    dport,
  );
  assert.equal(r.code, 0, r.err);
  return JSON.parse(r.out) as { action: string; rule: string | null; filteraction: string | null };
}

describe("the article's policies, from the example netsh scripts", () => {
  const server = tempHome("art-srv");
  const client = tempHome("art-cli");
  after(() => {
    server.cleanup();
    client.cleanup();
  });

  it("both scripts load", async () => {
    const s = await cli(
      server.dir,
      "netsh",
      "-f",
      path.join(ROOT, "examples/article-server.netsh"),
    );
    assert.equal(s.code, 0, s.err);
    const c = await cli(
      client.dir,
      "netsh",
      "-f",
      path.join(ROOT, "examples/article-client.netsh"),
    );
    assert.equal(c.code, 0, c.err);
  });

  it("server1: a request to port 80 from anyone, and server1's reply, are negotiated (sign)", async () => {
    for (const from of [XPCLIENT, OUTSIDER]) {
      const req = await explain(server.dir, SERVER, from, SERVER, "tcp", "49152", "80");
      assert.equal(req.action, "negotiate");
      const reply = await explain(server.dir, SERVER, SERVER, from, "tcp", "80", "49152");
      assert.equal(reply.action, "negotiate", "the mirrored filter governs the reply");
    }
  });

  it("server1: other traffic is not governed by the policy", async () => {
    assert.equal(
      (await explain(server.dir, SERVER, XPCLIENT, SERVER, "tcp", "49152", "22")).action,
      "none",
    );
    assert.equal(
      (await explain(server.dir, SERVER, XPCLIENT, SERVER, "udp", "49152", "80")).action,
      "none",
    );
  });

  it("xpclient: its request to server1:80 and the reply are negotiated; other servers are not", async () => {
    assert.equal(
      (await explain(client.dir, XPCLIENT, XPCLIENT, SERVER, "tcp", "49152", "80")).action,
      "negotiate",
    );
    assert.equal(
      (await explain(client.dir, XPCLIENT, SERVER, XPCLIENT, "tcp", "80", "49152")).action,
      "negotiate",
    );
    assert.equal(
      (await explain(client.dir, XPCLIENT, XPCLIENT, "198.18.0.21", "tcp", "49152", "80")).action,
      "none",
    );
  });
});
