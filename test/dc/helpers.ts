/**
 * Helpers of the DC suites: a fresh directory in a temporary home, and a real DC process
 * (`node dist/src/cli/main.js --home H dc start ...` on loopback, ports chosen by the
 * kernel) that tests stop by its pid.
 */
import { type ChildProcess, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import { type RunningDc, startDc } from "../../src/dc/daemon.js";
import { type Directory, initDirectory } from "../../src/dc/directory.js";
import { kdcStarter } from "../../src/kerberos/kdc/dc-seam.js";
import { readDcCertificate } from "../../src/dc/api/certificate.js";
import { dbPath } from "../../src/dc/paths.js";
import { randomBytes } from "../../src/crypto/primitives.js";
import { localKdcClient } from "../helpers/kdc-client.js";
import { requestBinding } from "../../src/dc/api/channel.js";
import { GSS_FLAGS_MUTUAL, gssChecksum, TOK_ID, wrapGssToken } from "../../src/dc/api/gss-krb5.js";
import { type ApiTarget, requestBody } from "../../src/member/api-client.js";
import { machinePrincipal } from "../../src/member/machine-keys.js";
import { buildApReq } from "../../src/kerberos/client/index.js";
import { decodeTicket } from "../../src/kerberos/messages/index.js";
import { BIN, cli } from "../helpers/cli.js";

export const PASSWORD = "Adm1n-Passw0rd";

export function newDirectory(home: string, deps?: Parameters<typeof initDirectory>[2]): Directory {
  fs.mkdirSync(path.join(home, "dc"), { recursive: true });
  return initDirectory(
    dbPath(home),
    {
      dnsName: "bigfirm.com",
      adminPassword: PASSWORD,
      dcName: "dc1",
      dcAddress: "127.0.0.1",
      actor: "test",
    },
    deps,
  );
}

/** `postern dc init` through the CLI, in-process. */
export async function cliInit(home: string): Promise<void> {
  const pw = path.join(home, "pw.txt");
  fs.writeFileSync(pw, `${PASSWORD}\n`, { mode: 0o600 });
  const r = await cli(
    home,
    "dc",
    "init",
    "--domain",
    "bigfirm.com",
    "--admin-password-file",
    pw,
    "--dc-name",
    "dc1",
    "--dc-address",
    "127.0.0.1",
  );
  if (r.code !== 0) throw new Error(`dc init failed: ${r.err}`);
}

export interface DcProcess {
  proc: ChildProcess;
  pid: number;
  dnsPort: number;
  apiPort: number;
  stderr: () => string;
  /** SIGTERM and wait; resolves with the exit code. */
  stop(): Promise<number | null>;
  kill9(): Promise<void>;
}

/** The API of the DC in `home` on loopback, pinned to the certificate `dc init` made there. */
export function apiTarget(home: string, port: number): ApiTarget {
  const cert = readDcCertificate(home);
  if (!cert) throw new Error(`no API certificate in ${home}`);
  return { host: "127.0.0.1", port, fingerprint: cert.fingerprint };
}

/** A TCP port free on loopback right now (the kernel's pick). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

/**
 * A loopback TCP port below the kernel's ephemeral range (32768-60999), free right now: for
 * a DC a test stops and starts again on the same port, which an ephemeral pick may meanwhile
 * lend to another test's outgoing connection. Random in 20000-32767, tried until one binds.
 */
export async function freeFixedPort(): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const port = 20000 + Math.floor(Math.random() * 12768);
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.createServer();
      s.once("error", () => resolve(false));
      s.listen(port, "127.0.0.1", () => s.close(() => resolve(true)));
    });
    if (ok) return port;
  }
  throw new Error("no free port in 20000-32767");
}

