/**
 * Two IKE engines on a fake network with a manual clock: the protocol core tested without
 * sockets or root (WireGuard's bindtest idea).
 */
import { dhGenerateFast, randomBytes } from "../../src/crypto/primitives.js";
import { createPskAuth } from "../../src/ike/auth.js";
import { createIkeEngine, type IkeEngine } from "../../src/ike/engine.js";
import { selectorFromCidr } from "../../src/ike/selectors.js";
import { createFakeNetwork, type FakeNetwork } from "../../src/ike/transport.js";
import type { ChildSaRecord, Clock, IkeOptions, PeerConfig } from "../../src/ike/types.js";

export interface ManualClock extends Clock {
  advance(ms: number): void;
}

export function manualClock(): ManualClock {
  let now = 0;
  let seq = 0;
  const timers = new Map<number, { at: number; fn: () => void }>();
  return {
    now: () => now,
    setTimer(ms, fn) {
      const id = seq++;
      timers.set(id, { at: now + ms, fn });
      return () => timers.delete(id);
    },
    advance(ms) {
      const end = now + ms;
      for (let guard = 0; guard < 10_000; guard++) {
        const due = [...timers.entries()]
          .filter(([, t]) => t.at <= end)
          .sort((a, b) => a[1].at - b[1].at)[0];
        if (!due) break;
        timers.delete(due[0]);
        now = due[1].at;
        due[1].fn();
      }
      now = end;
    },
  };
}

/** Lets queued deliveries and promise chains run (bounded). */
export async function settle(): Promise<void> {
  for (let i = 0; i < 300; i++) await new Promise((r) => setImmediate(r));
}

export interface Side {
  engine: IkeEngine;
  children: ChildSaRecord[];
  deleted: number[];
  logs: string[];
  states: string[];
}

export function peer(
  over: Partial<PeerConfig> & { localAddress: string; remoteAddress: string },
): PeerConfig {
  return {
    name: `to-${over.remoteAddress}`,
    localId: over.localAddress,
    remoteId: null,
    auth: createPskAuth("correct horse battery staple"),
    mm: [{ conf: "aes128gcm", hash: "sha256", dhGroup: 31 }],
    qm: [{ esp: { conf: "aes128gcm", auth: "none" }, lifetimeKb: 100_000, lifetimeSec: 3600 }],
    pfs: false,
    localTs: [selectorFromCidr(`${over.localAddress}/32`)],
    remoteTs: [selectorFromCidr(`${over.remoteAddress}/32`)],
    mode: "tunnel",
    forceEncap: false,
    ...over,
  };
}

export function side(
  net: FakeNetwork,
  clock: Clock,
  address: string,
  peers: PeerConfig[],
  options: Partial<IkeOptions> = {},
  dh: typeof dhGenerateFast = dhGenerateFast,
): Side {
  const t = net.transport(address);
  const s: Side = {
    engine: undefined as unknown as IkeEngine,
    children: [],
    deleted: [],
    logs: [],
    states: [],
  };
  s.engine = createIkeEngine({
    peers,
    clock,
    random: randomBytes,
    send: (d) => t.send(d),
    log: (l) => s.logs.push(l),
    dh,
    onChildSa: (c) => s.children.push(c),
    onChildSaDeleted: (spi) => s.deleted.push(spi),
    onIkeSaState: (_p, _s, st) => {
      s.states.push(st);
    },
    options: { livenessMs: 0, ...options },
  });
  t.onReceive((d) => void s.engine.receive(d));
  return s;
}

export const A = "10.0.0.1";
export const B = "10.0.0.2";

export function pair(
  aOver: Partial<PeerConfig> = {},
  bOver: Partial<PeerConfig> = {},
  opts: {
    a?: Partial<IkeOptions>;
    b?: Partial<IkeOptions>;
    dhA?: typeof dhGenerateFast;
    dhB?: typeof dhGenerateFast;
  } = {},
) {
  const net = createFakeNetwork();
  const clock = manualClock();
  const aPeers = [peer({ localAddress: A, remoteAddress: B, ...aOver })];
  const a = side(net, clock, A, aPeers, opts.a, opts.dhA);
  const bPeers = [peer({ localAddress: B, remoteAddress: A, ...bOver })];
  const b = side(net, clock, B, bPeers, opts.b, opts.dhB);
  return { net, clock, a, b };
}
