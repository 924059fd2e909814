/**
 * What the exchange handlers ask of the engine: sending requests through the window,
 * SA bookkeeping, child SA installation and logging. engine.ts implements it; the
 * exchanges stay free of tables and timers.
 */
import type { Payload } from "./message.js";
import type { IkeMessage } from "./message.js";
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
  drop(reason: string, detail: string): void;
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
  established(sa: IkeSa): void | Promise<void>;
  installChild(sa: IkeSa, record: ChildSaRecord): void;
  removeChild(sa: IkeSa, spiIn: number, why: string): void;
  allocSpi(): number;
  cookieFor(ni: Buffer, remote: Endpoint, spiI: Buffer): Buffer;
  halfOpenCount(): number;
  findHalfOpen(spiI: Buffer, remote: Endpoint): IkeSa | undefined;
  findPeer(remote: Endpoint, local: Endpoint): PeerConfig | undefined;
}
