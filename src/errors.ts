/**
 * Typed errors shared by every subsystem. A PosternError carries a string-literal code
 * (mapped by each subsystem to wire codes: IKE notify types, KRB-ERROR codes) and the CLI
 * exit status: 1 for a user's mistake, 2 for a usage error. The CLI prints `message` as one
 * line and never a stack trace for these.
 */
export class PosternError extends Error {
  readonly code: string;
  readonly exitCode: number;
  constructor(code: string, message: string, exitCode = 1) {
    super(message);
    this.name = "PosternError";
    this.code = code;
    this.exitCode = exitCode;
  }
}

/** A command line that does not parse: unknown tag, missing value, bad keyword. Exit 2. */
export class UsageError extends PosternError {
  constructor(message: string) {
    super("usage", message, 2);
    this.name = "UsageError";
  }
}

export function assertNever(x: never, what = "value"): never {
  throw new Error(`unexpected ${what}: ${JSON.stringify(x)}`);
}

export function isPosternError(e: unknown): e is PosternError {
  return e instanceof PosternError;
}
