/**
 * Where IKE datagrams come from and go to. The real transport binds UDP 500 and 4500 on
 * one address; on 4500 IKE messages carry the 4-byte non-ESP marker (RFC 3948 §2.2) and
 * anything else is ESP-in-UDP, handed to `onEsp` (the data path's business). The fake
 * network connects transports in one process so two engines talk in unit tests, with a
 * hook to lose or rewrite packets.
 */
import * as dgram from "node:dgram";
import { IKE_NATT_PORT, IKE_PORT } from "./constants.js";
import type { Datagram, Endpoint } from "./types.js";

export interface IkeTransport {
  send(d: Datagram): void;
  onReceive(handler: (d: Datagram) => void): void;
  close(): Promise<void>;
  /** Lets the process exit even if the sockets are still open (a close that never ends). */
  unref?(): void;
}

export const NON_ESP_MARKER = Buffer.alloc(4);

export interface UdpTransportOptions {
  address: string;
  /** Ports to bind: IKE and NAT-T (500, 4500 by default; tests may use others). */
  ikePort?: number;
  nattPort?: number;
  /** ESP-in-UDP packets arriving on the NAT-T port. */
  onEsp?: (packet: Buffer, from: Endpoint) => void;
  log?: (line: string) => void;
}

function bind(sock: dgram.Socket, port: number, address: string): Promise<void> {
  return new Promise((resolve, reject) => {
    sock.once("error", reject);
    sock.bind(port, address, () => {
      sock.off("error", reject);
      resolve();
    });
  });
}

/** UDP sockets on 500 and 4500 of `address`. */
export async function createUdpTransport(o: UdpTransportOptions): Promise<IkeTransport> {
  const ikePort = o.ikePort ?? IKE_PORT;
  const nattPort = o.nattPort ?? IKE_NATT_PORT;
  const family = o.address.includes(":") ? "udp6" : "udp4";
  const ike = dgram.createSocket({ type: family, reuseAddr: false });
  const natt = dgram.createSocket({ type: family, reuseAddr: false });
  let handler: (d: Datagram) => void = () => undefined;
  await bind(ike, ikePort, o.address);
  try {
    await bind(natt, nattPort, o.address);
  } catch (e) {
    ike.close();
    throw e;
  }
  ike.on("message", (msg, rinfo) =>
    handler({
      data: msg,
      local: { address: o.address, port: ikePort },
      remote: { address: rinfo.address, port: rinfo.port },
    }),
  );
  natt.on("message", (msg, rinfo) => {
    const from = { address: rinfo.address, port: rinfo.port };
    if (msg.length === 1 && msg[0] === 0xff) return; // NAT-keepalive (RFC 3948 §2.3)
    if (msg.length >= 4 && msg.readUInt32BE(0) === 0) {
      handler({
        data: msg.subarray(4),
        local: { address: o.address, port: nattPort },
        remote: from,
      });
    } else if (o.onEsp) o.onEsp(msg, from);
  });
  for (const s of [ike, natt]) s.on("error", (e) => o.log?.(`IKE socket error: ${e.message}`));
  return {
    send(d) {
      const viaNatt = d.local.port === nattPort || d.local.port === IKE_NATT_PORT;
      const data = viaNatt ? Buffer.concat([NON_ESP_MARKER, d.data]) : d.data;
      (viaNatt ? natt : ike).send(data, d.remote.port, d.remote.address);
    },
    onReceive(h) {
      handler = h;
    },
    close: () =>
      new Promise<void>((resolve) => {
        ike.close(() => natt.close(() => resolve()));
      }),
    unref() {
      ike.unref();
      natt.unref();
    },
  };
}

export interface SharedNattOptions {
  address: string;
  ikePort?: number;
  /** Sends one datagram on the data path's UDP 4500 socket; false when it was refused. */
  sendNatt: (data: Buffer, to: Endpoint) => boolean;
  log?: (line: string) => void;
}

/**
 * IKE beside the data path: UDP 500 on its own socket; UDP 4500 is the data path's socket
 * (ESP and IKE share it), so sends go out through `sendNatt` with the non-ESP marker and
 * arrivals come to the agent as the data path's `ike` events, not through onReceive.
 */
export async function createSharedNattTransport(o: SharedNattOptions): Promise<IkeTransport> {
  const ikePort = o.ikePort ?? IKE_PORT;
  const ike = dgram.createSocket({ type: o.address.includes(":") ? "udp6" : "udp4" });
  let handler: (d: Datagram) => void = () => undefined;
  try {
    await bind(ike, ikePort, o.address);
  } catch (e) {
    ike.close();
    throw e;
  }
  ike.on("message", (msg, r) =>
    handler({
      data: msg,
      local: { address: o.address, port: ikePort },
      remote: { address: r.address, port: r.port },
    }),
  );
  ike.on("error", (e) => o.log?.(`IKE socket error: ${e.message}`));
  return {
    send(d) {
      if (d.local.port !== ikePort) {
        if (!o.sendNatt(Buffer.concat([NON_ESP_MARKER, d.data]), d.remote))
          o.log?.(`IKE send to ${d.remote.address}:${d.remote.port} failed`);
      } else ike.send(d.data, d.remote.port, d.remote.address);
    },
    onReceive(h) {
      handler = h;
    },
    close: () => new Promise<void>((resolve) => ike.close(() => resolve())),
    unref: () => ike.unref(),
  };
}

export interface FakeNetwork {
  /** A transport for `address`, reachable by the others on this network. */
  transport(address: string): IkeTransport;
  /** Decides the fate of each datagram: deliver it (possibly changed) or lose it (null). */
  setFilter(f: (d: Datagram) => Datagram | null): void;
  /** Datagrams delivered so far. */
  readonly delivered: number;
}

export function createFakeNetwork(): FakeNetwork {
  const handlers = new Map<string, (d: Datagram) => void>();
  let filter: (d: Datagram) => Datagram | null = (d) => d;
  let delivered = 0;
  return {
    transport(address) {
      return {
        send(d) {
          const copy = {
            data: Buffer.from(d.data),
            local: { ...d.local },
            remote: { ...d.remote },
          };
          setImmediate(() => {
            const f = filter(copy);
            const h = handlers.get(copy.remote.address);
            if (!f || !h) return;
            delivered++;
            h({ data: f.data, local: { ...f.remote }, remote: { ...f.local } });
          });
        },
        onReceive(h) {
          handlers.set(address, h);
        },
        close: async () => {
          handlers.delete(address);
        },
      };
    },
    setFilter(f) {
      filter = f;
    },
    get delivered() {
      return delivered;
    },
  };
}
