/**
 * impacket's getST.py (python3-impacket 0.10) against a KDC on another port than 88:
 * impacket always talks to port 88, so the script runs with getaddrinfo mapping 88 to
 * `port` (nothing else in impacket changes). Used by the S4U tests (ad-exchanges-interop,
 * dc-delegation); importing it does nothing.
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";

const GETST = "/usr/share/doc/python3-impacket/examples/getST.py";
export const haveGetSt = fs.existsSync(GETST) || fs.existsSync(`${GETST}.gz`);

/** Runs getST.py with impacket's fixed port 88 mapped to `port`. */
export function getSt(args: string[], port: number, cwd: string) {
  const script = `
import socket, sys, runpy, gzip, os
orig = socket.getaddrinfo
socket.getaddrinfo = lambda h, p, *a, **k: orig(h, ${port} if p == 88 else p, *a, **k)
path = sys.argv[1]
sys.argv = ['getST.py'] + sys.argv[2:]
if path.endswith('.gz') or not os.path.exists(path):
    src = gzip.open(path + ('' if path.endswith('.gz') else '.gz')).read()
    exec(compile(src, 'getST.py', 'exec'), {'__name__': '__main__'})
else:
    runpy.run_path(path, run_name='__main__')
`;
  return new Promise<{ status: number; out: string }>((resolve) => {
    const child = spawn("/usr/bin/python3", ["-c", script, GETST, ...args], { cwd });
    let out = "";
    const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
    child.stdout.on("data", (d) => {
      out += String(d);
    });
    child.stderr.on("data", (d) => {
      out += String(d);
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ status: code ?? -1, out });
    });
  });
}
