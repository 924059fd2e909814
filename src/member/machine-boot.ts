/**
 * Reboot semantics of the machine TGT (as on Windows, where the LocalSystem session's TGT,
 * and the groups its PAC carries, last until the next reboot or `klist -li 0x3e7 purge`):
 *   record   when a new TGT is written to <home>/agent/krb5cc, the boot it was obtained in
 *            (Linux's /proc/sys/kernel/random/boot_id, a new random UUID at each boot) is
 *            written beside it, atomically, 0600: <home>/agent/krb5cc.boot. A sidecar file
 *            and not a ccache config entry, so the cache stays exactly what MIT's klist reads.
 *   check    when the agent starts: a cache whose recorded boot differs from the current one
 *            is discarded (one log line), and the next use gets a new TGT with the groups of
 *            now. A cache with no record (written before this rule, or by a tool that does
 *            not record) counts as "before this boot": discarded too. A plain restart of the
 *            agent (same boot) keeps it. When the current boot id cannot be read (no /proc),
 *            the cache is kept: nothing says the machine rebooted.
 * The boot id is read through an injected reader so tests can give another boot.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { machineCcachePath } from "./machine-keys.js";

export const BOOT_ID_FILE = "/proc/sys/kernel/random/boot_id";

/** The current boot's id, or null when it cannot be read. */
export type BootIdReader = () => string | null;

/** Linux's boot id from `file` (trimmed), null when unreadable or empty. */
export function readBootId(file = BOOT_ID_FILE): string | null {
  try {
    const id = fs.readFileSync(file, "utf8").trim();
    return id === "" ? null : id;
  } catch {
    return null;
  }
}

export const machineBootPath = (home: string) => `${machineCcachePath(home)}.boot`;

/** Records `bootId` as the boot of the cache's TGT (tmp file + rename, 0600); null removes. */
export function recordMachineBoot(home: string, bootId: string | null): void {
  const file = machineBootPath(home);
  if (bootId === null) {
    fs.rmSync(file, { force: true });
    return;
  }
  const tmp = path.join(path.dirname(file), `.krb5cc.boot.${process.pid}.tmp`);
  fs.writeFileSync(tmp, `${bootId}\n`, { mode: 0o600 });
  fs.renameSync(tmp, file);
}

export type BootState = "no-cache" | "this-boot" | "earlier-boot" | "unrecorded" | "unknown";

export interface BootCheck {
  state: BootState;
  /** The boot recorded with the cache's TGT (null: none recorded). */
  recorded: string | null;
  /** The current boot (null: unreadable). */
  current: string | null;
}

/** Where the machine cache of `home` stands against the boot `current`. */
export function checkMachineBoot(home: string, current: string | null): BootCheck {
  const recorded = readBootId(machineBootPath(home));
  const at = (state: BootState): BootCheck => ({ state, recorded, current });
  if (!fs.existsSync(machineCcachePath(home))) return at("no-cache");
  if (current === null) return at("unknown");
  if (recorded === null) return at("unrecorded");
  return at(recorded === current ? "this-boot" : "earlier-boot");
}

/** Whether the agent discards a cache in this state when it starts. */
export const discardedAtStart = (s: BootState) => s === "earlier-boot" || s === "unrecorded";

/** The machine's tickets and their boot record removed (purge). */
export function purgeMachineTickets(home: string): void {
  fs.rmSync(machineCcachePath(home), { force: true });
  fs.rmSync(machineBootPath(home), { force: true });
}

/**
 * At the agent's start: the machine cache discarded when its TGT is from an earlier boot
 * (or unrecorded), logged in one line; returns the check.
 */
export function discardEarlierBootTgt(
  home: string,
  current: string | null,
  log: (line: string) => void,
): BootCheck {
  const c = checkMachineBoot(home, current);
  if (discardedAtStart(c.state)) {
    purgeMachineTickets(home);
    log(
      `machine TGT from an earlier boot (boot_id ${c.recorded ?? "not recorded"}): discarded, a new one is requested`,
    );
  }
  return c;
}

/** One line for `postern klist --machine`. */
export function describeBootCheck(c: BootCheck): string {
  switch (c.state) {
    case "this-boot":
      return `Boot check: TGT obtained in this boot (boot_id ${c.current}); kept across agent restarts, discarded at the next reboot`;
    case "earlier-boot":
      return `Boot check: TGT obtained in an earlier boot (boot_id ${c.recorded}, now ${c.current}); the agent discards it when it starts`;
    case "unrecorded":
      return `Boot check: no boot recorded with the TGT (counts as an earlier boot); the agent discards it when it starts`;
    case "unknown":
      return "Boot check: the current boot_id cannot be read; the TGT is kept";
    default:
      return "Boot check: no machine tickets";
  }
}
