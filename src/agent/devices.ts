/**
 * The data path's devices, opened once for both ways of running the agent (IKE and manual
 * keys): TUN `postern0`, the bypass device `postern-bp` (a second TUN, inbound only: packets
 * of SAs the firewall's bypass admitted; IKE only), the UDP socket ESP-in-UDP and IKE-on-4500 share (SO_MARK bypass,
 * so steering never loops it back), and the raw AH socket when a policy asks for AH.
 * `close()` releases whatever was opened, also after a failure half-way.
 */
import type { LibcApi } from "../platform/libc.js";
import { openTun } from "../platform/tun.js";
import { openRawAhSocket, openUdpSocket, type UdpEndpoint } from "../platform/udp.js";

export interface DataPathDevices {
  readonly tunFd: number;
  /** -1 without a bypass device. */
  readonly bypassTunFd: number;
  readonly udpFd: number;
  /** -1 until openRaw(). */
  readonly rawFd: number;
  openRaw(): void;
  close(): void;
}

export function openDataPathDevices(
  libc: LibcApi,
  o: { tun: string; bypassTun?: string; listen: UdpEndpoint; mark: number },
): DataPathDevices {
  const fds = { tunFd: openTun(libc, o.tun).fd, bypassTunFd: -1, udpFd: -1, rawFd: -1 };
  const close = () => {
    for (const fd of [fds.rawFd, fds.udpFd, fds.bypassTunFd, fds.tunFd])
      if (fd >= 0) libc.close(fd);
    fds.rawFd = fds.udpFd = fds.bypassTunFd = fds.tunFd = -1;
  };
  try {
    if (o.bypassTun !== undefined) fds.bypassTunFd = openTun(libc, o.bypassTun).fd;
    fds.udpFd = openUdpSocket(libc, o.listen, o.mark);
  } catch (e) {
    close();
    throw e;
  }
  return {
    get tunFd() {
      return fds.tunFd;
    },
    get bypassTunFd() {
      return fds.bypassTunFd;
    },
    get udpFd() {
      return fds.udpFd;
    },
    get rawFd() {
      return fds.rawFd;
    },
    openRaw() {
      if (fds.rawFd < 0) fds.rawFd = openRawAhSocket(libc, o.mark);
    },
    close,
  };
}
