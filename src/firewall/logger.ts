/**
 * The firewall logger: NFLOG events -> pfirewall.log lines.
 * 1. group LOG_GROUP_DROP -> DROP line (path from the rule's prefix: RECEIVE or SEND)
 * 2. group LOG_GROUP_OPEN -> OPEN line (the first packet of a new accepted connection)
 * 3. the log file rotates to .old at the configured size
 * 4. each DROP also goes to `onDrop` (identity-log.ts: who, when the source has a live SA)
 * Packets that do not parse are counted, never thrown.
 */
import { LOG_GROUP_DROP, LOG_GROUP_OPEN } from "./model.js";
import type { NflogPacket } from "./nflog-codec.js";
import { formatLogLine, type LogPath } from "./logformat.js";
import type { LogFile } from "./logfile.js";
import { type PacketFields, parsePacket } from "./packet.js";

export interface FirewallLogger {
  onPacket(p: NflogPacket): void;
  counters: { drop: number; open: number; unparsable: number; otherGroup: number };
}

export function createFirewallLogger(deps: {
  file: LogFile;
  now: () => Date;
  onDrop?: (f: PacketFields, path: LogPath) => void;
}): FirewallLogger {
  const counters = { drop: 0, open: 0, unparsable: 0, otherGroup: 0 };
  return {
    counters,
    onPacket(p) {
      const fields = parsePacket(p.payload);
      if (!fields) {
        counters.unparsable++;
        return;
      }
      const path: LogPath = p.prefix === "SEND" ? "SEND" : "RECEIVE";
      if (p.group === LOG_GROUP_DROP) {
        counters.drop++;
        deps.file.append(formatLogLine(deps.now(), "DROP", fields, path));
        deps.onDrop?.(fields, path);
      } else if (p.group === LOG_GROUP_OPEN) {
        counters.open++;
        deps.file.append(formatLogLine(deps.now(), "OPEN", fields, path));
      } else {
        counters.otherGroup++;
      }
    },
  };
}
