/**
 * Daemon log lines with a level, for people and for journald. Levels are syslog's
 * (RFC 5424 severities, as journald stores them): error 3, warning 4, notice 5, info 6,
 * debug 7.
 *   text:  "agent: bypass: 198.18.0.30 admitted ..." as before
 *   json:  {"time":"...","level":"info","priority":6,"component":"agent","msg":"..."}
 * Under systemd, with stdout or stderr connected to the journal (JOURNAL_STREAM names its
 * device:inode, systemd.exec(5)), each line starts with the priority as "<6>"
 * (sd-daemon(3)), which journald strips and stores: `journalctl -p err` then shows errors
 * only. Lines below the minimum level are not written (debug: --verbose).
 */
import * as fs from "node:fs";
import { UsageError } from "../errors.js";

export const LOG_LEVELS = ["error", "warning", "notice", "info", "debug"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export type LogFormat = "text" | "json";

const PRIORITY: Record<LogLevel, number> = { error: 3, warning: 4, notice: 5, info: 6, debug: 7 };

export interface LogOptions {
  /** "agent: ..." in text, the `component` field in JSON; "": the message names its own. */
  component: string;
  format: LogFormat;
  /** Prefix each line with "<priority>" for journald. */
  journald: boolean;
  /** Lines of a lower priority (a higher number) are dropped. */
  minLevel: LogLevel;
  write: (line: string) => void;
  now?: () => Date;
}

export interface Logger {
  /** One line at `level` (default info). */
  (msg: string, level?: LogLevel): void;
  error(msg: string): void;
  warning(msg: string): void;
  notice(msg: string): void;
  info(msg: string): void;
  debug(msg: string): void;
  enabled(level: LogLevel): boolean;
}

export function formatLogLine(
  o: Pick<LogOptions, "component" | "format" | "journald">,
  level: LogLevel,
  msg: string,
  at: Date,
): string {
  const prefix = o.journald ? `<${PRIORITY[level]}>` : "";
  // One line per record, whatever the message holds (a peer's name, a file's text).
  let flat = msg.replace(/[\r\n]+/g, " ");
  // No component given: the line names its own ("kdc: ...", "dns: ..." from the DC).
  let component = o.component;
  if (component === "") {
    const m = /^([a-z][a-z-]{0,15}): /.exec(flat);
    if (o.format === "json" && m) {
      component = m[1] as string;
      flat = flat.slice(m[0].length);
    }
  }
  if (o.format === "json")
    return `${prefix}${JSON.stringify({ time: at.toISOString(), level, priority: PRIORITY[level], component, msg: flat })}`;
  return `${prefix}${component === "" ? "" : `${component}: `}${flat}`;
}

export function createLogger(o: LogOptions): Logger {
  const min = PRIORITY[o.minLevel];
  const now = o.now ?? (() => new Date());
  const emit = (msg: string, level: LogLevel = "info") => {
    if (PRIORITY[level] <= min) o.write(formatLogLine(o, level, msg, now()));
  };
  return Object.assign(emit, {
    error: (m: string) => emit(m, "error"),
    warning: (m: string) => emit(m, "warning"),
    notice: (m: string) => emit(m, "notice"),
    info: (m: string) => emit(m, "info"),
    debug: (m: string) => emit(m, "debug"),
    enabled: (level: LogLevel) => PRIORITY[level] <= min,
  });
}

/**
 * True when systemd connected fd 1 or 2 to the journal: JOURNAL_STREAM is "DEV:INODE" of
 * that stream (checked, so a child that inherited the variable but writes elsewhere does
 * not get prefixes).
 */
export function journaldStream(vars: Readonly<Record<string, string | undefined>>): boolean {
  const m = /^(\d+):(\d+)$/.exec(vars.JOURNAL_STREAM ?? "");
  if (!m) return false;
  for (const fd of [1, 2]) {
    try {
      const st = fs.fstatSync(fd);
      if (String(st.dev) === m[1] && String(st.ino) === m[2]) return true;
    } catch {}
  }
  return false;
}

/** --log-format text|json. */
export function parseLogFormat(text: string | undefined): LogFormat {
  if (text === undefined || text === "text") return "text";
  if (text === "json") return "json";
  throw new UsageError(`--log-format needs text or json, not '${text}'`);
}

/** --log-level LEVEL (error, warning, notice, info, debug). */
export function parseLogLevel(text: string | undefined, fallback: LogLevel): LogLevel {
  if (text === undefined) return fallback;
  if ((LOG_LEVELS as readonly string[]).includes(text)) return text as LogLevel;
  throw new UsageError(`--log-level needs one of ${LOG_LEVELS.join(", ")}, not '${text}'`);
}
