/**
 * From what IKE negotiated to what the data path installs: one ChildSaRecord (both
 * directions, src/ike/types.ts) becomes two SaRecords (src/esp/sa.ts), and IKE traffic
 * selectors (address ranges, RFC 7296 §3.13.1) become the data path's prefix selectors.
 *
 *   ChildSaRecord                       SaRecord "in"            SaRecord "out"
 *   spiIn / spiOut                   -> spi = spiIn             spi = spiOut
 *   encrId+encrKeyBits, integId      -> transform (aes128gcm16, aes128-sha256, null-sha256, ...)
 *   encrKeyIn/integKeyIn (GCM salt)  -> encKey/authKey          encrKeyOut/integKeyOut
 *   local/remote endpoints, udpEncap -> local, peer, encap {localPort, peerPort} or null
 *   tsLocal x tsRemote               -> selectors (ranges split into CIDR prefixes)
 *   lifetimeKb                       -> byte lifetime (soft at 90 %: the agent rekeys)
 *   transport mode behind a NAT      -> a selector address that is not the SA's endpoint (the
 *                                       peer's private address in its TSi) becomes the
 *                                       endpoint, as seen in IKE (RFC 7296 §2.23.1; RFC 3948
 *                                       §3.1.2: transport mode protects the two hosts)
 * Time lifetimes stay with IKE (it rekeys at 90 % and deletes at 100 %).
 */
import { NO_LIMITS } from "../esp/lifetime.js";
import type { SaRecord, TrafficSelector } from "../esp/sa.js";
import type { TransformName } from "../esp/transform.js";
import { EncrId, IntegId } from "../ike/constants.js";
import type { TrafficSelector as IkeTs } from "../ike/payloads/ts.js";
import type { ChildSaRecord } from "../ike/types.js";
import { addressBytes } from "../datapath/ippacket.js";
import { parsePrefix, prefixContains } from "../datapath/spd.js";
import { formatIp } from "../policy/ip.js";

/** The data path's transform for an IKE transform pair, or null when it has none. */
export function transformFor(encrId: number, bits: number, integId: number): TransformName | null {
  const integ =
    integId === IntegId.HMAC_SHA2_256_128
      ? "sha256"
      : integId === IntegId.HMAC_SHA1_96
        ? "sha1"
        : null;
  if (encrId === EncrId.AES_GCM_16 && integId === IntegId.NONE) {
    if (bits === 128) return "aes128gcm16";
    if (bits === 256) return "aes256gcm16";
    return null;
  }
  if (integ === null) return null;
  if (encrId === EncrId.NULL) return `null-${integ}`;
  if (encrId === EncrId.AES_CBC && (bits === 128 || bits === 256)) return `aes${bits}-${integ}`;
  return null;
}

const toBig = (b: Uint8Array): bigint => b.reduce((v, x) => (v << 8n) | BigInt(x), 0n);

/** The smallest list of CIDR prefixes covering [lo, hi] (an address range). */
export function rangeToPrefixes(lo: bigint, hi: bigint, family: 4 | 6): string[] {
  const width = family === 4 ? 32 : 128;
  const out: string[] = [];
  let cur = lo;
  for (let guard = 0; cur <= hi && guard < 2 * width + 2; guard++) {
    let size = 0;
    while (size < width) {
      const block = 1n << BigInt(size + 1);
      if (cur % block !== 0n || cur + block - 1n > hi) break;
      size++;
    }
    out.push(`${formatIp({ family, value: cur })}/${width - size}`);
    cur += 1n << BigInt(size);
  }
  return out;
}

function prefixesOf(ts: IkeTs): string[] {
  const family = ts.startAddr.length === 4 ? 4 : 6;
  return rangeToPrefixes(toBig(ts.startAddr), toBig(ts.endAddr), family);
}

/** Every (local, remote) pair of selectors, as data-path prefix selectors. */
export function selectorsFrom(
  local: readonly IkeTs[],
  remote: readonly IkeTs[],
): TrafficSelector[] {
  const out: TrafficSelector[] = [];
  for (const l of local) {
    for (const r of remote) {
      if (l.startAddr.length !== r.startAddr.length) continue;
      const protocol = l.ipProtocol !== 0 ? l.ipProtocol : r.ipProtocol;
      for (const lp of prefixesOf(l)) {
        for (const rp of prefixesOf(r)) {
          out.push({
            local: lp,
            remote: rp,
            protocol,
            localPorts: [l.startPort, l.endPort],
            remotePorts: [r.startPort, r.endPort],
          });
        }
      }
    }
  }
  return out;
}

