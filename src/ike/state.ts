/**
 * IKE SA states and the one function that changes them (iked's sa_state()). Every change
 * is logged as `old -> new` with the SPIs and the peer; an illegal move throws.
 *
 *   initiator: created -> init-sent -> auth-sent -> established
 *   responder: created -> init-replied -> established
 *   established -> rekeyed (replaced by a new IKE SA) | deleting -> closed
 *   any state -> closed (failure, timeout, delete received)
 *
 * Child SAs have their own states and `transitionChild()`; a child SA is created
 * `installed` and leaves the table (removeChild) from any state:
 *
 *   installed -> rekeying -> installed (the rekey failed) | deleting (replaced)
 *   installed -> deleting
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

export type ChildSaState = "installed" | "rekeying" | "deleting";

const CHILD_LEGAL: Record<ChildSaState, readonly ChildSaState[]> = {
  installed: ["rekeying", "deleting"],
  rekeying: ["installed", "deleting"],
  deleting: [],
};

export interface HasChildState {
  state: ChildSaState;
  record: { spiIn: number; spiOut: number };
}

/** Changes a child SA's state; `log` is the IKE SA's logger (it names the IKE SA). */
export function transitionChild(
  child: HasChildState,
  to: ChildSaState,
  log: (line: string) => void,
  why = "",
): void {
  const from = child.state;
  const spis = `${hex8(child.record.spiIn)}/${hex8(child.record.spiOut)}`;
  if (!CHILD_LEGAL[from].includes(to)) {
    throw new IkeError(
      "illegal-transition",
      `child SA ${spis}: illegal transition ${from} -> ${to}`,
    );
  }
  child.state = to;
  log(`child SA ${spis}: ${from} -> ${to}${why ? ` (${why})` : ""}`);
}

export function isLegalChild(from: ChildSaState, to: ChildSaState): boolean {
  return CHILD_LEGAL[from].includes(to);
}

function hex8(spi: number): string {
  return spi.toString(16).padStart(8, "0");
}
