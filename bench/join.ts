/**
 * Joining a Samba 4.17 AD domain: `postern join --ad` against `samba-tool computer create`
 * over LDAP, measured in one run against the same DC:
 *
 *   1. a Samba AD DC provisioned in a temporary directory, run in a namespace of its own
 *      (veth address 10.78.9.1), as the tests do;
 *   2. per round, alternating so both meet the same load:
 *        postern   `postern join --ad --dc 10.78.9.1 --name bjN ...` in the namespace, a
 *                  fresh home: rootDSE, AS + TGS, sealed bind, search, add with unicodePwd,
 *                  key derivation, machine TGT, keytab and machine.json (the whole join)
 *        samba     `samba-tool computer create bsN -H ldap://10.78.9.1 -U Administrator%... -s
 *                  <the DC's smb.conf, for the realm>` (Samba's own client: bind and add
 *                  only, no password, no keytab)
 *      each timed as a whole process (node's and python's start-up included);
 *   3. medians and the ratio postern / samba-tool.
 *
 *   node dist/bench/join.js [ROUNDS]    (root, Samba installed; default 5, 3..30)
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { provisionSambaDc } from "../src/lab/samba.js";

const here = path.dirname(fileURLToPath(import.meta.url));
const BIN = path.resolve(here, "../src/cli/main.js");
const rounds = Math.min(Math.max(Number(process.argv[2]) || 5, 3), 30);
const PASSWORD = "Bench-Adm1n-Passw0rd";
const DC_IP = "10.78.9.1";

function must(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: "utf8", timeout: 120_000 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.slice(0, 6).join(" ")}: ${r.stderr.trim()}`);
  return r.stdout;
}

function timed(cmd: string, args: string[]): number {
  const t0 = process.hrtime.bigint();
  must(cmd, args);
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

async function main() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pbench-join-"));
  const ns = `pbj${process.pid}`;
  const dcDir = path.join(dir, "dc");
  fs.mkdirSync(dcDir);
  must("ip", ["netns", "add", ns]);
  let stop = () => {};
  try {
    must("ip", ["-n", ns, "link", "set", "lo", "up"]);
    must("ip", ["-n", ns, "link", "add", "dbj0", "type", "veth", "peer", "name", "dbj1"]);
    must("ip", ["-n", ns, "link", "set", "dbj1", "up"]);
    must("ip", ["-n", ns, "addr", "add", `${DC_IP}/24`, "dev", "dbj0"]);
    must("ip", ["-n", ns, "link", "set", "dbj0", "up"]);
    const dc = provisionSambaDc({
      dir: dcDir,
      ns,
      realm: "BENCH.TEST",
      domain: "BENCH",
      hostName: "dc1",
      adminPassword: PASSWORD,
      iface: "dbj0",
      ip: DC_IP,
    });
    stop = () => dc.stop();
    await dc.waitReady();
    const pw = path.join(dir, "admin.pw");
    fs.writeFileSync(pw, `${PASSWORD}\n`, { mode: 0o600 });
    const ours: number[] = [];
    const peer: number[] = [];
    for (let i = 0; i < rounds; i++) {
      const home = fs.mkdtempSync(path.join(dir, "home-"));
      ours.push(
        timed("ip", [
          "netns",
          "exec",
          ns,
          process.execPath,
          BIN,
          "--home",
          home,
          "join",
          "--ad",
          "--domain",
          "bench.test",
          "--dc",
          DC_IP,
          "--name",
          `bj${i}`,
          "--user",
          "Administrator",
          "--password-file",
          pw,
        ]),
      );
      peer.push(
        timed("ip", [
          "netns",
          "exec",
          ns,
          "samba-tool",
          "computer",
          "create",
          `bs${i}`,
          "-H",
          `ldap://${DC_IP}`,
          "-U",
          `Administrator%${PASSWORD}`,
          "-s",
          dc.conf,
        ]),
      );
    }
    const a = median(ours);
    const b = median(peer);
    console.log(`rounds ${rounds}, Node ${process.version}, load ${os.loadavg()[0]!.toFixed(1)}`);
    console.log("| what | median ms | all ms |");
    console.log("|---|---|---|");
    console.log(
      `| postern join --ad (whole join) | ${a.toFixed(0)} | ${ours.map((x) => x.toFixed(0)).join(", ")} |`,
    );
    console.log(
      `| samba-tool computer create (peer) | ${b.toFixed(0)} | ${peer.map((x) => x.toFixed(0)).join(", ")} |`,
    );
    console.log(`ratio postern / samba-tool: ${(a / b).toFixed(2)}`);
  } finally {
    stop();
    for (const pid of spawnSync("ip", ["netns", "pids", ns], { encoding: "utf8" })
      .stdout.split(/\s+/)
      .filter(Boolean))
      try {
        process.kill(Number(pid), "SIGKILL");
      } catch {}
    spawnSync("ip", ["netns", "del", ns]);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error((e as Error).message);
  process.exit(1);
});
