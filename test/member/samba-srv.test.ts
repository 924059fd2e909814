/**
 * The member's SRV discovery against Samba 4.17 AD's own DNS (SAMBA_INTERNAL), in a network
 * namespace of its own (see /work/shared/reference/interop-notes.md): the resolver reads
 * `_kerberos._udp`, `_kerberos._tcp` and `_ldap._tcp.dc._msdcs` as Samba registers them,
 * and a login finds the KDC through them alone; with a silent and a stopped DNS server
 * named before Samba's, the answer still comes, from Samba, within the silent one's bound.
 * Processes stopped by pid, namespace removed.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import {
  type SambaDc,
  type SambaInNamespace,
  sambaInNamespace,
  SAMBA_SKIP,
} from "../helpers/samba.js";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const SKIP = SAMBA_SKIP;
const PASSWORD = "Adm1n-Passw0rd!x";
/** The DC's address on a veth of its namespace (both ends inside) (Samba assigns no loopback IP). */
const DC_IP = "10.77.0.1";
/** DNS servers named before the DC's in the failover test: nobody there, nothing listening. */
const SILENT_IP = "10.77.0.9";
/** And an address the namespace has no route to (the connect itself fails). */
const NO_ROUTE_IP = "10.99.0.1";
const STOPPED_IP = "10.77.0.2";

function run(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: "utf8", timeout: 60_000 });
  if (r.status !== 0)
    throw new Error(`${cmd} ${args.join(" ")} failed (${r.status}): ${r.stderr}${r.stdout}`);
  return r.stdout;
}

describe("Samba AD's own SRV records: the member's resolver reads them, a login follows them", {
  skip: SKIP,
}, () => {
  let ns = "";
  let dc: SambaDc | undefined;
  let samba: SambaInNamespace | undefined;

  before(async () => {
    samba = sambaInNamespace("srv", {
      realm: "SAMBA.TEST",
      domain: "SAMBA",
      adminPassword: PASSWORD,
      ip: DC_IP,
    });
    ({ ns, dc } = samba);
    await dc.waitReady();
  });

  after(() => samba?.cleanup());

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

  it("DNS failover: a server without a route, a silent one and a stopped one named first, Samba's DNS answers within the silent one's bound; then Samba is asked first", () => {
    // no route: the connect fails at once; silent: an address whose frames go to a MAC
    // nobody has (no ICMP, no answer);
    // stopped: an address of the namespace where no DNS server listens (port unreachable)
    run("ip", [
      "-n",
      ns,
      "neigh",
      "add",
      SILENT_IP,
      "lladdr",
      "02:00:00:00:77:09",
      "dev",
      "dsrv0",
      "nud",
      "permanent",
    ]);
    run("ip", ["-n", ns, "addr", "add", `${STOPPED_IP}/24`, "dev", "dsrv0"]);
    const timeoutMs = 1500;
    const out = run("ip", [
      "netns",
      "exec",
      ns,
      process.execPath,
      path.join(HERE, "dns-failover-probe.js"),
      [NO_ROUTE_IP, SILENT_IP, STOPPED_IP, DC_IP].join(","),
      "_kerberos._udp.samba.test",
      String(timeoutMs),
    ]);
    console.log(`# ${out.trim()}`);
    const r = JSON.parse(out) as {
      first: { ms: number; targets: string[] };
      second: { ms: number; targets: string[] };
    };
    assert.deepEqual(r.first.targets, ["88 dc1.samba.test 10.77.0.1"]);
    assert.deepEqual(r.second.targets, ["88 dc1.samba.test 10.77.0.1"]);
    // the silent server was waited for (2 tries), the stopped one refused at once
    const bound = 2 * timeoutMs;
    assert.ok(r.first.ms >= bound - 50, `first answer after ${r.first.ms} ms`);
    assert.ok(r.first.ms < bound + 30_000, `first answer after ${r.first.ms} ms`);
    assert.ok(r.second.ms < bound, `second answer after ${r.second.ms} ms: Samba asked first`);
  });
});
