/**
 * What every command receives: where state lives, how to print, and the process facts a
 * command may need. main.ts builds the real one; tests build their own.
 */
import type { CommandSpec } from "./grammar.js";

export interface CliEnv {
  /** `<home>`: `--home DIR`, else `POSTERN_HOME`, else /var/lib/postern. */
  home: string;
  /** `--json` was given: show commands print one JSON document. */
  json: boolean;
  out: (text: string) => void;
  err: (text: string) => void;
  /** The environment variables (only main.ts reads process.env; commands read this). */
  vars: Readonly<Record<string, string | undefined>>;
  isRoot: boolean;
  /** Current directory, for relative file names. */
  cwd: string;
  /**
   * The command table, for a command that runs others in this process (the lab's
   * `posternHere`). The CLI's entry fills it in; subsystems never import the table.
   */
  commands?: readonly Command[];
}

export interface Command {
  name: string;
  /** One line for `postern --help`. */
  summary: string;
  /** Full help text, man-page style. */
  help: string;
  /** Returns the exit status. Throws PosternError for a user's mistake. */
  run(argv: string[], env: CliEnv): Promise<number> | number;
  /** The grammar tree (cmdline/grammar.ts): options, arguments, subcommands. */
  spec: CommandSpec;
}
