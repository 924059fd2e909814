/**
 * The interop lab: two network namespaces joined by a veth, strongSwan's charon (with
 * kernel-libipsec) run in one of them under `unshare -m` with its own /run, config and vici
 * socket, and a postern IKE peer (`postern ike ...`) in the other. Everything is created
 * with unique names and removed by pid/name in `destroy()`.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { BIN, uniqueName } from "../helpers/cli.js";

export const CHARON = "/usr/lib/ipsec/charon";

export function run(
  cmd: string,
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; allowFail?: boolean } = {},
): string {
  const r = spawnSync(cmd, args, {
    encoding: "utf8",
    timeout: 30_000,
    env: { ...process.env, ...opts.env },
  });
  if (r.status !== 0 && !opts.allowFail)
    throw new Error(`${cmd} ${args.join(" ")}: ${r.stderr || r.stdout || r.error?.message}`);
  return `${r.stdout}${r.stderr}`;
}

export async function waitFor(
  what: string,
  cond: () => boolean,
  timeoutMs = 15_000,
): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (cond()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

export interface NsPair {
  nsA: string;
  nsB: string;
  addrA: string;
  addrB: string;
  destroy(): void;
}

/**
 * Two namespaces, veth between them, 10.231.0.1 (A) and 10.231.0.2 (B), no default route;
 * inner networks 10.232.1.0/24 behind A and 10.232.2.0/24 behind B.
 */
export function createNsPair(): NsPair {
  const nsA = uniqueName("pika");
  const nsB = uniqueName("pikb");
  const vA = uniqueName("pikva");
  const vB = uniqueName("pikvb");
  run("ip", ["netns", "add", nsA]);
  run("ip", ["netns", "add", nsB]);
  const destroy = () => {
    run("ip", ["netns", "del", nsA], { allowFail: true });
    run("ip", ["netns", "del", nsB], { allowFail: true });
  };
  try {
    run("ip", ["link", "add", vA, "type", "veth", "peer", "name", vB]);
    run("ip", ["link", "set", vA, "netns", nsA]);
    run("ip", ["link", "set", vB, "netns", nsB]);
    for (const [ns, v, a] of [
      [nsA, vA, "10.231.0.1/24"],
      [nsB, vB, "10.231.0.2/24"],
    ] as const) {
      run("ip", ["-n", ns, "addr", "add", a, "dev", v]);
      run("ip", ["-n", ns, "link", "set", v, "up"]);
      run("ip", ["-n", ns, "link", "set", "lo", "up"]);
    }
    // Inner (tunnelled) networks: kernel-libipsec routes the remote subnet via ipsec0 with a
    // source address from the local traffic selector, so each side owns one inner address.
    run("ip", ["-n", nsA, "addr", "add", "10.232.1.1/32", "dev", "lo"]);
    run("ip", ["-n", nsB, "addr", "add", "10.232.2.1/32", "dev", "lo"]);
  } catch (e) {
    destroy();
    throw e;
  }
  return { nsA, nsB, addrA: "10.231.0.1", addrB: "10.231.0.2", destroy };
}

export interface CharonConn {
  local: string;
  remote: string;
  psk: string;
  ikeProposal: string;
  espProposal: string;
  localTs: string;
  remoteTs: string;
  startAction: "none" | "start";
  /** Certificate authentication instead of the PSK (absolute paths). */
  pki?: { cert: string; key: string; ca: string };
  /** Dead peer detection: swanctl's dpd_delay ("1s"); absent: off. */
  dpdDelay?: string;
  /** The child SA's rekey_time ("3s", no jitter); absent: charon does not rekey it. */
  childRekeyTime?: string;
}

export interface Charon {
  dir: string;
  pid: number;
  uri: string;
  swanctl(...args: string[]): string;
  log(): string;
  /** SIGKILL (a crash: no Delete sent), resolved once it has exited; then stop() cleans up. */
  crash(): Promise<void>;
  stop(): Promise<void>;
}

function strongswanConf(dir: string): string {
  return `charon {
  port = 500
  port_nat_t = 4500
  install_routes = no
  retransmit_tries = 2
  retransmit_timeout = 1.0
  load_modular = no
  load = random nonce openssl pem pkcs1 pkcs8 x509 pubkey constraints aes sha1 sha2 hmac kdf gcm gmp kernel-libipsec kernel-netlink socket-default vici
  filelog {
    main {
      path = ${dir}/charon.log
      flush_line = yes
      default = 1
      ike = 2
      cfg = 2
      chd = 4
    }
  }
  plugins {
    vici {
      socket = unix://${dir}/charon.vici
    }
  }
}
`;
}

export function swanctlConf(c: CharonConn, name = "pik"): string {
  const local = c.pki ? `auth = pubkey\n      certs = ${c.pki.cert}` : "auth = psk";
  const remote = c.pki ? `auth = pubkey\n      cacerts = ${c.pki.ca}` : "auth = psk";
  // With certificates the private key is loaded from <dir>/private (see startCharon).
  const secrets = c.pki
    ? ""
    : `ike-${name} {\n    id-1 = ${c.local}\n    id-2 = ${c.remote}\n    secret = "${c.psk}"\n  }`;
  return `connections {
  ${name} {
    version = 2
    local_addrs = ${c.local}
    remote_addrs = ${c.remote}
    proposals = ${c.ikeProposal}
    rekey_time = 0
    send_cert = always${c.dpdDelay ? `\n    dpd_delay = ${c.dpdDelay}` : ""}
    local {
      ${local}
      id = ${c.local}
    }
    remote {
      ${remote}
      id = ${c.remote}
    }
    children {
      ${name} {
        local_ts = ${c.localTs}
        remote_ts = ${c.remoteTs}
        esp_proposals = ${c.espProposal}
        mode = tunnel
        rekey_time = ${c.childRekeyTime ?? 0}${c.childRekeyTime ? "\n        rand_time = 0\n        life_time = 60s" : ""}
        start_action = ${c.startAction}
      }
    }
  }
}
secrets {
  ${secrets}
}
`;
}

