/**
 * The member's SRV discovery against Samba 4.17 AD's own DNS (SAMBA_INTERNAL), in a network
 * namespace of its own (see /work/shared/reference/interop-notes.md): the resolver reads
 * `_kerberos._udp`, `_kerberos._tcp` and `_ldap._tcp.dc._msdcs` as Samba registers them,
 * and a login finds the KDC through them alone. Processes stopped by pid, namespace removed.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { IS_ROOT, uniqueName } from "../helpers/cli.js";
import { stopSambaInNetns } from "../helpers/samba.js";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const HAVE_SAMBA =
  fs.existsSync("/usr/bin/samba-tool") &&
  fs.existsSync("/usr/sbin/samba") &&
  fs.existsSync("/usr/share/samba/setup/ad-schema");
const SKIP = !IS_ROOT
  ? "skipped: needs root"
  : HAVE_SAMBA
    ? false
    : "skipped: Samba AD DC needs samba, samba-ad-dc and samba-ad-provision";
const PASSWORD = "Adm1n-Passw0rd!x";
/** The DC's address on a veth of its namespace (both ends inside) (Samba assigns no loopback IP). */
const DC_IP = "10.77.0.1";

function run(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: "utf8", timeout: 60_000 });
  if (r.status !== 0)
    throw new Error(`${cmd} ${args.join(" ")} failed (${r.status}): ${r.stderr}${r.stdout}`);
  return r.stdout;
}

/** True once `cmd` (bash, in the namespace) succeeds; polls every 250 ms up to 30 s. */
async function waitFor(ns: string, cmd: string): Promise<boolean> {
  for (let i = 0; i < 120; i++) {
    if (spawnSync("ip", ["netns", "exec", ns, "bash", "-c", cmd]).status === 0) return true;
    await new Promise((r) => setTimeout(r, 250));
  }
  return false;
}

describe("Samba AD's own SRV records: the member's resolver reads them, a login follows them", {
  skip: SKIP,
}, () => {
  let dir = "";
  let ns = "";
  let samba: ChildProcess | undefined;

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "psrv-samba-"));
    run("samba-tool", [
      "domain",
      "provision",
      "--realm=SAMBA.TEST",
      "--domain=SAMBA",
      "--server-role=dc",
      "--dns-backend=SAMBA_INTERNAL",
      `--targetdir=${dir}`,
      "--host-name=dc1",
      `--host-ip=${DC_IP}`,
      `--adminpass=${PASSWORD}`,
      "--option=interfaces=dsrv0",
      "--option=bind interfaces only=yes",
    ]);
    const conf = path.join(dir, "etc", "smb.conf");
    const runDir = path.join(dir, "run");
    fs.mkdirSync(runDir);
    const text = fs
      .readFileSync(conf, "utf8")
      .replace(/^\s*dns forwarder = .*\n/m, "")
      .replace(/log file = .*/, `log file = ${dir}/log.%m`)
      .replace(
        "[global]\n",
        `[global]\n\tpid directory = ${runDir}\n\tncalrpc dir = ${runDir}/ncalrpc\n\twinbindd socket directory = ${runDir}/winbindd\n\tserver services = kdc ldap dns\n`,
      );
    fs.writeFileSync(conf, text);
    ns = uniqueName("psrv");
    run("ip", ["netns", "add", ns]);
    run("ip", ["-n", ns, "link", "set", "lo", "up"]);
    run("ip", ["-n", ns, "link", "add", "dsrv0", "type", "veth", "peer", "name", "dsrv1"]);
    run("ip", ["-n", ns, "link", "set", "dsrv1", "up"]);
    run("ip", ["-n", ns, "addr", "add", `${DC_IP}/24`, "dev", "dsrv0"]);
    run("ip", ["-n", ns, "link", "set", "dsrv0", "up"]);
    samba = spawn("ip", ["netns", "exec", ns, "samba", "-s", conf, "-F"], { stdio: "ignore" });
    assert.ok(await waitFor(ns, `exec 3<>/dev/tcp/${DC_IP}/88`), "Samba's KDC did not listen");
    assert.ok(await waitFor(ns, `exec 3<>/dev/tcp/${DC_IP}/53`), "Samba's DNS did not listen");
  });

  after(() => stopSambaInNetns(dir, ns, samba));

  it("_kerberos._udp/_tcp and _ldap._tcp.dc._msdcs name dc1.samba.test; the TGT comes from the KDC they name", () => {
    const out = run("ip", [
      "netns",
      "exec",
      ns,
      process.execPath,
      path.join(HERE, "samba-srv-probe.js"),
      DC_IP,
      "samba.test",
      "Administrator",
      PASSWORD,
    ]);
    console.log(`# ${out.trim()}`);
    const r = JSON.parse(out) as {
      udp: string[];
      tcp: string[];
      dcs: string[];
      where: { source: string; kdcs: { host: string; port: number; protocol: string }[] };
      attempts: string[];
      tgt: string;
    };
    assert.deepEqual(r.udp, ["0 100 88 dc1.samba.test 10.77.0.1"]);
    assert.deepEqual(r.tcp, ["0 100 88 dc1.samba.test 10.77.0.1"]);
    assert.deepEqual(r.dcs, ["0 100 389 dc1.samba.test 10.77.0.1"]);
    assert.equal(r.where.source, "srv");
    assert.deepEqual(r.where.kdcs, [
      { host: DC_IP, port: 88, protocol: "udp" },
      { host: DC_IP, port: 88, protocol: "tcp" },
    ]);
    assert.equal(r.tgt, "krbtgt/SAMBA.TEST");
    for (const a of r.attempts) assert.match(a, /^(udp|tcp) 10\.77\.0\.1:88 /);
  });
});
