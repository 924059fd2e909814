/**
 * IKE SA states and the one function that changes them (iked's sa_state()). Every change
 * is logged as `old -> new` with the SPIs and the peer; an illegal move throws.
 *
 *   initiator: created -> init-sent -> auth-sent -> established
 *   responder: created -> init-replied -> established
 *   established -> rekeyed (replaced by a new IKE SA) | deleting -> closed
 *   any state -> closed (failure, timeout, delete received)
 */
import { IkeError } from "./errors.js";

export type IkeSaState =
  | "created"
  | "init-sent"
  | "init-replied"
  | "auth-sent"
  | "established"
  | "rekeyed"
  | "deleting"
  | "closed";

const LEGAL: Record<IkeSaState, readonly IkeSaState[]> = {
  created: ["init-sent", "init-replied", "closed"],
  "init-sent": ["init-sent", "auth-sent", "closed"],
  "init-replied": ["established", "closed"],
  "auth-sent": ["established", "closed"],
  established: ["rekeyed", "deleting", "closed"],
  rekeyed: ["deleting", "closed"],
  deleting: ["closed"],
  closed: [],
};

export interface HasState {
  state: IkeSaState;
  spiI: Buffer;
  spiR: Buffer;
  remote: { address: string; port: number };
}

export function spiText(sa: { spiI: Buffer; spiR: Buffer }): string {
  return `${sa.spiI.toString("hex")}_${sa.spiR.toString("hex")}`;
}

export function transition(
  sa: HasState,
  to: IkeSaState,
  log: (line: string) => void,
  why = "",
): void {
  const from = sa.state;
  if (!LEGAL[from].includes(to)) {
    throw new IkeError(
      "illegal-transition",
      `IKE SA ${spiText(sa)}: illegal transition ${from} -> ${to}`,
    );
  }
  sa.state = to;
  log(`IKE SA ${spiText(sa)} ${sa.remote.address}: ${from} -> ${to}${why ? ` (${why})` : ""}`);
}

export function isLegal(from: IkeSaState, to: IkeSaState): boolean {
  return LEGAL[from].includes(to);
}
