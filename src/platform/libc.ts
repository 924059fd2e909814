/**
 * The C library calls the data path needs, through koffi: TUN (open/ioctl), blocking
 * read/write/poll, and a UDP socket we own end to end (socket/bind/setsockopt SO_MARK,
 * sendto/recvfrom), because Node's net/dgram cannot take a TUN fd and its thread pool is
 * 4-8x slower than a worker thread blocking in read(2) (docs/datapath.md).
 *
 * Every call returns the C result; on -1 the caller reads `errno()`. Nothing here throws
 * except `loadLibc` when libc cannot be loaded. One LibcApi per thread (koffi handles are
 * per isolate).
 */
import koffi from "koffi";

export interface LibcApi {
  open(path: string, flags: number): number;
  close(fd: number): number;
  /** ioctl with a pointer argument (struct ifreq and friends). */
  ioctlPtr(fd: number, request: number, arg: Buffer): number;
  read(fd: number, buf: Buffer, count: number): number;
  write(fd: number, buf: Buffer, count: number): number;
  /** poll(2) on one fd; returns >0 when ready, 0 on timeout. */
  pollOne(fd: number, events: number, timeoutMs: number): number;
  /** poll(2) for input on up to 4 fds; returns >0 when one is ready, 0 on timeout. */
  pollIn(fds: readonly number[], timeoutMs: number): number;
  socket(domain: number, type: number, protocol: number): number;
  bind(fd: number, addr: Buffer, len: number): number;
  setsockoptInt(fd: number, level: number, name: number, value: number): number;
  sendto(fd: number, buf: Buffer, len: number, flags: number, addr: Buffer, alen: number): number;
  /** recvfrom with a sockaddr buffer; alen is a 4-byte buffer holding the address length. */
  recvfrom(fd: number, buf: Buffer, len: number, flags: number, addr: Buffer, alen: Buffer): number;
  fcntl(fd: number, cmd: number, arg: number): number;
  errno(): number;
}

export const O_RDWR = 0o2;
export const O_NONBLOCK = 0o4000;
export const F_GETFL = 3;
export const F_SETFL = 4;
export const POLLIN = 1;
export const AF_INET = 2;
export const SOCK_DGRAM = 2;
export const SOCK_RAW = 3;
export const IPPROTO_IP = 0;
export const IP_HDRINCL = 3;
export const SOL_SOCKET = 1;
export const SO_REUSEADDR = 2;
export const SO_RCVBUF = 8;
export const SO_SNDBUF = 7;
export const SO_MARK = 36;
export const MSG_DONTWAIT = 0x40;
export const EAGAIN = 11;
export const EINTR = 4;
export const EIO = 5;
export const EINVAL = 22;
export const EOPNOTSUPP = 95;

export function loadLibc(): LibcApi {
  const lib = koffi.load("libc.so.6");
  const open = lib.func("int open(const char *path, int flags)");
  const close = lib.func("int close(int fd)");
  const ioctl = lib.func("int ioctl(int fd, unsigned long req, ...)");
  const read = lib.func("long read(int fd, void *buf, unsigned long count)");
  const write = lib.func("long write(int fd, const void *buf, unsigned long count)");
  const poll = lib.func("int poll(void *fds, unsigned long nfds, int timeout)");
  const socket = lib.func("int socket(int domain, int type, int protocol)");
  const bind = lib.func("int bind(int fd, const void *addr, uint32_t len)");
  const setsockopt = lib.func(
    "int setsockopt(int fd, int level, int name, const void *val, uint32_t len)",
  );
  const sendto = lib.func(
    "long sendto(int fd, const void *buf, unsigned long len, int flags, const void *addr, uint32_t alen)",
  );
  const recvfrom = lib.func(
    "long recvfrom(int fd, void *buf, unsigned long len, int flags, void *addr, void *alen)",
  );
  const fcntl = lib.func("int fcntl(int fd, int cmd, ...)");
  const pollfd = Buffer.alloc(8);
  const pollfds = Buffer.alloc(32);
  const intBuf = Buffer.alloc(4);
  return {
    open: (p, f) => open(p, f),
    close: (fd) => close(fd),
    ioctlPtr: (fd, req, arg) => ioctl(fd, req, "void *", arg),
    read: (fd, buf, n) => Number(read(fd, buf, n)),
    write: (fd, buf, n) => Number(write(fd, buf, n)),
    pollOne: (fd, events, timeoutMs) => {
      pollfd.writeInt32LE(fd, 0);
      pollfd.writeInt16LE(events, 4);
      pollfd.writeInt16LE(0, 6);
      return poll(pollfd, 1, timeoutMs);
    },
    pollIn: (fds, timeoutMs) => {
      const n = Math.min(fds.length, 4);
      for (let i = 0; i < n; i++) {
        pollfds.writeInt32LE(fds[i] as number, 8 * i);
        pollfds.writeInt16LE(POLLIN, 8 * i + 4);
        pollfds.writeInt16LE(0, 8 * i + 6);
      }
      return poll(pollfds, n, timeoutMs);
    },
    socket: (d, t, p) => socket(d, t, p),
    bind: (fd, a, l) => bind(fd, a, l),
    setsockoptInt: (fd, level, name, value) => {
      intBuf.writeInt32LE(value, 0);
      return setsockopt(fd, level, name, intBuf, 4);
    },
    sendto: (fd, b, l, f, a, al) => Number(sendto(fd, b, l, f, a, al)),
    recvfrom: (fd, b, l, f, a, al) => Number(recvfrom(fd, b, l, f, a, al)),
    fcntl: (fd, cmd, arg) => fcntl(fd, cmd, "int", arg),
    errno: () => koffi.errno(),
  };
}

