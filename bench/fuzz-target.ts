/**
 * What a fuzz target is: a generator of inputs (from seeds and mutations, one random stream
 * per input) and a runner that feeds one input to the parser under test. The contract the
 * runner checks: the parser returns, or throws the project's typed error (a PosternError);
 * a packet-path target (`typedErrors: false`) never throws at all. Any other exception, or a
 * ContractViolation (an accepted value that does not re-encode to itself), is a crash.
 */
import { isPosternError } from "../src/errors.js";
import type { Rng } from "./fuzz-mutate.js";

export type Outcome = "accepted" | "rejected";
export type FuzzInput = Uint8Array | string;

export interface FuzzInstance {
  generate(r: Rng): FuzzInput;
  run(input: FuzzInput): Outcome | Promise<Outcome>;
  /** False for packet paths, which must return a drop instead of throwing. Default true. */
  typedErrors?: boolean;
  close?(): void | Promise<void>;
}

export type TargetFactory = () => FuzzInstance | Promise<FuzzInstance>;

/** A broken contract that is not an exception of the parser itself (e.g. a failed round trip). */
export class ContractViolation extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ContractViolation";
  }
}

/** Whether an exception the parser threw keeps the contract. */
export function isExpectedError(e: unknown, typedErrors: boolean): boolean {
  return typedErrors && isPosternError(e) && !(e instanceof ContractViolation);
}

/** A canonical text of a decoded value, for round-trip comparison. */
export function canonical(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) => {
    if (typeof x === "bigint") return `${x}n`;
    if (x instanceof Uint8Array) return `hex:${Buffer.from(x).toString("hex")}`;
    if (x && typeof x === "object" && (x as { type?: unknown }).type === "Buffer") {
      const d = (x as { data?: unknown }).data;
      if (Array.isArray(d)) return `hex:${Buffer.from(d as number[]).toString("hex")}`;
    }
    if (x instanceof Date) return `date:${x.getTime()}`;
    if (x instanceof Map) return { map: [...x.entries()] };
    if (x instanceof Set) return { set: [...x.values()] };
    if (typeof x === "number" && !Number.isFinite(x)) return `num:${x}`;
    return x;
  });
}

/**
 * decode -> (accepted) encode -> decode again must give the same value. A re-encoding that
 * throws or decodes to something else is a ContractViolation.
 */
export function roundTrip<T>(
  decode: (b: Uint8Array) => T,
  encode: ((v: T) => Uint8Array) | undefined,
  input: Uint8Array,
  /** What the encoder derives rather than keeps, cleared on both sides before comparing. */
  normalize: (v: T) => unknown = (v) => v,
): Outcome {
  const v = decode(input);
  if (!encode) return "accepted";
  let again: T;
  try {
    again = decode(encode(v));
  } catch (e) {
    throw new ContractViolation(`accepted value does not re-encode and decode: ${String(e)}`);
  }
  const a = canonical(normalize(v));
  const b = canonical(normalize(again));
  if (a !== b)
    throw new ContractViolation(`round trip differs:\n  ${a.slice(0, 400)}\n  ${b.slice(0, 400)}`);
  return "accepted";
}