export function startDcProcess(
  home: string,
  apiPort = 0,
  timeoutMs = 20_000,
  extraArgs: string[] = [],
): Promise<DcProcess> {
  const args = ["--home", home, "dc", "start", "--listen", "127.0.0.1", "--dns-port", "0"];
  args.push("--api-port", String(apiPort), "--kdc-port", "0", ...extraArgs);
  const proc = spawn(process.execPath, [BIN, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  proc.stderr?.on("data", (c: Buffer) => {
    err += c.toString();
  });
  const exited = new Promise<number | null>((resolve) => proc.on("exit", (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      proc.kill("SIGKILL");
      reject(new Error(`DC did not start in ${timeoutMs} ms: ${err}`));
    }, timeoutMs);
    proc.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`DC exited with ${code}: ${err}`));
    });
    proc.stdout?.on("data", (c: Buffer) => {
      out += c.toString();
      const m = /dns port (\d+), api port (\d+)/.exec(out);
      if (!m) return;
      clearTimeout(timer);
      resolve({
        proc,
        pid: proc.pid as number,
        dnsPort: Number(m[1]),
        apiPort: Number(m[2]),
        stderr: () => err,
        async stop() {
          if (proc.exitCode === null && proc.signalCode === null) proc.kill("SIGTERM");
          return exited;
        },
        async kill9() {
          if (proc.exitCode === null && proc.signalCode === null) proc.kill("SIGKILL");
          await exited;
        },
      });
    });
  });
}

/**
 * A computer account with a join token on the DC of `dcHome`, and `postern join` of
 * `memberHome` as that computer over the API on loopback; the join's result.
 */
export async function addAndJoin(
  dcHome: string,
  memberHome: string,
  apiPort: number,
  name: string,
  address: string,
): Promise<{ code: number; out: string; err: string }> {
  const add = await cli(dcHome, "--json", "domain", "computer", "add", name, "--join-token");
  if (add.code !== 0) throw new Error(`domain computer add ${name}: ${add.err}`);
  const token = (JSON.parse(add.out) as { token: string }).token;
  return cli(
    memberHome,
    "join",
    "--domain",
    "bigfirm.com",
    "--dc",
    `127.0.0.1:${apiPort}`,
    "--name",
    name,
    "--token",
    token,
    "--address",
    address,
  );
}

/**
 * An Administrator's `Authorization: Negotiate` header for one request to the DC's API, as
 * postern's client builds it: a ticket for host/dc1.bigfirm.com from the KDC on loopback,
 * an AP-REQ whose GSS checksum binds the request and the pinned certificate (channel.ts);
 * `bind: false` leaves the bindings zero (as curl 7.88 sends them).
 */
export async function adminNegotiate(
  kdcPort: number,
  target: ApiTarget,
  req: { method: string; path: string; body: unknown },
  bind = true,
): Promise<string> {
  const client = localKdcClient(kdcPort);
  const admin = machinePrincipal("Administrator", "BIGFIRM.COM");
  const { tgt } = await client.login({
    client: admin,
    keys: { kind: "password", password: PASSWORD },
  });
  const t = await client.getServiceTicket(
    tgt,
    machinePrincipal("host/dc1.bigfirm.com", "BIGFIRM.COM"),
  );
  const bnd = bind
    ? requestBinding(target.fingerprint, req.method, req.path, requestBody(req.body))
    : undefined;
  const ap = buildApReq({
    ticket: decodeTicket(t.ticket),
    sessionKey: { keytype: t.key.keytype, keyvalue: t.key.keyvalue },
    client: admin,
    nowMs: Date.now(),
    randomBytes,
    mutualRequired: true,
    cksum: gssChecksum(GSS_FLAGS_MUTUAL, bnd),
  });
  return `Negotiate ${Buffer.from(wrapGssToken(TOK_ID.apReq, ap.bytes)).toString("base64")}`;
}

/** The port of the KDC a DC process started (its log line `kdc: realm R on 127.0.0.1:PORT`). */
export function kdcPortOf(dc: DcProcess): number {
  const m = /kdc: realm \S+ on 127\.0\.0\.1:(\d+)/.exec(dc.stderr());
  if (!m) throw new Error(`no KDC line in the DC's log: ${dc.stderr()}`);
  return Number(m[1]);
}

/**
 * A DC in this process on loopback, ports the kernel picks: `dc init` in `home`, then the
 * directory, our KDC, DNS and the API, as `postern dc start` runs them.
 */
export async function startDcInProcess(home: string): Promise<RunningDc> {
  await cliInit(home);
  return startDc({
    home,
    host: "127.0.0.1",
    kdcPort: 0,
    dnsPort: 0,
    apiPort: 0,
    log: () => undefined,
    startKdc: (deps) =>
      kdcStarter({
        realm: deps.domain.realm,
        dnsDomain: deps.domain.dnsName,
        netbiosDomain: deps.domain.netbios,
      })(deps),
  });
}
