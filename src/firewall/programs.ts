/**
 * `allowedprogram`: Windows Firewall admits a program, not a port, by watching which ports
 * the binary listens on. Linux has no per-program filter on input, so at each apply the
 * ports are read from the running processes of that binary:
 *   1. every /proc/PID whose `exe` link is the program's path (the binary itself: a script
 *      run by an interpreter is the interpreter) and whose network namespace is the one the
 *      rules go to (`/proc/PID/ns/net` against /run/netns/NAME or our own);
 *   2. its sockets: the `socket:[INODE]` links of /proc/PID/fd/*;
 *   3. those inodes in /proc/PID/net/{tcp,tcp6} in state LISTEN (0A) and in
 *      /proc/PID/net/{udp,udp6} unconnected (07): their local ports.
 * The result becomes port openings (compile.ts) with the program's scope, so a program
 * started after the apply is admitted at the next apply (`postern firewall apply`, any
 * netsh firewall change, the agent's start or policy refresh).
 */
import * as fs from "node:fs";
import type { FirewallSettings, ProgramPortMap } from "./model.js";

interface ProgramPorts {
  tcp: number[];
  udp: number[];
}

/** The inode -> local port of the sockets a /proc/net/{tcp,udp}[6] table lists in `state`. */
export function parseProcNet(text: string, state: string): Map<number, number> {
  const out = new Map<number, number>();
  for (const line of text.split("\n").slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 10 || f[3] !== state) continue;
    const port = Number.parseInt((f[1] ?? "").split(":")[1] ?? "", 16);
    const inode = Number(f[9]);
    if (Number.isInteger(port) && inode > 0) out.set(inode, port);
  }
  return out;
}

const read = (p: string): string | null => {
  try {
    return fs.readFileSync(p, "utf8");
  } catch {
    return null;
  }
};

const link = (p: string): string | null => {
  try {
    return fs.readlinkSync(p);
  } catch {
    return null;
  }
};

const inodeOf = (p: string): number | null => {
  try {
    return fs.statSync(p).ino;
  } catch {
    return null;
  }
};

function socketsOf(pid: string): Set<number> {
  const out = new Set<number>();
  let fds: string[];
  try {
    fds = fs.readdirSync(`/proc/${pid}/fd`);
  } catch {
    return out;
  }
  for (const fd of fds) {
    const m = /^socket:\[(\d+)\]$/.exec(link(`/proc/${pid}/fd/${fd}`) ?? "");
    if (m) out.add(Number(m[1]));
  }
  return out;
}

function portsOf(pid: string, socks: Set<number>, into: ProgramPorts): void {
  for (const [file, state, proto] of [
    ["tcp", "0A", "tcp"],
    ["tcp6", "0A", "tcp"],
    ["udp", "07", "udp"],
    ["udp6", "07", "udp"],
  ] as const) {
    const table = parseProcNet(read(`/proc/${pid}/net/${file}`) ?? "", state);
    for (const [inode, port] of table)
      if (socks.has(inode) && !into[proto].includes(port)) into[proto].push(port);
  }
}

/** The ports of the current profile's enabled allowed programs (none: no /proc walk). */
export function programPortsFor(settings: FirewallSettings, netns?: string): ProgramPortMap {
  const p = settings.profiles[settings.currentProfile];
  if (!p.enabled || !p.exceptions) return new Map();
  return discoverProgramPorts(
    p.allowedPrograms.filter((a) => a.enabled).map((a) => a.program),
    netns,
  );
}

/** The listening ports of each program (absolute paths) in namespace `netns` (or ours). */
export function discoverProgramPorts(programs: readonly string[], netns?: string): ProgramPortMap {
  const out = new Map<string, ProgramPorts>();
  if (programs.length === 0) return out;
  for (const p of programs) out.set(p, { tcp: [], udp: [] });
  const target = inodeOf(netns ? `/run/netns/${netns}` : "/proc/self/ns/net");
  let pids: string[];
  try {
    pids = fs.readdirSync("/proc").filter((d) => /^\d+$/.test(d));
  } catch {
    return out;
  }
  for (const pid of pids) {
    const exe = link(`/proc/${pid}/exe`);
    const ports = exe === null ? undefined : out.get(exe);
    if (ports === undefined || inodeOf(`/proc/${pid}/ns/net`) !== target) continue;
    portsOf(pid, socketsOf(pid), ports);
  }
  for (const v of out.values()) {
    v.tcp.sort((a, b) => a - b);
    v.udp.sort((a, b) => a - b);
  }
  return out;
}
