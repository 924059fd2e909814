/**
 * One IKE peer wired to real parts: UDP sockets, the system clock, node's randomness and
 * DH through primitives. Used by `postern ike` and the interop tests (the agent wires the
 * same engine to its own sockets and data path: src/agent/ike-run.ts).
 */
import { dhGenerateFast, randomBytes } from "../crypto/primitives.js";
import { systemClock } from "./clock.js";
import { createIkeEngine, type IkeEngine } from "./engine.js";
import { createDhPool, createRandomPool } from "./prepared.js";
import { createUdpTransport, type IkeTransport } from "./transport.js";
import type { DhGroupId } from "./transforms.js";
import type { ChildSaRecord, IkeOptions, PeerConfig } from "./types.js";

export interface IkePeerRunner {
  engine: IkeEngine;
  transport: IkeTransport;
  close(): Promise<void>;
}

export interface RunnerHooks {
  log: (line: string) => void;
  onChildSa: (sa: ChildSaRecord) => void;
  onChildSaDeleted: (spiIn: number) => void;
  onIkeSaState?: (peer: string, spis: string, state: string) => void;
  options?: Partial<IkeOptions>;
  ikePort?: number;
  nattPort?: number;
}

export async function startIkePeer(
  peers: PeerConfig[],
  bindAddress: string,
  hooks: RunnerHooks,
): Promise<IkePeerRunner> {
  const transport = await createUdpTransport({
    address: bindAddress,
    ikePort: hooks.ikePort,
    nattPort: hooks.nattPort,
    log: hooks.log,
  });
  const dh = createDhPool(dhGenerateFast, (work) => setImmediate(work));
  for (const p of peers) for (const m of p.mm) dh.prepare(m.dhGroup as DhGroupId);
  const engine = createIkeEngine({
    peers,
    clock: systemClock(),
    random: createRandomPool(randomBytes),
    send: (d) => transport.send(d),
    log: hooks.log,
    dh: (group) => dh.take(group),
    onChildSa: hooks.onChildSa,
    onChildSaDeleted: hooks.onChildSaDeleted,
    onIkeSaState: hooks.onIkeSaState,
    options: hooks.options,
  });
  transport.onReceive((d) => void engine.receive(d));
  return {
    engine,
    transport,
    close: async () => {
      engine.close();
      await transport.close();
    },
  };
}
