/**
 * nftables in the agent's own process: Debian's libnftables (the library the `nft` program is
 * a thin shell around) through koffi. A ruleset script or a command goes to
 * `nft_run_cmd_from_buffer`, which parses it, sends it to the kernel as ONE netlink batch
 * (one transaction: all of it or none of it) and reports errors in the words `nft` prints.
 * No child process, no fork of a 100 MB Node process, no 2-10 ms of exec per bypass admission
 * (docs/benchmarks.md, "nftables in process").
 *
 * The library works on the calling thread's network namespace, so the in-process path is for
 * a process that already runs in the namespace it manages (the agent, `postern firewall`);
 * a caller that targets another namespace by name keeps `ip netns exec NS nft`
 * (platform/commands.ts decides). `POSTERN_NFT=process` forces the `nft` program everywhere.
 *
 * Contexts are kept and reused (`nft_ctx_new` reads the iproute2 tables and sets up the
 * parser: about 5 % of a responder's busy time when it was made per bypass entry, docs/
 * benchmarks.md "session 10"). A kept context does not go stale: libnftables checks the
 * ruleset's generation before each command and refreshes its cache, as `nft -i` does over
 * a session. A context serves one call at a time (an idle one is taken, or a new one made),
 * so the blocking form and an asynchronous call on koffi's thread never share one; the
 * asynchronous calls are serialised (the kernel would serialise the batches anyway).
 */
import koffi, { type LibraryHandle } from "koffi";

type Fn = ReturnType<LibraryHandle["func"]>;

/** libnftables.h: enum nft_output_flags, NFT_CTX_OUTPUT_JSON. */
const OUTPUT_JSON = 1 << 4;

export interface LibNftables {
  /** Runs `text` (a script or one command, as `nft -f` or `nft ARGS` would); stdout text. */
  run(text: string, json: boolean): Promise<string>;
  /** The same, blocking (the agent's ordered start-up steps). */
  runSync(text: string, json: boolean): string;
}

/** What the `nft` program would have printed on stderr: the caller's error message. */
export class NftLibError extends Error {}

interface Api {
  ctxNew: Fn;
  ctxFree: Fn;
  bufferOutput: Fn;
  bufferError: Fn;
  outputBuffer: Fn;
  errorBuffer: Fn;
  setOutputFlags: Fn;
  runCmd: Fn;
}

let loaded: LibNftables | null | undefined;

/** The library, or null when it cannot be loaded (then the `nft` program is used). */
export function libNftables(): LibNftables | null {
  if (loaded !== undefined) return loaded;
  try {
    loaded = bind(koffi.load("libnftables.so.1"));
  } catch {
    loaded = null;
  }
  return loaded;
}

function bind(lib: LibraryHandle): LibNftables {
  const api: Api = {
    ctxNew: lib.func("void *nft_ctx_new(uint32_t flags)"),
    ctxFree: lib.func("void nft_ctx_free(void *ctx)"),
    bufferOutput: lib.func("int nft_ctx_buffer_output(void *ctx)"),
    bufferError: lib.func("int nft_ctx_buffer_error(void *ctx)"),
    outputBuffer: lib.func("const char *nft_ctx_get_output_buffer(void *ctx)"),
    errorBuffer: lib.func("const char *nft_ctx_get_error_buffer(void *ctx)"),
    setOutputFlags: lib.func("void nft_ctx_output_set_flags(void *ctx, unsigned int flags)"),
    runCmd: lib.func("int nft_run_cmd_from_buffer(void *ctx, const char *buf)"),
  };
  /** Idle contexts by output flavour (plain text, JSON). */
  const idle: Record<"text" | "json", unknown[]> = { text: [], json: [] };
  const flavour = (json: boolean) => (json ? "json" : "text");
  const open = (json: boolean): unknown => {
    const kept = idle[flavour(json)].pop();
    if (kept) return kept;
    const ctx = api.ctxNew(0);
    if (!ctx) throw new NftLibError("nft_ctx_new failed");
    api.bufferOutput(ctx);
    api.bufferError(ctx);
    if (json) api.setOutputFlags(ctx, OUTPUT_JSON);
    return ctx;
  };
  /** The call's output (reading a buffer empties it), the context kept for the next call. */
  const finish = (ctx: unknown, json: boolean, rc: number): string => {
    const error = String(api.errorBuffer(ctx) ?? "").trim();
    const output = String(api.outputBuffer(ctx) ?? "");
    idle[flavour(json)].push(ctx);
    if (rc !== 0) throw new NftLibError(error || `rc ${rc}`);
    return output;
  };
  let queue: Promise<unknown> = Promise.resolve();
  return {
    runSync(text, json) {
      const ctx = open(json);
      return finish(ctx, json, api.runCmd(ctx, text) as number);
    },
    run(text, json) {
      const call = () =>
        new Promise<string>((resolve, reject) => {
          const ctx = open(json);
          // koffi's async form runs the call on its worker thread: the event loop keeps going
          // while the kernel commits a large ruleset.
          api.runCmd.async(ctx, text, (err: unknown, rc: number) => {
            try {
              if (err) throw err;
              resolve(finish(ctx, json, rc));
            } catch (e) {
              if (err) api.ctxFree(ctx);
              reject(e);
            }
          });
        });
      const next = queue.then(call, call);
      queue = next.catch(() => undefined);
      return next;
    },
  };
}

/**
 * The text libnftables runs for `nft ARGS [< input]`: `-f -` is the input itself; `-j` asks
 * for JSON; other words are joined with spaces, as the `nft` program joins its argv. Null
 * for options this mapping does not know (the caller then runs the program).
 */
export function commandText(
  args: readonly string[],
  input: string | undefined,
): { text: string; json: boolean } | null {
  if (args.length === 2 && args[0] === "-f" && args[1] === "-")
    return { text: input ?? "", json: false };
  const json = args[0] === "-j";
  const rest = json ? args.slice(1) : args;
  if (rest.length === 0 || rest.some((a) => a.startsWith("-"))) return null;
  return { text: rest.join(" "), json };
}