/**
 * A block of native memory with a stable address, seen from JS as a Buffer. The packet
 * loops keep their packets here and hand C functions plain addresses (numbers): koffi
 * marshals a Buffer argument in ~0.6 us, a number in a few ns (docs/datapath.md).
 */
export interface NativeBlock {
  bytes: Buffer;
  address: number;
  /** The address of a view into `bytes`, or -1 when the view lies elsewhere. */
  addressOf(view: Uint8Array): number;
  free(): void;
}

export function allocNative(size: number): NativeBlock {
  const ptr = koffi.alloc("uint8_t", size);
  const bytes = Buffer.from(koffi.view(ptr, size));
  const address = Number(koffi.address(ptr));
  // Read once: a typed array's `buffer` is a call into the runtime (~20 ns here), and the
  // packet loops ask for addresses several times per packet.
  const buffer = bytes.buffer;
  const base = address - bytes.byteOffset;
  return {
    bytes,
    address,
    addressOf: (view) => (view.buffer === buffer ? base + view.byteOffset : -1),
    free: () => koffi.free(ptr),
  };
}

/** The packet loops' C calls on addresses (see NativeBlock); results as in LibcApi. */
export interface LibcAt {
  readAt(fd: number, addr: number, count: number): number;
  writeAt(fd: number, addr: number, count: number): number;
  sendtoAt(fd: number, addr: number, len: number, flags: number, to: number, alen: number): number;
  recvfromAt(
    fd: number,
    addr: number,
    len: number,
    flags: number,
    from: number,
    alen: number,
  ): number;
  /** sendmmsg(2): `vec` is the address of `count` struct mmsghdr; returns messages sent. */
  sendmmsgAt(fd: number, vec: number, count: number, flags: number): number;
  /** recvmmsg(2) without a timeout; returns messages received. */
  recvmmsgAt(fd: number, vec: number, count: number, flags: number): number;
  /** ioctl(2) whose argument is a value, not a pointer (TUNSETOFFLOAD). */
  ioctlValue(fd: number, request: number, value: number): number;
}

export function loadLibcAt(): LibcAt {
  const lib = koffi.load("libc.so.6");
  const read = lib.func("long read(int fd, uintptr_t buf, unsigned long count)");
  const write = lib.func("long write(int fd, uintptr_t buf, unsigned long count)");
  const sendto = lib.func(
    "long sendto(int fd, uintptr_t buf, unsigned long len, int flags, uintptr_t addr, uint32_t alen)",
  );
  const recvfrom = lib.func(
    "long recvfrom(int fd, uintptr_t buf, unsigned long len, int flags, uintptr_t addr, uintptr_t alen)",
  );
  const sendmmsg = lib.func("int sendmmsg(int fd, uintptr_t vec, unsigned int n, int flags)");
  const ioctl = lib.func("int ioctl(int fd, unsigned long req, ...)");
  const recvmmsg = lib.func(
    "int recvmmsg(int fd, uintptr_t vec, unsigned int n, int flags, uintptr_t timeout)",
  );
  return {
    readAt: (fd, a, n) => Number(read(fd, a, n)),
    writeAt: (fd, a, n) => Number(write(fd, a, n)),
    sendtoAt: (fd, a, l, f, to, al) => Number(sendto(fd, a, l, f, to, al)),
    recvfromAt: (fd, a, l, f, from, al) => Number(recvfrom(fd, a, l, f, from, al)),
    sendmmsgAt: (fd, v, n, f) => sendmmsg(fd, v, n, f),
    recvmmsgAt: (fd, v, n, f) => recvmmsg(fd, v, n, f, 0),
    ioctlValue: (fd, req, value) => ioctl(fd, req, "unsigned long", value),
  };
}

export const EFD_NONBLOCK = 0o4000;
export const EFD_CLOEXEC = 0o2000000;

/** eventfd(2): a counter fd one thread writes to wake another that polls it; -1 on error. */
export function openEventFd(): number {
  const lib = koffi.load("libc.so.6");
  const eventfd = lib.func("int eventfd(unsigned int initval, int flags)");
  return eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
}
