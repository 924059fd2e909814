/**
 * Work done ahead of time so it is not on an exchange's critical path (IKE setup latency,
 * docs/benchmarks.md "IKEv2 setup"):
 * - DH key pairs: one fresh pair per group is generated when the loop is idle (after the
 *   previous one was taken), so IKE_SA_INIT and CREATE_CHILD_SA with PFS only compute the
 *   shared secret. Each pair is still used exactly once (ephemeral, RFC 7296 §2.12 allows
 *   reuse; we do not).
 * - Random bytes: drawn from the CSPRNG 4 KiB at a time and handed out in slices that are
 *   never reused, instead of one OpenSSL call per SPI, nonce and IV.
 */
import type { DhKeyPair } from "../crypto/primitives.js";
import type { DhGroupId } from "./transforms.js";

/** `defer` runs work when the loop is idle (setImmediate in the runner, a queue in tests). */
export function createDhPool(
  generate: (group: DhGroupId) => DhKeyPair,
  defer: (work: () => void) => void,
): { take(group: DhGroupId): DhKeyPair; prepare(group: DhGroupId): void } {
  const ready = new Map<DhGroupId, DhKeyPair>();
  const scheduled = new Set<DhGroupId>();
  const prepare = (group: DhGroupId) => {
    if (scheduled.has(group) || ready.has(group)) return;
    scheduled.add(group);
    defer(() => {
      scheduled.delete(group);
      try {
        if (!ready.has(group)) ready.set(group, generate(group));
      } catch {
        // A group this build cannot generate: take() will report it where it is asked for.
      }
    });
  };
  return {
    prepare,
    take(group) {
      const pair = ready.get(group);
      ready.delete(group);
      prepare(group);
      return pair ?? generate(group);
    },
  };
}

/** n random bytes per call from a refilled pool (`source` is the CSPRNG). */
export function createRandomPool(
  source: (n: number) => Buffer,
  poolBytes = 4096,
): (n: number) => Buffer {
  let pool: Buffer = Buffer.alloc(0);
  let at = 0;
  return (n) => {
    if (n > poolBytes / 4) return source(n);
    if (at + n > pool.length) {
      pool = source(poolBytes);
      at = 0;
    }
    at += n;
    return pool.subarray(at - n, at);
  };
}
