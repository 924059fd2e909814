/**
 * systemd's readiness protocol (sd_notify(3)): when the service manager gave us
 * NOTIFY_SOCKET, one datagram on that AF_UNIX socket per state change ("READY=1",
 * "STOPPING=1", "STATUS=..."), so `Type=notify` units are "started" only once the daemon
 * serves. Node has no AF_UNIX datagram sockets: the socket comes from libc (platform/libc.ts).
 * Without NOTIFY_SOCKET (not under systemd) nothing is sent; a failure to send is reported,
 * never thrown, since readiness is an announcement and the daemon works without it.
 */
import { type LibcApi, loadLibc } from "./libc.js";

const AF_UNIX = 1;
const SOCK_DGRAM = 2;
const SOCK_CLOEXEC = 0o2000000;
/** sizeof(struct sockaddr_un): sa_family_t then sun_path[108]. */
const SUN_PATH_MAX = 108;

/** struct sockaddr_un for `path` ("@name": Linux abstract namespace) and its length. */
export function sockaddrUn(path: string): { addr: Buffer; len: number } {
  const abstract = path.startsWith("@");
  const name = Buffer.from(abstract ? path.slice(1) : path, "utf8");
  if (name.length === 0 || name.length + 1 > SUN_PATH_MAX)
    throw new Error(`NOTIFY_SOCKET '${path}' is not a usable AF_UNIX address`);
  const addr = Buffer.alloc(2 + SUN_PATH_MAX);
  addr.writeUInt16LE(AF_UNIX, 0);
  // abstract: a NUL first, then the name, and the length counts no trailing NUL
  name.copy(addr, abstract ? 3 : 2);
  return { addr, len: abstract ? 2 + 1 + name.length : 2 + name.length + 1 };
}

let libc: LibcApi | undefined;

/**
 * Sends `state` (e.g. "READY=1\nSTATUS=serving") to $NOTIFY_SOCKET. Returns false when
 * there is no such socket, true when sent; throws only for an unusable address or a failed
 * send, which callers log.
 */
export function sdNotify(
  state: string,
  env: Readonly<Record<string, string | undefined>> = process.env,
): boolean {
  const target = env.NOTIFY_SOCKET;
  if (!target) return false;
  const { addr, len } = sockaddrUn(target);
  libc ??= loadLibc();
  const fd = libc.socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw new Error(`sd_notify: socket() failed (errno ${libc.errno()})`);
  try {
    const msg = Buffer.from(state, "utf8");
    const n = libc.sendto(fd, msg, msg.length, 0, addr, len);
    if (n !== msg.length)
      throw new Error(`sd_notify: sendto ${target} failed (errno ${libc.errno()})`);
    return true;
  } finally {
    libc.close(fd);
  }
}

/** sdNotify for daemons: a failure becomes one log line. */
export function notifySystemd(
  state: string,
  vars: Readonly<Record<string, string | undefined>>,
  log: (line: string) => void,
): void {
  try {
    sdNotify(state, vars);
  } catch (e) {
    log((e as Error).message);
  }
}
