/**
 * Immediate revocation's AD watch (member/ad-changes.ts) against a real Samba 4.17 AD DC in
 * a namespace of its own: a member joined with `postern join --ad` watches, as itself
 * (keytab TGT, sealed LDAP), a second computer XP1$ that is in "trusted" through the nested
 * group "inner". The probe (ad-watch-probe.ts, in the namespace) polls every 500 ms:
 *   - its first answer: XP1$ exists, enabled, its SIDs hold inner's, trusted's (nested) and
 *     Domain Computers' (its primary group), its keys' date;
 *   - `samba-tool group removemembers inner XP1$`: an answer without trusted's SID;
 *   - `samba-tool user disable XP1$`: an answer with enabled false;
 *   - `samba-tool user setpassword XP1$`: an answer with a later keySetAt.
 * Each is seen within a bound of samba-tool's start (its Python start-up is most of it; printed).
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { BIN } from "../helpers/cli.js";
import {
  adJoinArgs,
  adminPasswordFile,
  SAMBA_SKIP,
  type SambaInNamespace,
  sambaInNamespace,
} from "../helpers/samba.js";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const PASSWORD = "W4tch-Adm1n-Pass";
const DC_IP = "10.79.6.1";
const DOMAIN = "watch.test";
const REALM = "WATCH.TEST";
const POLL_MS = 500;
/** Generous: samba-tool's commit, a poll, the standings' searches, on a loaded machine. */
const SEEN_WITHIN_MS = 15_000;

interface Standing {
  principal: string;
  exists: boolean;
  enabled: boolean;
  sids: string[];
  keySetAt: string | null;
}
interface Answer {
  at: number;
  cursor: string;
  standings: Standing[];
}

