/** The daemons' log options (`postern agent`, `postern dc start`): src/platform/log.ts. */
import type { OptionSpec } from "./grammar.js";

export const LOG_OPTIONS: readonly OptionSpec[] = [
  {
    name: "log-format",
    type: "string",
    value: "text|json",
    help: "log lines as text (default) or one JSON object per line",
  },
  {
    name: "log-level",
    type: "string",
    value: "LEVEL",
    help: "lowest level logged: error, warning, notice, info (default), debug",
  },
];
