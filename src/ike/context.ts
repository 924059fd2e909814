/**
 * What the exchange handlers ask of the engine: sending requests through the window,
 * SA bookkeeping, child SA installation and logging. engine.ts implements it; the
 * exchanges stay free of tables and timers.
 */
import type { CookieJar } from "./cookie.js";
import type { IkeDropReason } from "./drops.js";
import type { HalfOpenTable } from "./half-open.js";
import type { IkeMessage, Payload } from "./message.js";
import type {
  ChildSaRecord,
  Datagram,
  Endpoint,
  IkeDeps,
  IkeOptions,
  IkeSa,
  PeerConfig,
} from "./types.js";

export type ResponseHandler = (
  payloads: Payload[],
  msg: IkeMessage,
  raw: Buffer,
) => Promise<void> | void;

/** A request handler's answer: payloads to send back, and what to do once sent. */
export interface Reply {
  payloads: Payload[];
  after?: () => void;
}

export interface EngineContext {
  deps: IkeDeps;
  opt: IkeOptions;
  log(sa: IkeSa | null, line: string): void;
  /** One step of a setup for the breakdown (IkeDeps.mark); nothing when marks are off. */
  mark(sa: IkeSa, step: string): void;
  drop(reason: IkeDropReason, detail: string): void;
  request(
    sa: IkeSa,
    exchangeType: number,
    build: () => Payload[],
    onResponse: ResponseHandler,
  ): void;
  sendRaw(d: Datagram): void;
  registerSa(sa: IkeSa): void;
  /** Re-keys the SA table when the responder SPI becomes known. */
  rekeyTable(sa: IkeSa, oldKey: string): void;
  closeSa(sa: IkeSa, why: string): void;
  established(sa: IkeSa): void;
  installChild(sa: IkeSa, record: ChildSaRecord): void;
  removeChild(sa: IkeSa, spiIn: number, why: string): void;
  allocSpi(): number;
  /** §2.6 cookies, made and checked without state. */
  cookies: CookieJar;
  /** The responder's half-open SAs and who may add one (./half-open.ts). */
  halfOpen: HalfOpenTable;
  findPeer(remote: Endpoint, local: Endpoint): PeerConfig | undefined;
  /** The next number of the engine's event count (orders SA starts and establishments). */
  tick(): number;
  /** The other IKE SAs (any state but closed) with the same peer address. */
  others(sa: IkeSa): IkeSa[];
}
