/**
 * A traffic peer run inside a namespace by the nftables suite:
 *   ip netns exec NS node dist/test/firewall/peer.js serve tcp=80,81 udp=53
 * It listens (TCP: accept and close; UDP: echo), prints "ready", then answers probe
 * requests read as JSON lines on stdin with one JSON line each on stdout:
 *   {"op":"tcp","host":H,"port":P,"local":L,"timeoutMs":T} -> {"ok":true|false,"error":...}
 *   {"op":"udp",...} (waits for the echo)
 * It exits when stdin closes. Imported without arguments (as the test runner does) it does
 * nothing.
 */
import * as dgram from "node:dgram";
import * as net from "node:net";
import * as readline from "node:readline";

interface Req {
  op: "tcp" | "udp";
  host: string;
  port: number;
  local?: string;
  timeoutMs: number;
}

function probeTcp(r: Req): Promise<{ ok: boolean; error?: string }> {
  return new Promise((resolve) => {
    const s = net.connect({ host: r.host, port: r.port, localAddress: r.local });
    const t = setTimeout(() => {
      s.destroy();
      resolve({ ok: false, error: "timeout" });
    }, r.timeoutMs);
    s.on("connect", () => {
      clearTimeout(t);
      s.destroy();
      resolve({ ok: true });
    });
    s.on("error", (e: NodeJS.ErrnoException) => {
      clearTimeout(t);
      resolve({ ok: false, error: e.code ?? e.message });
    });
  });
}

function probeUdp(r: Req): Promise<{ ok: boolean; error?: string }> {
  return new Promise((resolve) => {
    const s = dgram.createSocket(r.host.includes(":") ? "udp6" : "udp4");
    const done = (v: { ok: boolean; error?: string }): void => {
      clearTimeout(t);
      s.close();
      resolve(v);
    };
    const t = setTimeout(() => done({ ok: false, error: "timeout" }), r.timeoutMs);
    s.on("message", () => done({ ok: true }));
    s.on("error", (e: NodeJS.ErrnoException) => done({ ok: false, error: e.code ?? e.message }));
    s.bind({ address: r.local }, () => {
      s.connect(r.port, r.host, () => s.send("probe"));
    });
  });
}

function serve(args: string[]): void {
  for (const a of args) {
    const [kind, list] = a.split("=") as [string, string];
    for (const port of list.split(",").map(Number)) {
      if (kind === "tcp") net.createServer((c) => c.destroy()).listen(port, "::");
      else {
        const u = dgram.createSocket({ type: "udp6", ipv6Only: false });
        u.on("message", (m, rinfo) => u.send(m, rinfo.port, rinfo.address));
        u.bind(port, "::");
      }
    }
  }
  const rl = readline.createInterface({ input: process.stdin });
  rl.on("line", async (line) => {
    const r = JSON.parse(line) as Req;
    const res = r.op === "tcp" ? await probeTcp(r) : await probeUdp(r);
    process.stdout.write(`${JSON.stringify(res)}\n`);
  });
  rl.on("close", () => process.exit(0));
  setTimeout(() => process.stdout.write("ready\n"), 100);
}

if (process.argv[2] === "serve") serve(process.argv.slice(3));
