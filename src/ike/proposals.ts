/**
 * Proposals from the policy model and proposal selection (RFC 7296 §2.7, §3.3.6).
 *
 * Main-mode methods (MmSecMethod: conf-hash-group) become IKE SA proposals; quick-mode
 * methods (QmSecMethod: ESP[conf,auth] or AH[hash]) become child SA proposals, one
 * proposal per method in the model's order. Names map to transform ids:
 *
 * | model          | IKE SA / ESP transform                     |
 * |----------------|--------------------------------------------|
 * | aes128, aes256 | ENCR_AES_CBC (12), key length 128 / 256    |
 * | aes128gcm/256gcm | ENCR_AES_GCM_16 (20), 128 / 256 (no INTEG) |
 * | none (ESP)     | ENCR_NULL (11)                             |
 * | sha1           | AUTH_HMAC_SHA1_96 (2), PRF_HMAC_SHA1 (2)   |
 * | sha256         | AUTH_HMAC_SHA2_256_128 (12), PRF_HMAC_SHA2_256 (5) |
 * | sha384         | AUTH_HMAC_SHA2_384_192 (13), PRF_HMAC_SHA2_384 (6) |
 * | DH 14/19/31    | MODP_2048 / ECP_256 / CURVE_25519          |
 *
 * DES, 3DES, MD5 and DH groups 1/2 are refused with a clear message (decision 7).
 */
import { assertNever } from "../errors.js";
import type { MmConfAlg, MmSecMethod, QmAuthAlg, QmConfAlg, QmSecMethod } from "../policy/model.js";
import { EncrId, EsnId, IntegId, PrfId, ProtocolId, TransformType } from "./constants.js";
import { IkeError } from "./errors.js";
import type { Proposal, Transform } from "./payloads/sa.js";
import {
  type DhGroupId,
  encrInfo,
  integInfo,
  isSupportedDh,
  prfInfo,
  proposalName,
  type Suite,
} from "./transforms.js";

function refuse(what: string): never {
  throw new IkeError(
    "unsupported",
    `${what} is a legacy algorithm postern refuses; use aes128/aes256/aes128gcm/aes256gcm, sha256/sha384, DH 14/19/31`,
  );
}

function encrTransform(conf: MmConfAlg | QmConfAlg): Transform {
  switch (conf) {
    case "aes128":
      return { type: TransformType.ENCR, id: EncrId.AES_CBC, keyLength: 128 };
    case "aes256":
      return { type: TransformType.ENCR, id: EncrId.AES_CBC, keyLength: 256 };
    case "aes128gcm":
      return { type: TransformType.ENCR, id: EncrId.AES_GCM_16, keyLength: 128 };
    case "aes256gcm":
      return { type: TransformType.ENCR, id: EncrId.AES_GCM_16, keyLength: 256 };
    case "none":
      return { type: TransformType.ENCR, id: EncrId.NULL };
    case "des":
    case "3des":
      return refuse(conf.toUpperCase());
    default:
      return assertNever(conf, "encryption algorithm");
  }
}

function integId(hash: QmAuthAlg): number {
  switch (hash) {
    case "sha1":
      return IntegId.HMAC_SHA1_96;
    case "sha256":
      return IntegId.HMAC_SHA2_256_128;
    case "sha384":
      return IntegId.HMAC_SHA2_384_192;
    case "none":
      return IntegId.NONE;
    case "md5":
      return refuse("MD5");
    default:
      return assertNever(hash, "integrity algorithm");
  }
}

function prfId(hash: MmSecMethod["hash"]): number {
  switch (hash) {
    case "sha1":
      return PrfId.HMAC_SHA1;
    case "sha256":
      return PrfId.HMAC_SHA2_256;
    case "sha384":
      return PrfId.HMAC_SHA2_384;
    case "md5":
      return refuse("MD5");
    default:
      return assertNever(hash, "hash algorithm");
  }
}

function dhTransform(group: number): Transform {
  if (!isSupportedDh(group)) refuse(`DH group ${group}`);
  return { type: TransformType.DH, id: group };
}

/** IKE SA proposals (numbered from 1), one per main-mode method, in the model's order. */
export function ikeProposals(methods: readonly MmSecMethod[]): Proposal[] {
  if (methods.length === 0) throw new IkeError("config", "no main-mode security methods to offer");
  return methods.map((m, i) => {
    const encr = encrTransform(m.conf);
    const t: Transform[] = [encr, { type: TransformType.PRF, id: prfId(m.hash) }];
    if (encr.id !== EncrId.AES_GCM_16) t.push({ type: TransformType.INTEG, id: integId(m.hash) });
    t.push(dhTransform(m.dhGroup));
    return { num: i + 1, protocolId: ProtocolId.IKE, spi: Buffer.alloc(0), transforms: t };
  });
}

