/**
 * IKE under flood over real UDP sockets: in a network namespace of its own (loopback only),
 * a Kerberos responder on 127.0.0.1:500 takes 40,000 IKE_SA_INIT requests from 1,000 source
 * addresses (127.1.x.y) that never return a COOKIE, while an initiator on 127.0.0.3 sets up
 * its IKE SA. See flood-udp-peer.ts; the figures go to docs/ike.md.
 */
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { needsRoot, uniqueName } from "../helpers/cli.js";

const PEER = fileURLToPath(new URL("./flood-udp-peer.js", import.meta.url));

function ip(args: string[]): void {
  const r = spawnSync("ip", args, { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`ip ${args.join(" ")}: ${r.stderr.trim()}`);
}

function runIn(ns: string, args: string[], timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn("ip", ["netns", "exec", ns, process.execPath, PEER, ...args], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    child.stdout.on("data", (b) => {
      out += b;
    });
    child.stderr.on("data", (b) => {
      err += b;
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("exit", (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(out);
      else reject(new Error(`flood-udp-peer exited ${code}: ${err.trim()}`));
    });
  });
}

describe("IKE under an IKE_SA_INIT flood over UDP (namespace, loopback)", needsRoot(), () => {
  it("a Kerberos initiator gets its IKE SA while 40,000 IKE_SA_INIT from 1,000 sources arrive; half-open SAs stay at the cookie threshold", async (t) => {
    const ns = uniqueName("pikfl");
    ip(["netns", "add", ns]);
    try {
      ip(["-n", ns, "link", "set", "lo", "up"]);
      const out = await runIn(ns, ["run", "40000", "1000"], 90_000);
      const f = JSON.parse(out.trim().split("\n").at(-1) ?? "{}");
      t.diagnostic(`figures ${JSON.stringify(f)}`);
      // The flood overruns the responder's socket buffer: the initiator's datagrams are lost
      // with the flood's and retransmitted (1 s, 2 s, ... RFC 7296 §2.1), so the bound is the
      // retransmission schedule, not the quiet figure.
      assert.ok(f.floodMs > 0 && f.floodMs < 30_000, `time to SA under flood: ${f.floodMs} ms`);
      assert.ok(f.cookiesDuring > 0, "the flood ran while the SA was set up");
      assert.ok(f.maxHalfOpen <= 65, `half-open SAs peaked at ${f.maxHalfOpen}`);
      assert.ok(f.cookieRequired >= 1000, `${f.cookieRequired} cookies asked`);
      assert.equal(f.established, 2, "the quiet and the flooded initiator both got an IKE SA");
    } finally {
      spawnSync("ip", ["netns", "del", ns]);
    }
  });
});
