/**
 * FILETIME (MS-DTYP §2.3.3): 100-nanosecond intervals since 1601-01-01 UTC, kept as a bigint.
 * MS-PAC uses 0x7FFFFFFFFFFFFFFF for "never" (LogoffTime, KickOffTime, PasswordMustChange).
 */
export const FILETIME_NEVER = 0x7fffffffffffffffn;
const EPOCH_DIFF_MS = 11644473600000n;

export function filetimeFromMs(unixMs: number): bigint {
  return (BigInt(Math.trunc(unixMs)) + EPOCH_DIFF_MS) * 10000n;
}

export function filetimeToMs(ft: bigint): number {
  return Number(ft / 10000n - EPOCH_DIFF_MS);
}
