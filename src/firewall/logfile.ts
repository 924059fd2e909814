/**
 * The log file: appends lines, starts every new file with the W3C header, and when the next
 * line would pass the size limit renames the file to `<file>.old` (replacing an older one)
 * and starts again, as Windows Firewall does with pfirewall.log.old.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { logHeader } from "./logformat.js";

export interface LogFile {
  append(line: string): void;
  readonly file: string;
}

export function createLogFile(file: string, maxSizeKb: number): LogFile {
  const limit = maxSizeKb * 1024;
  fs.mkdirSync(path.dirname(file), { recursive: true });
  let size = fs.existsSync(file) ? fs.statSync(file).size : 0;
  if (size === 0) {
    fs.writeFileSync(file, logHeader());
    size = Buffer.byteLength(logHeader());
  }
  return {
    file,
    append(line) {
      const text = `${line}\n`;
      const n = Buffer.byteLength(text);
      if (size + n > limit) {
        fs.renameSync(file, `${file}.old`);
        fs.writeFileSync(file, logHeader());
        size = Buffer.byteLength(logHeader());
      }
      fs.appendFileSync(file, text);
      size += n;
    },
  };
}
