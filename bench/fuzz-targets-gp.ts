/**
 * Fuzz targets of Group Policy's stored forms (issue 13):
 * - ipsec-data: [MS-GPIPSEC] ipsecData blobs (seeds: Windows-written blobs of a fresh Samba
 *   provision, and postern's re-encodings) into the five decoders; a blob a decoder accepts
 *   re-encodes to one that decodes to the same value.
 * - registry-pol: [MS-GPREG] Registry.pol files (seed: every Windows Firewall setting and
 *   the bypass SDDL, as `netsh firewall ... store=domain` writes them) into the parser and
 *   the firewall mapping; an accepted file formats back to the same records.
 */
import {
  decodeFilterBlob,
  decodeIsakmpBlob,
  decodeNegotiationBlob,
  decodeNfaBlob,
  decodePolicyBlob,
  encodeFilterBlob,
  encodeIsakmpBlob,
  encodeNegotiationBlob,
  encodeNfaBlob,
  encodePolicyBlob,
} from "../src/gpipsec/blob.js";
import { firewallPolicyFromPol, polFromFirewallPolicy } from "../src/gpipsec/firewall-pol.js";
import { formatRegistryPol, parseRegistryPol } from "../src/gpipsec/registrypol.js";
import { mutateBytes } from "./fuzz-mutate.js";
import { type FuzzInstance, type Outcome, roundTrip } from "./fuzz-target.js";

const hex = (h: string) => new Uint8Array(Buffer.from(h, "hex"));

/** Windows' blobs (test/gpipsec/blob.test.ts names each). */
const WINDOWS_BLOBS = [
  "632120224c4fd111863b00a0248d302104000000302a000000",
  "00acbb118d49d111863900a0248d30212a0000000100000005000000020000000000fdffffff02000000000000000000000000000100000002000000000000",
  "b520dc80c82ed111a89e00a0248d302152000000010000000200000000000200000000000a000000490043004d005000000063d219511d07d311ad220060b0ecca170100000000000000ffffffff00000000000000000000000001000000000000000000000000",
  "b920dc80c82ed111a89e00a0248d3021040000000000000000",
].map(hex);

type Codec = [(b: Buffer) => unknown, (v: never) => Buffer];
const CODECS: Codec[] = [
  [decodePolicyBlob, encodePolicyBlob],
  [decodeIsakmpBlob, encodeIsakmpBlob],
  [decodeNfaBlob, encodeNfaBlob],
  [decodeNegotiationBlob, encodeNegotiationBlob],
  [decodeFilterBlob, encodeFilterBlob],
];

/** The codec whose type GUID opens the blob (the decoders refuse the others' anyway). */
function codecOf(b: Uint8Array): Codec {
  for (const c of CODECS) {
    try {
      c[0](Buffer.from(b));
      return c;
    } catch {}
  }
  return CODECS[0] as Codec;
}

export function createIpsecDataTarget(): FuzzInstance {
  const seeds = [...WINDOWS_BLOBS];
  for (const b of WINDOWS_BLOBS) {
    const [dec, enc] = codecOf(b);
    seeds.push(new Uint8Array(enc(dec(Buffer.from(b)) as never)));
  }
  return {
    generate: (r) => mutateBytes(r.pick(seeds), r, seeds),
    run(input) {
      const b = input as Uint8Array;
      let last: unknown;
      for (const [dec, enc] of CODECS) {
        try {
          dec(Buffer.from(b));
        } catch (e) {
          last = e;
          continue;
        }
        return roundTrip(
          (x) => dec(Buffer.from(x)),
          (v) => new Uint8Array(enc(v as never)),
          b,
        );
      }
      throw last;
    },
  };
}

export function createRegistryPolTarget(): FuzzInstance {
  const SID = "S-1-5-21-1004336348-1177238915-682003330-1105";
  const seed = formatRegistryPol(
    polFromFirewallPolicy({
      profiles: {
        domain: {
          enabled: true,
          exceptions: false,
          portOpenings: [
            {
              protocol: "tcp",
              port: 445,
              name: "SMB",
              enabled: true,
              scope: "custom",
              addresses: ["10.0.0.0/24", "LocalSubnet"],
            },
          ],
          icmp: { 8: true, 3: false },
        },
        standard: { enabled: false },
      },
      logging: { droppedPackets: true, maxSizeKb: 4096, file: "/var/log/pfirewall.log" },
      bypass: [SID],
    }),
  );
  const seeds = [new Uint8Array(seed)];
  return {
    generate: (r) => mutateBytes(r.pick(seeds), r, seeds),
    run(input): Outcome {
      const out = roundTrip(
        (x) => parseRegistryPol(Buffer.from(x)),
        (v) => new Uint8Array(formatRegistryPol(v)),
        input as Uint8Array,
      );
      firewallPolicyFromPol(parseRegistryPol(Buffer.from(input as Uint8Array)));
      return out;
    },
  };
}
