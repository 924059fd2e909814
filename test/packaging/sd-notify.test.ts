/**
 * sd_notify(3) as systemd receives it: a Python AF_UNIX datagram socket stands in for the
 * service manager's NOTIFY_SOCKET; `postern dc start` sends READY=1 (with its status and
 * pid) once it serves and STOPPING=1 on SIGTERM. Also the sockaddr_un layout for a path
 * and for Linux's abstract namespace, and no datagram at all without NOTIFY_SOCKET.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import * as path from "node:path";
import { after, describe, it } from "node:test";
import { sdNotify, sockaddrUn } from "../../src/platform/sd-notify.js";
import { BIN, tempHome } from "../helpers/cli.js";
import { cliInit } from "../dc/helpers.js";

/** A datagram listener printing each datagram as one JSON string per line. */
const LISTENER = `
import socket, sys, json
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
print(json.dumps("listening"), flush=True)
while True:
    print(json.dumps(s.recv(4096).decode()), flush=True)
`;

function listen(at: string): {
  proc: ChildProcess;
  messages: string[];
  next(n: number): Promise<void>;
} {
  const proc = spawn("/usr/bin/python3", ["-c", LISTENER, at], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const messages: string[] = [];
  let buf = "";
  const waiters: (() => void)[] = [];
  proc.stdout?.on("data", (c: Buffer) => {
    buf += c.toString();
    for (let i = buf.indexOf("\n"); i >= 0; i = buf.indexOf("\n")) {
      messages.push(JSON.parse(buf.slice(0, i)) as string);
      buf = buf.slice(i + 1);
      for (const w of waiters.splice(0)) w();
    }
  });
  return {
    proc,
    messages,
    async next(n) {
      const deadline = Date.now() + 20_000;
      while (messages.length < n && Date.now() < deadline)
        await new Promise<void>((r) => {
          waiters.push(r);
          setTimeout(r, 250);
        });
    },
  };
}

describe("sd_notify", () => {
  const home = tempHome("psdn");
  const started: ChildProcess[] = [];
  after(() => {
    for (const p of started) if (p.exitCode === null && p.signalCode === null) p.kill("SIGKILL");
    home.cleanup();
  });

  it("sockaddr_un: a path with its NUL, an abstract name after a NUL, too long refused", () => {
    const p = sockaddrUn("/run/systemd/notify");
    assert.equal(p.addr.readUInt16LE(0), 1);
    assert.equal(p.addr.subarray(2, 2 + 19).toString(), "/run/systemd/notify");
    assert.equal(p.len, 2 + 19 + 1);
    const a = sockaddrUn("@sd-notify-1");
    assert.equal(a.addr[2], 0);
    assert.equal(a.addr.subarray(3, 3 + 11).toString(), "sd-notify-1");
    assert.equal(a.len, 2 + 1 + 11);
    assert.throws(() => sockaddrUn(`/${"x".repeat(120)}`), /not a usable AF_UNIX address/);
    assert.equal(sdNotify("READY=1", {}), false, "no NOTIFY_SOCKET: nothing sent");
  });

  it("postern dc start: READY=1 with status and pid once it serves, STOPPING=1 on SIGTERM", async () => {
    await cliInit(home.dir);
    const sock = path.join(home.dir, "notify.sock");
    const l = listen(sock);
    started.push(l.proc);
    await l.next(1);
    assert.deepEqual(l.messages, ["listening"]);
    const args = ["--home", home.dir, "dc", "start", "--listen", "127.0.0.1"];
    args.push("--dns-port", "0", "--kdc-port", "0", "--api-port", "0");
    const dc = spawn(process.execPath, [BIN, ...args], {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, NOTIFY_SOCKET: sock },
    });
    started.push(dc);
    await l.next(2);
    const ready = l.messages[1] ?? "";
    assert.match(ready, /^READY=1\nSTATUS=dc: ready \(dns port \d+, api port \d+/);
    assert.match(ready, new RegExp(`\\nMAINPID=${dc.pid}$`));
    const exited = new Promise<number | null>((r) => dc.on("exit", (c) => r(c)));
    dc.kill("SIGTERM");
    await l.next(3);
    assert.equal(l.messages[2], "STOPPING=1");
    assert.equal(await exited, 0);
  });
});
