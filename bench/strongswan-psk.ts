/**
 * strongSwan's side of the setup benches (bench/ike.ts, bench/lab.ts): two charons
 * (kernel-libipsec) in a namespace pair with a PSK connection "pik", AES-GCM-16-128,
 * PRF-HMAC-SHA2-256, Curve25519, ESP AES-GCM-16-128; `setup()` is one vici "initiate"
 * (returns when the child SA is up), timed, then "terminate".
 */
import { performance } from "node:perf_hooks";
import { type Charon, type NsPair, startCharon } from "../test/ike/lab.js";
import { connectVici, type Vici } from "./ike-vici.js";

export interface SwanSide {
  /** One IKE_SA + child SA setup, in ms. */
  setup(): Promise<number>;
  stop(): Promise<void>;
}

export async function startSwanPskPair(pair: NsPair, psk: string): Promise<SwanSide> {
  const conn = {
    psk,
    ikeProposal: "aes128gcm16-prfsha256-x25519",
    espProposal: "aes128gcm16",
    startAction: "none" as const,
  };
  const charons: Charon[] = [];
  let vici: Vici | null = null;
  const stop = async () => {
    vici?.close();
    for (const c of charons) await c.stop();
  };
  try {
    charons.push(
      await startCharon(pair.nsB, {
        ...conn,
        local: pair.addrB,
        remote: pair.addrA,
        localTs: "10.232.2.0/24",
        remoteTs: "10.232.1.0/24",
      }),
    );
    charons.push(
      await startCharon(pair.nsA, {
        ...conn,
        local: pair.addrA,
        remote: pair.addrB,
        localTs: "10.232.1.0/24",
        remoteTs: "10.232.2.0/24",
      }),
    );
    vici = await connectVici(`${charons[1]!.dir}/charon.vici`);
  } catch (e) {
    await stop();
    throw e;
  }
  const v = vici;
  return {
    async setup() {
      const t0 = performance.now();
      const r = await v.request("initiate", { child: "pik", timeout: "10000" });
      const dt = performance.now() - t0;
      if (r.success !== "yes") throw new Error(`charon initiate failed: ${r.errmsg ?? "?"}`);
      await v.request("terminate", { ike: "pik", timeout: "10000" });
      return dt;
    },
    stop,
  };
}
