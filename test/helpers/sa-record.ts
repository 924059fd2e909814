/**
 * A manually keyed SA record for the data path's tests and benches: AES-GCM-128 in transport
 * mode from 192.0.2.1 to 192.0.2.2 over ESP in UDP 4500, selectors for the two hosts, no
 * lifetime limits. Each caller overrides what it is about.
 */
import { NO_LIMITS } from "../../src/esp/lifetime.js";
import type { SaRecord } from "../../src/esp/sa.js";

export const SA_HOST_A = "192.0.2.1";
export const SA_HOST_B = "192.0.2.2";

/** Any protocol and port between two prefixes (host addresses become /32). */
export function anySelectors(local: string, remote: string): SaRecord["selectors"] {
  const prefix = (a: string) => (a.includes("/") ? a : `${a}/32`);
  return [
    {
      local: prefix(local),
      remote: prefix(remote),
      protocol: 0,
      localPorts: [0, 65535],
      remotePorts: [0, 65535],
    },
  ];
}

export function saRecord(over: Partial<SaRecord> = {}): SaRecord {
  return {
    spi: 0x1001,
    direction: "out",
    mode: "transport",
    transform: "aes128gcm16",
    encKey: Buffer.alloc(20, 1),
    authKey: Buffer.alloc(0),
    local: SA_HOST_A,
    peer: SA_HOST_B,
    encap: { localPort: 4500, peerPort: 4500 },
    esn: false,
    replayWindow: 1024,
    lifetime: { soft: NO_LIMITS, hard: NO_LIMITS },
    selectors: anySelectors(SA_HOST_A, SA_HOST_B),
    label: "test",
    ...over,
  };
}
