/**
 * What the engine tells about an IKE SA (`engine.sas()`): the agent's monitor, netsh's
 * `show mmsas` and the bypass decision read it.
 */
import type { PeerIdentity } from "./auth.js";
import { TransformType } from "./constants.js";
import { spiText } from "./state.js";
import { transformName } from "./transforms.js";
import type { Endpoint, IkeSa } from "./types.js";

export interface IkeSaInfo {
  spis: string;
  peer: string;
  state: IkeSa["state"];
  initiator: boolean;
  remote: Endpoint;
  natT: boolean;
  children: number[];
  /** The peer's IKE ID and what its auth method verified (Kerberos: PAC SIDs). */
  peerId: string | null;
  identity: PeerIdentity | null;
  /** Negotiated algorithms as strongSwan names them (null before IKE_SA_INIT completes). */
  suite: { encr: string; integ: string; prf: string; dh: string } | null;
  /** Our configured auth method ("psk", "kerberos", "rootca"); identity.method says what the peer used. */
  auth: string;
  /** IKE SA lifetime in seconds (0 = none). */
  lifetimeSec: number;
}

export function saInfo(sa: IkeSa): IkeSaInfo {
  return {
    spis: spiText(sa),
    peer: sa.peer.name,
    state: sa.state,
    initiator: sa.initiator,
    remote: { ...sa.remote },
    natT: sa.natT,
    children: [...sa.children.keys()],
    peerId: sa.peerId,
    identity: sa.identity ?? null,
    suite: suiteNames(sa),
    auth: sa.peer.auth.name,
    lifetimeSec: sa.peer.ikeLifetimeSec ?? 0,
  };
}

function suiteNames(sa: IkeSa): IkeSaInfo["suite"] {
  const s = sa.suite;
  if (s === null) return null;
  const keyed = s.encr.id === 12 || s.encr.id === 13 || s.encr.id === 20;
  const keyLength = keyed ? s.encr.keyBytes * 8 : undefined;
  return {
    encr: transformName({ type: TransformType.ENCR, id: s.encr.id, keyLength }),
    integ: s.integ ? transformName({ type: TransformType.INTEG, id: s.integ.id }) : "NONE",
    prf: s.prf ? transformName({ type: TransformType.PRF, id: s.prf.id }) : "NONE",
    dh: transformName({ type: TransformType.DH, id: s.dh ?? 0 }),
  };
}
