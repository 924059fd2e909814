/**
 * Reading the administrator password for `dc init`: from `--admin-password-file F` (its
 * first line), else prompted twice on a terminal without echo, else the first line of
 * standard input (for scripts: `echo "$PW" | postern dc init ...`).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as readline from "node:readline";
import { Writable } from "node:stream";
import { DirectoryError } from "./errors.js";
import { checkPasswordPolicy } from "./keys.js";

function firstLine(text: string): string {
  return (text.split(/\r?\n/)[0] ?? "").trimEnd();
}

async function promptHidden(question: string): Promise<string> {
  let muted = false;
  const out = new Writable({
    write(chunk, _enc, cb) {
      if (!muted) process.stdout.write(chunk);
      cb();
    },
  });
  const rl = readline.createInterface({ input: process.stdin, output: out, terminal: true });
  try {
    return await new Promise<string>((resolve) => {
      rl.question(question, (answer) => {
        process.stdout.write("\n");
        resolve(answer);
      });
      muted = true;
    });
  } finally {
    rl.close();
  }
}

export async function readAdminPassword(file: string | undefined, cwd: string): Promise<string> {
  let pw: string;
  if (file) {
    try {
      pw = firstLine(fs.readFileSync(path.resolve(cwd, file), "utf8"));
    } catch (e) {
      throw new DirectoryError(
        "dc.password",
        `cannot read the password file ${file}: ${(e as Error).message}`,
      );
    }
  } else if (process.stdin.isTTY) {
    pw = await promptHidden("Administrator password: ");
    const again = await promptHidden("Retype the password: ");
    if (pw !== again) throw new DirectoryError("dc.password", "the two passwords differ");
  } else {
    pw = firstLine(fs.readFileSync(0, "utf8"));
  }
  const bad = checkPasswordPolicy(pw);
  if (bad) throw new DirectoryError("dc.password", bad);
  return pw;
}
