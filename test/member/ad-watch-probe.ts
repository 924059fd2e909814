/**
 * Run inside the AD watch test's namespace (`ip netns exec NS node ad-watch-probe.js HOME
 * POLL_MS PRINCIPAL...`): the member in HOME watches its DC as the agent's immediate
 * revocation does (member/ad-changes.ts) and prints each answer that carries standings as
 * one JSON line ({ at, cursor, standings }), until it is killed.
 *
 * `... ad-watch-probe.js measure HOME POLL_MS ROUNDS ADMIN_PASSWORD PRINCIPAL GROUP_DN
 * MEMBER_DN`: the latency from a committed change to the watch's answer, ROUNDS times:
 * the Administrator (LDAP, sealed) removes MEMBER_DN from GROUP_DN (or adds it back); the
 * clock starts when the DC answers the modify; it stops when the watch answers with the
 * principal's SIDs changed. Prints { ms: [...] }. Without arguments (as `node --test`
 * runs every .js) it does nothing.
 */
import { connectLdap } from "../../src/ldap/client.js";
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

async function measure(
  home: string,
  pollMs: number,
  rounds: number,
  password: string,
  principal: string,
  groupDn: string,
  memberDn: string,
) {
  const id = keytabWriter.read(home);
  if (id === null) throw new Error(`no machine identity in ${home}`);
  const admin = await connectLdap({
    host: id.dc.host,
    dcName: id.dc.hostName ?? id.dc.host,
    credentials: { kind: "password", principal: `Administrator@${id.realm}`, password },
  });
  const watch = createAdWatch(home, id, { pollMs });
  const signal = new AbortController().signal;
  let a = await watch.wait(null, [principal], signal);
  const ms: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const before = a.standings?.[0]?.sids.length ?? 0;
    await admin.modify(groupDn, [
      { op: i % 2 === 0 ? "delete" : "add", type: "member", values: [memberDn] },
    ]);
    const t0 = performance.now();
    for (let n = 0; n < 20; n++) {
      a = await watch.wait(a.cursor, [principal], signal);
      if (a.standings !== null && (a.standings[0]?.sids.length ?? 0) !== before) break;
    }
    ms.push(Math.round(performance.now() - t0));
  }
  await admin.close();
  process.stdout.write(`${JSON.stringify({ ms })}\n`);
  process.exit(0);
}

const args = process.argv.slice(2);
const fail = (e: Error) => {
  process.stderr.write(`${e.message}\n`);
  process.exit(1);
};
if (args[0] === "measure" && args.length === 8) {
  const [, home, poll, rounds, pw, principal, group, member] = args as string[];
  measure(home!, Number(poll), Number(rounds), pw!, principal!, group!, member!).catch(fail);
} else if (args.length >= 2) {
  const [home, poll, ...principals] = args;
  main(home!, Number(poll), principals).catch(fail);
}