/** Starts charon in `ns` and loads one connection. */
export async function startCharon(ns: string, conn: CharonConn): Promise<Charon> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pik-charon-"));
  fs.mkdirSync(path.join(dir, "run"));
  fs.writeFileSync(path.join(dir, "strongswan.conf"), strongswanConf(dir));
  fs.writeFileSync(path.join(dir, "swanctl.conf"), swanctlConf(conn));
  if (conn.pki) {
    // swanctl loads credentials from directories next to the --file it is given.
    fs.mkdirSync(path.join(dir, "private"));
    fs.copyFileSync(conn.pki.key, path.join(dir, "private", "key.pem"));
  }
  const uri = `unix://${dir}/charon.vici`;
  const child: ChildProcess = spawn(
    "ip",
    [
      "netns",
      "exec",
      ns,
      "unshare",
      "-m",
      "sh",
      "-c",
      `mount --bind ${dir}/run /run && exec ${CHARON}`,
    ],
    {
      env: { ...process.env, STRONGSWAN_CONF: path.join(dir, "strongswan.conf") },
      stdio: "ignore",
    },
  );
  const pid = child.pid!;
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const gone = new Promise((r) => child.once("exit", r));
      process.kill(pid, "SIGTERM");
      await Promise.race([gone, new Promise((r) => setTimeout(r, 3000))]);
      if (child.exitCode === null && child.signalCode === null) process.kill(pid, "SIGKILL");
    }
    fs.rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitFor("charon's vici socket", () => fs.existsSync(`${dir}/charon.vici`));
    run("swanctl", ["--load-all", "--file", path.join(dir, "swanctl.conf"), "--uri", uri]);
  } catch (e) {
    await stop();
    throw e;
  }
  return {
    dir,
    pid,
    uri,
    swanctl: (...args) => run("swanctl", [...args, "--uri", uri], { allowFail: true }),
    log: () =>
      fs.existsSync(`${dir}/charon.log`) ? fs.readFileSync(`${dir}/charon.log`, "utf8") : "",
    crash: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const gone = new Promise((r) => child.once("exit", r));
      process.kill(pid, "SIGKILL");
      await gone;
    },
    stop,
  };
}

export interface PosternPeer {
  pid: number;
  events: Record<string, unknown>[];
  stderr(): string;
  exited: Promise<number | null>;
  stop(): Promise<void>;
}

/** Runs `postern ike VERB --config FILE --print-keys` inside `ns`. */
export function startPostern(
  ns: string,
  verb: "initiate" | "respond",
  config: Record<string, unknown>,
  extra: string[] = [],
): PosternPeer {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pik-postern-"));
  const file = path.join(dir, "peer.json");
  fs.writeFileSync(file, JSON.stringify(config));
  const child = spawn(
    "ip",
    [
      "netns",
      "exec",
      ns,
      process.execPath,
      BIN,
      "ike",
      verb,
      "--config",
      file,
      "--print-keys",
      ...extra,
    ],
    {
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  const events: Record<string, unknown>[] = [];
  let err = "";
  let buf = "";
  child.stdout!.on("data", (d: Buffer) => {
    buf += d.toString();
    let i = buf.indexOf("\n");
    while (i >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      if (line.trim()) events.push(JSON.parse(line) as Record<string, unknown>);
      i = buf.indexOf("\n");
    }
  });
  child.stderr!.on("data", (d: Buffer) => {
    err += d.toString();
  });
  const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
  return {
    pid: child.pid!,
    events,
    stderr: () => err,
    exited,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        process.kill(child.pid!, "SIGTERM");
        await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
        if (child.exitCode === null && child.signalCode === null)
          process.kill(child.pid!, "SIGKILL");
      }
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Child SA keys charon logged (chd level 4), one entry per child SA in log order (hex). */
export function charonChildKeys(
  log: string,
): { encrI: string; encrR: string; integI: string; integR: string }[] {
  const lines = log.split("\n");
  const out: { encrI: string; encrR: string; integI: string; integR: string }[] = [];
  for (let i = 0; i < lines.length; i++) {
    const m = /\[CHD\] (encryption|integrity) (initiator|responder) key => (\d+) bytes/.exec(
      lines[i]!,
    );
    if (!m) continue;
    const len = Number(m[3]);
    let hex = "";
    for (let j = i + 1; j < lines.length && hex.length < len * 2; j++) {
      const d = /\[CHD\]\s+\d+: (.*)$/.exec(lines[j]!);
      if (!d) break;
      hex += (d[1]!.slice(0, 48).match(/[0-9A-F]{2}/g) ?? []).join("").toLowerCase();
    }
    const key =
      `${m[1] === "encryption" ? "encr" : "integ"}${m[2] === "initiator" ? "I" : "R"}` as "encrI";
    if (key === "encrI") out.push({ encrI: "", encrR: "", integI: "", integR: "" });
    const cur = out[out.length - 1];
    if (cur) cur[key] = hex.slice(0, len * 2);
  }
  return out;
}