/** Child SA proposals for ESP/AH with our inbound SPI; a DH transform when PFS is on. */
export function childProposals(
  methods: readonly QmSecMethod[],
  spi: Buffer,
  pfs: DhGroupId | null,
): Proposal[] {
  if (methods.length === 0) throw new IkeError("config", "no quick-mode security methods to offer");
  return methods.map((m, i) => {
    const t: Transform[] = [];
    let protocolId: number = ProtocolId.ESP;
    if (m.esp && m.ah)
      throw new IkeError(
        "unsupported",
        "AH+ESP bundles are not negotiated by IKEv2 here; offer ESP or AH",
      );
    if (m.esp) {
      const encr = encrTransform(m.esp.conf);
      t.push(encr);
      if (encr.id !== EncrId.AES_GCM_16 && m.esp.auth !== "none")
        t.push({ type: TransformType.INTEG, id: integId(m.esp.auth) });
      if (encr.id === EncrId.NULL && m.esp.auth === "none")
        throw new IkeError("config", "ESP[none,none] protects nothing");
    } else if (m.ah) {
      protocolId = ProtocolId.AH;
      t.push({ type: TransformType.INTEG, id: integId(m.ah.hash) });
    } else {
      throw new IkeError("config", `quick-mode method ${i + 1} has neither ESP nor AH`);
    }
    if (pfs !== null) t.push({ type: TransformType.DH, id: pfs });
    t.push({ type: TransformType.ESN, id: EsnId.NO });
    return { num: i + 1, protocolId, spi, transforms: t };
  });
}

const sameTransform = (a: Transform, b: Transform): boolean =>
  a.type === b.type && a.id === b.id && (a.keyLength ?? 0) === (b.keyLength ?? 0);

/**
 * Picks, from the peer's proposals in their order, the first that one of ours accepts: for
 * every transform type our proposal has, the peer's first transform of that type that ours
 * also lists. Types the peer lists and we do not must be optional (INTEG NONE, DH NONE, ESN
 * NO) or be DH when `ignoreDh` (child SAs in IKE_AUTH, §1.2). Returns the chosen proposal
 * carrying the peer's number and SPI, one transform per type.
 */
export function selectProposal(
  offered: readonly Proposal[],
  ours: readonly Proposal[],
  ignoreDh = false,
): Proposal | null {
  for (const p of offered) {
    for (const q of ours) {
      if (p.protocolId !== q.protocolId) continue;
      const types = new Set(
        q.transforms.filter((t) => !(ignoreDh && t.type === TransformType.DH)).map((t) => t.type),
      );
      const chosen: Transform[] = [];
      let ok = true;
      for (const type of types) {
        const pick = p.transforms.find(
          (pt) => pt.type === type && q.transforms.some((qt) => sameTransform(pt, qt)),
        );
        if (!pick) {
          const qDefault = q.transforms.find((qt) => qt.type === type);
          const optional =
            type === TransformType.ESN &&
            qDefault?.id === EsnId.NO &&
            !p.transforms.some((pt) => pt.type === type);
          if (!optional) ok = false;
          continue;
        }
        chosen.push(pick);
      }
      const extra = p.transforms.filter(
        (pt) => !types.has(pt.type) && !(ignoreDh && pt.type === TransformType.DH),
      );
      if (
        extra.some(
          (pt) =>
            !(pt.id === 0 && (pt.type === TransformType.INTEG || pt.type === TransformType.DH)),
        )
      )
        ok = false;
      if (ok) return { num: p.num, protocolId: p.protocolId, spi: p.spi, transforms: chosen };
    }
  }
  return null;
}

/** The suite a selected proposal runs with; null if a transform is one we cannot run. */
export function suiteOf(p: Proposal): Suite | null {
  const e = p.transforms.find((t) => t.type === TransformType.ENCR);
  const i = p.transforms.find((t) => t.type === TransformType.INTEG);
  const f = p.transforms.find((t) => t.type === TransformType.PRF);
  const d = p.transforms.find((t) => t.type === TransformType.DH);
  const n = p.transforms.find((t) => t.type === TransformType.ESN);
  const encr = e
    ? encrInfo(e.id, e.keyLength)
    : p.protocolId === ProtocolId.AH
      ? encrInfo(EncrId.NULL, undefined)
      : null;
  if (!encr) return null;
  const integ = i && i.id !== 0 ? integInfo(i.id) : null;
  if (i && i.id !== 0 && !integ) return null;
  if (!encr.aead && !integ && p.protocolId === ProtocolId.IKE) return null;
  const prf = f ? prfInfo(f.id) : null;
  if (p.protocolId === ProtocolId.IKE && !prf) return null;
  const dh = d && d.id !== 0 ? d.id : null;
  if (dh !== null && !isSupportedDh(dh)) return null;
  return { encr, integ, prf, dh, esn: n?.id === EsnId.YES };
}

/** "[AES_GCM_16_128/PRF_HMAC_SHA2_256/CURVE_25519, ...]" for NO_PROPOSAL_CHOSEN logs. */
export function offersText(ps: readonly Proposal[]): string {
  return `[${ps.map((p) => proposalName(p.transforms)).join(", ")}]`;
}

/** The DH groups a set of proposals offers, in order. */
export function dhGroupsOf(ps: readonly Proposal[]): number[] {
  return [
    ...new Set(
      ps.flatMap((p) => p.transforms.filter((t) => t.type === TransformType.DH).map((t) => t.id)),
    ),
  ];
}