describe("AD watch against Samba AD: group removal, disable and key reset seen within the poll", {
  skip: SAMBA_SKIP,
}, () => {
  let samba: SambaInNamespace | undefined;
  let home = "";
  let probe: ChildProcess | undefined;
  const answers: Answer[] = [];
  const waiters: (() => void)[] = [];
  const sid = { trusted: "", inner: "", xp1: "" };

  const must = (cmd: string, args: string[]) => {
    const r = spawnSync("ip", ["netns", "exec", samba?.ns ?? "", cmd, ...args], {
      encoding: "utf8",
      timeout: 120_000,
    });
    if (r.status !== 0)
      throw new Error(`${cmd} ${args.join(" ")} failed (${r.status}): ${r.stderr}${r.stdout}`);
    return r.stdout;
  };
  const tool = (...args: string[]) => samba?.dc.tool(...args) ?? "";
  const sidOf = (out: string) => /^objectSid: (S-[0-9-]+)$/m.exec(out)?.[1] ?? "";
  const xp1 = (a: Answer) => a.standings.find((s) => s.principal === `XP1$@${REALM}`);

  /** The first answer after `since` whose XP1$ standing passes `ok`. */
  const seen = async (since: number, ok: (s: Standing) => boolean): Promise<Answer> => {
    const until = Date.now() + SEEN_WITHIN_MS;
    for (;;) {
      const a = answers.find((x) => x.at >= since && ok(xp1(x) ?? ({} as Standing)));
      if (a) return a;
      const left = until - Date.now();
      assert.ok(
        left > 0,
        `not seen within ${SEEN_WITHIN_MS} ms; answers: ${JSON.stringify(answers.slice(-3))}`,
      );
      await new Promise<void>((r) => {
        const t = setTimeout(r, Math.min(left, 200));
        waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  };

  before(async () => {
    samba = sambaInNamespace("adw", {
      realm: REALM,
      domain: "WATCH",
      adminPassword: PASSWORD,
      ip: DC_IP,
      services: ["kdc", "ldap", "dns"],
    });
    await samba.dc.waitReady(120_000);
    samba.dc.tools([
      ["group", "add", "trusted"],
      ["group", "add", "inner"],
      ["group", "addmembers", "trusted", "inner"],
      ["computer", "create", "XP1"],
      ["group", "addmembers", "inner", "XP1$"],
      // samba-tool creates the account disabled, without a password, as before a join
      ["user", "setpassword", "XP1$", "--newpassword=Xp1-F1rst-Passw0rd-Long!"],
      ["user", "enable", "XP1$"],
    ]);
    sid.trusted = sidOf(tool("group", "show", "trusted"));
    sid.inner = sidOf(tool("group", "show", "inner"));
    sid.xp1 = sidOf(tool("computer", "show", "XP1"));
    home = fs.mkdtempSync(path.join(samba.dir, "home-"));
    const passwordFile = adminPasswordFile(samba.dir, PASSWORD);
    must(process.execPath, [
      BIN,
      "--home",
      home,
      ...adJoinArgs({ domain: DOMAIN, dnsServer: DC_IP, name: "ws1", passwordFile }),
    ]);
    probe = spawn(
      "ip",
      [
        "netns",
        "exec",
        samba.ns,
        process.execPath,
        path.join(HERE, "ad-watch-probe.js"),
        home,
        String(POLL_MS),
        `XP1$@${REALM}`,
        `WS1$@${REALM}`,
        `OTHER$@ELSEWHERE.TEST`,
      ],
      { stdio: ["ignore", "pipe", "inherit"] },
    );
    let buf = "";
    probe.stdout?.on("data", (d: Buffer) => {
      buf += d.toString("utf8");
      for (let nl = buf.indexOf("\n"); nl >= 0; nl = buf.indexOf("\n")) {
        answers.push(JSON.parse(buf.slice(0, nl)) as Answer);
        buf = buf.slice(nl + 1);
        for (const w of waiters.splice(0)) w();
      }
    });
  });

  after(() => {
    probe?.kill("SIGTERM");
    samba?.cleanup();
  });

  it("the first answer: XP1$ exists, enabled, in inner and trusted (nested) and Domain Computers", async () => {
    const a = await seen(0, (s) => s.exists === true);
    const s = xp1(a)!;
    assert.equal(s.enabled, true);
    assert.ok(s.sids.includes(sid.xp1), `own SID ${sid.xp1} in ${s.sids}`);
    assert.ok(s.sids.includes(sid.inner), "inner");
    assert.ok(s.sids.includes(sid.trusted), "trusted, through inner");
    assert.ok(
      s.sids.some((x) => x.endsWith("-515")),
      "Domain Computers, its primary group",
    );
    assert.ok(s.keySetAt !== null && Date.parse(s.keySetAt) > Date.now() - 3_600_000);
    assert.deepEqual(
      a.standings.map((x) => x.principal).sort(),
      [`WS1$@${REALM}`, `XP1$@${REALM}`],
      "no standing for another realm's principal",
    );
  });

  it("removed from the nested group: the next answer has lost trusted", async () => {
    const since = Date.now();
    tool("group", "removemembers", "inner", "XP1$");
    const a = await seen(since, (s) => s.exists && !s.sids.includes(sid.trusted));
    process.stdout.write(
      `# group removal seen ${a.at - since} ms after samba-tool started (poll ${POLL_MS} ms)\n`,
    );
    assert.ok(!xp1(a)!.sids.includes(sid.inner));
  });

  it("disabled: an answer with enabled false", async () => {
    const since = Date.now();
    tool("user", "disable", "XP1$");
    const a = await seen(since, (s) => s.exists && !s.enabled);
    process.stdout.write(`# disable seen ${a.at - since} ms after samba-tool started\n`);
  });

  it("keys reset: an answer with a later keySetAt", async () => {
    const before =
      answers
        .map(xp1)
        .filter((s) => s !== undefined)
        .at(-1)?.keySetAt ?? "";
    await new Promise((r) => setTimeout(r, 1100)); // pwdLastSet has whole-second callers
    const since = Date.now();
    tool("user", "setpassword", "XP1$", "--newpassword=Xp1-N3w-Passw0rd-Long!");
    const a = await seen(since, (s) => s.keySetAt !== null && s.keySetAt > before);
    process.stdout.write(`# key reset seen ${a.at - since} ms after samba-tool started\n`);
  });

  it("latency: a committed group change to the watch's answer (figures printed, with the load)", () => {
    // XP1$ back in inner, as the rounds alternate remove / add
    tool("group", "addmembers", "inner", "XP1$");
    const dn = (out: string) => /^dn: (.+)$/m.exec(out)?.[1] ?? "";
    const group = dn(tool("group", "show", "inner"));
    const member = dn(tool("computer", "show", "XP1"));
    const rounds = 6;
    const out = must(process.execPath, [
      path.join(HERE, "ad-watch-probe.js"),
      "measure",
      home,
      String(POLL_MS),
      String(rounds),
      PASSWORD,
      `XP1$@${REALM}`,
      group,
      member,
    ]);
    const { ms } = JSON.parse(out.trim()) as { ms: number[] };
    assert.equal(ms.length, rounds, "every change seen");
    const sorted = [...ms].sort((x, y) => x - y);
    const load = fs.readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");
    process.stdout.write(
      `# AD watch latency, commit -> answer, poll ${POLL_MS} ms: median ${sorted[rounds >> 1]} ms, max ${sorted.at(-1)} ms (${ms.join(", ")}); load ${load}\n`,
    );
  });
});