/** Whether a selector's prefix leaves out the address the SA's packets really carry. */
function outside(prefix: string, addr: string): boolean {
  const p = parsePrefix(prefix);
  const a = addressBytes(addr);
  return p !== null && a !== null && !prefixContains(p, a);
}

/**
 * Transport mode: the selectors' addresses are the hosts themselves. Behind a NAT the
 * initiator's TSi names its private address, while its packets reach us (and ours reach
 * it) with the NAT's: a prefix that does not hold the endpoint becomes the endpoint.
 */
export function transportSelectors(
  selectors: readonly TrafficSelector[],
  local: string,
  remote: string,
): TrafficSelector[] {
  const host = (prefix: string, addr: string): string =>
    outside(prefix, addr) ? `${addr}/${addressBytes(addr)!.length * 8}` : prefix;
  const out = new Map<string, TrafficSelector>();
  for (const s of selectors) {
    const t = { ...s, local: host(s.local, local), remote: host(s.remote, remote) };
    out.set(JSON.stringify(t), t);
  }
  return [...out.values()];
}

/**
 * Whether transportSelectors changes an address: the peer named an address its packets do
 * not come from (or ours differs from what it named), i.e. a NAT stands between us. Only
 * then did the sender sum its TCP/UDP checksum over other addresses than the ones we
 * rebuild, so only then is the per-packet checksum pass needed (RFC 7296 §2.23.1).
 */
export function transportNatSeen(
  selectors: readonly TrafficSelector[],
  local: string,
  remote: string,
): boolean {
  return selectors.some((s) => outside(s.local, local) || outside(s.remote, remote));
}

export type ConvertedSa = { in: SaRecord; out: SaRecord } | { error: string };

/** The two data-path records of a negotiated child SA, or why the data path cannot carry it. */
export function childToSaRecords(c: ChildSaRecord): ConvertedSa {
  // AH (RFC 4302) authenticates only: the data path's null-<integ> transform over the raw
  // socket; it cannot cross NAT, so it is never UDP-encapsulated.
  const ah = c.protocol === "ah";
  const transform = ah
    ? transformFor(EncrId.NULL, 0, c.integId)
    : transformFor(c.encrId, c.encrKeyBits, c.integId);
  if (transform === null)
    return {
      error: `encryption ${c.encrId}/${c.encrKeyBits} with integrity ${c.integId} has no data-path transform`,
    };
  if (ah && c.udpEncap)
    return { error: "AH cannot be UDP-encapsulated (RFC 3948 carries ESP only)" };
  if (!ah && !c.udpEncap)
    return { error: "ESP without UDP encapsulation is not carried (the agent forces UDP 4500)" };
  const all = selectorsFrom(c.tsLocal, c.tsRemote);
  const selectors =
    c.mode === "transport" ? transportSelectors(all, c.local.address, c.remote.address) : all;
  const bytes = c.lifetimeKb > 0 ? c.lifetimeKb * 1024 : 0;
  const lifetime = {
    soft: { ...NO_LIMITS, bytes: Math.floor(bytes * 0.9) },
    hard: { ...NO_LIMITS, bytes },
  };
  const label = `${c.peerName} ${c.ikeSa}`;
  const common = {
    protocol: c.protocol,
    mode: c.mode,
    transform,
    local: c.local.address,
    peer: c.remote.address,
    encap: ah ? null : { localPort: c.local.port, peerPort: c.remote.port },
    esn: c.esn,
    replayWindow: 1024,
    lifetime,
    selectors,
    label,
    ...(c.mode === "transport" &&
    (c.behindNat === true || transportNatSeen(all, c.local.address, c.remote.address))
      ? { fixChecksums: true }
      : {}),
  } as const;
  return {
    in: {
      ...common,
      spi: c.spiIn,
      direction: "in",
      encKey: c.encrKeyIn,
      authKey: c.integKeyIn,
    },
    out: {
      ...common,
      spi: c.spiOut,
      direction: "out",
      encKey: c.encrKeyOut,
      authKey: c.integKeyOut,
    },
  };
}
