/**
 * Samba AD DCs for the suites: one provisioned in a namespace of its own, and stopping one
 * (the DC stopped by src/lab/samba.ts's stopSamba, then the namespace and the test's
 * directory removed).
 */
import type { ChildProcess } from "node:child_process";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import {
  haveSamba as haveSambaInstalled,
  provisionSambaDc,
  type SambaDc,
  type SambaDcOptions,
  stopSamba,
} from "../../src/lab/samba.js";
import { IS_ROOT, uniqueName } from "./cli.js";

export { haveSamba, provisionSambaDc, type SambaDc } from "../../src/lab/samba.js";

export function stopSambaInNetns(
  dir: string | undefined,
  ns: string | undefined,
  samba: ChildProcess | undefined,
): void {
  if (ns) {
    stopSamba(dir ?? "", ns, samba);
    spawnSync("ip", ["netns", "del", ns]);
  }
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
}

export interface SambaInNamespace {
  dir: string;
  ns: string;
  dc: SambaDc;
  /** Stops the DC, removes the namespace and the directory. */
  cleanup(): void;
}

/**
 * A new namespace `<tag>...` with a veth pair inside it (`d<tag>0` carries `ip`/24, `d<tag>1`
 * is its up peer: Samba's provision wants an address that is not loopback) and a Samba DC
 * provisioned in a new temporary directory, bound to `d<tag>0`; `dc.waitReady()` starts it.
 */
export function sambaInNamespace(
  tag: string,
  o: Pick<SambaDcOptions, "realm" | "domain" | "adminPassword" | "services"> & { ip: string },
): SambaInNamespace {
  const run = (args: string[]) => {
    const r = spawnSync("ip", args, { encoding: "utf8", timeout: 60_000 });
    if (r.status !== 0) throw new Error(`ip ${args.join(" ")} failed: ${r.stderr}`);
  };
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `p${tag}-samba-`));
  const ns = uniqueName(`p${tag}`);
  const [a, b] = [`d${tag}0`, `d${tag}1`];
  run(["netns", "add", ns]);
  try {
    run(["-n", ns, "link", "set", "lo", "up"]);
    run(["-n", ns, "link", "add", a, "type", "veth", "peer", "name", b]);
    run(["-n", ns, "link", "set", b, "up"]);
    run(["-n", ns, "addr", "add", `${o.ip}/24`, "dev", a]);
    run(["-n", ns, "link", "set", a, "up"]);
    const dc = provisionSambaDc({ dir, ns, hostName: "dc1", iface: a, ...o });
    return {
      dir,
      ns,
      dc,
      cleanup() {
        dc.stop();
        stopSambaInNetns(dir, ns, undefined);
      },
    };
  } catch (e) {
    stopSambaInNetns(dir, ns, undefined);
    throw e;
  }
}

/** `{ skip }` of a suite that runs a Samba AD DC: loud when not root or Samba is missing. */
export const SAMBA_SKIP: string | false = !IS_ROOT
  ? "skipped: needs root"
  : haveSambaInstalled()
    ? false
    : "skipped: Samba AD DC needs samba, samba-ad-dc and samba-ad-provision";

/**
 * `postern join --ad` as Administrator, after `--home HOME`: member `name` of `domain`, the
 * domain's DNS asked at `dnsServer`, the password read from `passwordFile` (see
 * `adminPasswordFile`), then `extra`.
 */
export function adJoinArgs(o: {
  domain: string;
  dnsServer: string;
  name: string;
  passwordFile: string;
  extra?: string[];
}): string[] {
  return [
    "join",
    "--ad",
    "--domain",
    o.domain,
    "--dns-server",
    o.dnsServer,
    "--name",
    o.name,
    "--user",
    "Administrator",
    "--password-file",
    o.passwordFile,
    ...(o.extra ?? []),
  ];
}

/** `password` in `<dir>/admin.pw` (mode 0600), for `--password-file`; returns the path. */
export function adminPasswordFile(dir: string, password: string): string {
  const file = path.join(dir, "admin.pw");
  fs.writeFileSync(file, `${password}\n`, { mode: 0o600 });
  return file;
}
