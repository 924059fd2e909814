/**
 * The agent's control protocol (src/control/protocol.ts, socket.ts): requests and
 * replies checked on receipt at both ends, over a real Unix socket. A malformed request,
 * an unknown command or another version gets one typed error line; the client turns an
 * error reply into one PosternError line.
 */
import assert from "node:assert/strict";
import * as net from "node:net";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import {
  type ControlHandler,
  requestControl,
  startControlServer,
} from "../../src/control/socket.js";
import {
  CONTROL_VERSION,
  ControlError,
  decodeReply,
  decodeRequest,
} from "../../src/control/protocol.js";
import { PosternError } from "../../src/errors.js";
import { tempHome } from "../helpers/cli.js";

function refuse(command: string) {
  return () => {
    throw new ControlError("not-supported", `${command}: not on this agent`);
  };
}

const handler: ControlHandler = {
  stats: () => ({
    time: "2026-12-06T00:00:00.000Z",
    drops: {} as never,
    info: {} as never,
    sas: [],
  }),
  bypass: () => ({ peers: [] }),
  reload: () => ({ reloaded: true, policy: "p", source: "local" }),
  "delete-sas": (a) => ({ deletedIkeSas: a?.dst === undefined ? ["aa_bb"] : [`to ${a.dst}`] }),
  purge: () => {
    throw new Error("ccache busy\nsecond line never shown");
  },
  mmsas: () => [],
  qmsas: refuse("qmsas"),
  dstats: refuse("dstats"),
  mmfilter: () => [],
  qmfilter: () => [],
  config: refuse("config"),
};

/** Writes `line` raw and returns the agent's reply line. */
function raw(sock: string, line: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = net.createConnection(sock);
    let data = "";
    c.setEncoding("utf8");
    c.on("connect", () => c.write(line));
    c.on("data", (d: string) => {
      data += d;
    });
    c.on("end", () => resolve(data));
    c.on("error", reject);
  });
}

describe("control protocol: checks on receipt", () => {
  it("decodes a v1 request and refuses the rest with typed codes", () => {
    assert.deepEqual(decodeRequest('{"v":1,"command":"qmsas"}'), { v: 1, command: "qmsas" });
    const code = (line: string) => {
      try {
        decodeRequest(line);
        return "accepted";
      } catch (e) {
        assert.ok(e instanceof ControlError);
        assert.ok(!e.message.includes("\n"));
        return e.code;
      }
    };
    assert.equal(code("stats"), "malformed-request");
    assert.equal(code("[1]"), "malformed-request");
    assert.equal(code('{"v":1}'), "malformed-request");
    assert.equal(code('{"v":2,"command":"stats"}'), "unsupported-version");
    assert.equal(code('{"v":1,"command":"shutdown"}'), "unknown-command");
    assert.equal(code('{"v":1,"command":"__proto__"}'), "unknown-command");
    assert.deepEqual(decodeRequest('{"v":1,"command":"delete-sas","args":{"dst":"10.0.0.2"}}'), {
      v: 1,
      command: "delete-sas",
      args: { dst: "10.0.0.2" },
    });
    assert.equal(code('{"v":1,"command":"delete-sas","args":["x"]}'), "malformed-request");
    assert.equal(code('{"v":1,"command":"delete-sas","args":{"dst":2}}'), "malformed-request");
  });

  it("a reply of the wrong version or form is an error, not a cast", () => {
    assert.deepEqual(decodeReply("delete-sas", '{"v":1,"ok":true,"result":{"deletedIkeSas":[]}}'), {
      deletedIkeSas: [],
    });
    assert.throws(() => decodeReply("stats", '{"time":"x"}'), { code: "unsupported-version" });
    assert.throws(() => decodeReply("bypass", '{"v":1,"ok":true,"result":{"peers":3}}'), {
      code: "failed",
    });
    assert.throws(() => decodeReply("mmsas", '{"v":1,"ok":true,"result":{}}'), { code: "failed" });
    assert.throws(
      () =>
        decodeReply("qmsas", '{"v":1,"ok":false,"error":{"code":"not-supported","message":"no"}}'),
      { code: "not-supported", message: "no" },
    );
  });
});

describe("control socket: both ends over a Unix socket", () => {
  const home = tempHome("pctl");
  const sock = path.join(home.dir, "agent.sock");
  let server: net.Server;
  before(async () => {
    server = await startControlServer(sock, handler);
  });
  after(() => {
    server.close();
    home.cleanup();
  });

  it("answers a typed request with its typed result", async () => {
    const r = await requestControl(sock, "delete-sas");
    assert.deepEqual(r.deletedIkeSas, ["aa_bb"]);
    const one = await requestControl(sock, "delete-sas", 5000, { dst: "10.0.0.2" });
    assert.deepEqual(one.deletedIkeSas, ["to 10.0.0.2"], "the args reach the agent's handler");
    const reload = await requestControl(sock, "reload");
    assert.equal(reload.reloaded, true);
  });

  it("an unknown command, a bare word or another version: one typed error line", async () => {
    const unknown = JSON.parse(await raw(sock, '{"v":1,"command":"shutdown"}\n'));
    assert.equal(unknown.v, CONTROL_VERSION);
    assert.equal(unknown.ok, false);
    assert.equal(unknown.error.code, "unknown-command");
    assert.match(unknown.error.message, /unknown command "shutdown" \(try: stats, bypass/);
    const bare = JSON.parse(await raw(sock, "stats\n"));
    assert.equal(bare.error.code, "malformed-request");
    const v2 = JSON.parse(await raw(sock, '{"v":2,"command":"stats"}\n'));
    assert.equal(v2.error.code, "unsupported-version");
    const long = await raw(sock, "x".repeat(5000));
    assert.equal(long.split("\n").length, 2, "one line");
    assert.equal(JSON.parse(long).error.code, "malformed-request");
  });

  it("a refusal or failure of the agent reaches the caller as one PosternError line", async () => {
    await assert.rejects(requestControl(sock, "qmsas"), (e: Error) => {
      assert.ok(e instanceof PosternError);
      assert.equal(e.code, "agent-control");
      assert.equal(e.message, "the agent answered: qmsas: not on this agent");
      return true;
    });
    await assert.rejects(requestControl(sock, "purge"), {
      message: "the agent answered: ccache busy",
    });
  });

  it("no agent: one line naming the socket", async () => {
    await assert.rejects(requestControl(path.join(home.dir, "none.sock"), "stats"), {
      code: "agent-control",
      message: /cannot reach the agent at .*none\.sock \(ENOENT\)/,
    });
  });
});
