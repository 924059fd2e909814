/**
 * Run inside the AD watch test's namespace (`ip netns exec NS node ad-watch-probe.js HOME
 * POLL_MS PRINCIPAL...`): the member in HOME watches its DC as the agent's immediate
 * revocation does (member/ad-changes.ts) and prints each answer that carries standings as
 * one JSON line ({ at, cursor, standings }), until it is killed. Without arguments (as
 * `node --test` runs every .js) it does nothing.
 */
import { createAdWatch } from "../../src/member/ad-changes.js";
import { keytabWriter } from "../../src/member/machine-keys.js";

async function main(home: string, pollMs: number, principals: string[]) {
  const id = keytabWriter.read(home);
  if (id === null) throw new Error(`no machine identity in ${home}`);
  const watch = createAdWatch(home, id, { pollMs, log: (l) => process.stderr.write(`${l}\n`) });
  const signal = new AbortController().signal;
  let cursor: string | null = null;
  for (;;) {
    try {
      const a = await watch.wait(cursor, principals, signal);
      cursor = a.cursor;
      if (a.standings !== null)
        process.stdout.write(`${JSON.stringify({ at: Date.now(), ...a })}\n`);
    } catch (e) {
      process.stderr.write(`watch failed: ${(e as Error).message}\n`);
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
}

const [home, poll, ...principals] = process.argv.slice(2);
if (home !== undefined && poll !== undefined)
  main(home, Number(poll), principals).catch((e: Error) => {
    process.stderr.write(`${e.message}\n`);
    process.exit(1);
  });
